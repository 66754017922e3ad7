// The web client's files, embedded into the binary at build time (cmake/embed_files.cmake).
#pragma once

#include <string_view>
#include <vector>

namespace parley::net {

struct StaticFile {
    std::string_view path; // "/index.html"
    std::string_view content_type;
    std::string_view body;
};

// Every embedded file. Generated.
const std::vector<StaticFile>& embedded_files();

// The file served for a request path: "/" is "/index.html"; null if there is none.
const StaticFile* find_static_file(std::string_view path);

} // namespace parley::net
