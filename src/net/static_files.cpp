// Lookup of the embedded web client's files.
#include "net/static_files.hpp"

namespace parley::net {

const StaticFile* find_static_file(std::string_view path) {
    if (path == "/") {
        path = "/index.html";
    }
    for (const StaticFile& f : embedded_files()) {
        if (f.path == path) {
            return &f;
        }
    }
    return nullptr;
}

} // namespace parley::net
