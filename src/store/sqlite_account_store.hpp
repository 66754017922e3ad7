// The SQLite AccountStore: one file, accounts.db, under the data directory, beside (never inside)
// parley.db. Unlike parley.db it is shared: the server and `parley user ...` each open their own
// connection to it at the same time, so it uses WAL with normal locking and waits for a busy
// writer instead of failing. It must never reset or delete data it cannot read.
#pragma once

#include "store/account_store.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace parley::store {

inline constexpr std::string_view accounts_db_file = "accounts.db";

// The path that opens an in-memory accounts database (`--store memory`): one connection, gone
// when the store is.
inline constexpr std::string_view in_memory_accounts = ":memory:";

// Opens (creating it and its directory if needed) the accounts database at `path`, bringing its
// schema up to date. Safe while other processes have the same file open, a first open racing
// another included. Throws std::runtime_error, with one line naming the file and the cause, if it
// cannot be opened or created, is not a Parley accounts database (another program's, parley.db,
// not SQLite at all), or was written by a newer Parley; such a file is left as it was.
std::unique_ptr<AccountStore> open_sqlite_account_store(const std::string& path);

} // namespace parley::store
