// A fresh directory per test under the test temp dir, removed with everything in it at the end.
// Test support only: the store tests' data dirs, so no test sees another's parley.db.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace parley::store::testing_support {

class TempDir {
public:
    TempDir() {
        std::string pattern = ::testing::TempDir() + "parley-store-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) {
            ADD_FAILURE() << "mkdtemp failed for " << pattern;
        }
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

} // namespace parley::store::testing_support
