// Opening an SQLite file, shared by the message store and the account store: the statements run
// before a store serves (checks, pragmas, migrations), where every failure is a startup error —
// a std::runtime_error naming the store and its file, in words an operator can act on. A running
// store reports failures as error codes instead (sqlite_error.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

struct sqlite3;

namespace parley::store {

struct StartupFile {
    std::string label;        // "message store /data/parley.db": starts every message
    std::string busy_meaning; // what SQLITE_BUSY means for this store, for the operator
};

[[noreturn]] void fail(const StartupFile& file, const std::string& cause);

// What a failed statement means: locked, not a database, corrupt, or SQLite's own message.
std::string describe(const StartupFile& file, sqlite3* db, int rc);

// Runs SQL that needs no parameters; throws with `what` and the cause.
void exec(sqlite3* db, const StartupFile& file, const std::string& sql, std::string_view what);

// Runs `sql` and puts the first column of its first row, as text, in `text` ("" for no row);
// returns SQLite's result code (for callers that handle some failures themselves).
int try_query_text(sqlite3* db, std::string_view sql, std::string& text);

// The first column of the first row `sql` returns, as text ("" for no row) or as a number.
std::string query_text(sqlite3* db, const StartupFile& file, std::string_view sql, std::string_view what);
std::int64_t query_int(sqlite3* db, const StartupFile& file, std::string_view sql, std::string_view what);

} // namespace parley::store
