// The message store's connection to parley.db: opened, checked (no other process holds it, it is
// a Parley database, not corrupt, not from a newer Parley) and migrated to the latest schema
// before any statement is prepared against it. Every failure there is a startup error: a
// std::runtime_error with one line naming the file (sqlite_startup.hpp).
#pragma once

#include "store/sqlite_startup.hpp"
#include "store/sqlite_store.hpp"

#include <filesystem>

struct sqlite3;

namespace parley::store {

// The message store's file, as startup errors name it.
StartupFile message_store_file(const std::filesystem::path& file);

// The open connection. sqlite3_close_v2 waits for statements still alive, so the order of the
// store's members cannot turn into a leaked handle.
class MessageDb {
public:
    MessageDb(const std::filesystem::path& file, const SqliteOptions& options);
    ~MessageDb();
    MessageDb(const MessageDb&) = delete;
    MessageDb& operator=(const MessageDb&) = delete;

    sqlite3* get() const { return db_; }

private:
    sqlite3* db_ = nullptr;
};

} // namespace parley::store
