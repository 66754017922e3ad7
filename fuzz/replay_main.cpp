// A main() for the fuzz targets without libFuzzer: feeds each file named on the command line (or
// every file in each directory named, dotfiles skipped) to LLVMFuzzerTestOneInput once. It makes
// the corpus and the regressions a test in every build, not only in the clang fuzz build.
// A crash is the failure, as under libFuzzer: the target aborts and the test fails.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> inputs_under(const fs::path& arg) {
    if (!fs::is_directory(arg)) {
        return {arg};
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(arg)) {
        if (entry.is_regular_file() && !entry.path().filename().string().starts_with(".")) {
            files.push_back(entry.path());
        }
    }
    // Directory order differs between file systems; a sorted run fails the same way everywhere.
    std::sort(files.begin(), files.end());
    return files;
}

} // namespace

int main(int argc, char** argv) {
    std::size_t replayed = 0;
    for (int i = 1; i < argc; ++i) {
        const fs::path arg = argv[i];
        if (!fs::exists(arg)) {
            std::fprintf(stderr, "replay: %s does not exist\n", arg.c_str());
            return 1;
        }
        for (const auto& path : inputs_under(arg)) {
            std::ifstream in(path, std::ios::binary);
            if (!in) {
                std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
                return 1;
            }
            const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            // A heap copy of exactly the input's size, as libFuzzer passes it, so ASan sees any
            // read past the end.
            const auto data = std::make_unique<std::uint8_t[]>(bytes.size());
            std::copy(bytes.begin(), bytes.end(), data.get());
            std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.c_str(), bytes.size());
            LLVMFuzzerTestOneInput(data.get(), bytes.size());
            ++replayed;
        }
    }
    std::fprintf(stderr, "replay: %zu inputs, no crash\n", replayed);
    return 0;
}
