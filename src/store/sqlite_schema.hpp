// The SQLite store's schema as an ordered list of migrations; PRAGMA user_version records how many
// have run. Owns only the SQL text: never edit a migration that has shipped — add the next one,
// because databases in the field have already run the old text.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace parley::store {

struct Migration {
    int version;          // user_version after it has run
    std::string_view sql; // one or more statements, run in one transaction
};

// True if migration i brings the schema to version i + 1: each list is checked with it at
// compile time.
constexpr bool versions_count_up(std::span<const Migration> migrations) {
    for (std::size_t i = 0; i < migrations.size(); ++i) {
        if (migrations[i].version != static_cast<int>(i) + 1) {
            return false;
        }
    }
    return true;
}

// Every migration, version 1 first, each exactly one above the previous.
std::span<const Migration> sqlite_migrations();

// The highest version this binary knows; a database above it was written by a newer Parley.
int latest_schema_version();

// PRAGMA application_id of a Parley database ("PRLY"), so another program's SQLite file with a
// user_version of its own is refused rather than migrated.
inline constexpr int parley_application_id = 0x50524c59;

} // namespace parley::store
