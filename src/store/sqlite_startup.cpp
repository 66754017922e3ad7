// Startup statements and their errors.
#include "store/sqlite_startup.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace parley::store {

void fail(const StartupFile& file, const std::string& cause) {
    throw std::runtime_error(file.label + ": " + cause);
}

std::string describe(const StartupFile& file, sqlite3* db, int rc) {
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return "database is locked: " + file.busy_meaning;
    case SQLITE_NOTADB:
        return "not an SQLite database (or corrupt, or encrypted); refusing to touch it";
    case SQLITE_CORRUPT:
        return "database is corrupt (" + std::string(sqlite3_errmsg(db)) + "); restore it from a backup";
    default:
        return sqlite3_errmsg(db);
    }
}

void exec(sqlite3* db, const StartupFile& file, const std::string& sql, std::string_view what) {
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
        fail(file, std::string(what) + ": " + describe(file, db, rc));
    }
}

int try_query_text(sqlite3* db, std::string_view sql, std::string& text) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    text.clear();
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            const unsigned char* data = sqlite3_column_text(stmt, 0);
            if (data != nullptr) {
                text = reinterpret_cast<const char*>(data);
            }
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(stmt);
    return rc;
}

std::string query_text(sqlite3* db, const StartupFile& file, std::string_view sql, std::string_view what) {
    std::string text;
    if (const int rc = try_query_text(db, sql, text); rc != SQLITE_OK) {
        fail(file, std::string(what) + ": " + describe(file, db, rc));
    }
    return text;
}

std::int64_t query_int(sqlite3* db, const StartupFile& file, std::string_view sql, std::string_view what) {
    const std::string text = query_text(db, file, sql, what);
    return text.empty() ? 0 : std::stoll(text);
}

} // namespace parley::store
