// Store tests reach past the store: read and write a database file's bytes, and run SQL on it as
// another program would.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace parley::store::testing {

inline std::string read_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Writes `bytes` at `offset`, creating the file if needed and keeping the rest of it.
inline void write_bytes(const std::filesystem::path& file, const std::string& bytes,
                        std::streamoff offset = 0) {
    std::fstream out(file, std::ios::binary | std::ios::in | std::ios::out);
    if (!out) {
        out.open(file, std::ios::binary | std::ios::out);
    }
    out.seekp(offset);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Runs SQL on a database file directly and returns the first column of the last row.
inline std::string raw_sql(const std::filesystem::path& file, const std::string& sql) {
    sqlite3* db = nullptr;
    std::string last;
    if (sqlite3_open(file.c_str(), &db) == SQLITE_OK) {
        auto collect = [](void* out, int, char** values, char**) {
            *static_cast<std::string*>(out) = values[0] == nullptr ? "" : values[0];
            return 0;
        };
        char* error = nullptr;
        if (sqlite3_exec(db, sql.c_str(), collect, &last, &error) != SQLITE_OK) {
            ADD_FAILURE() << sql << ": " << (error ? error : "?");
            sqlite3_free(error);
        }
    }
    sqlite3_close(db);
    return last;
}

} // namespace parley::store::testing
