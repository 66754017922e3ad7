// Opening parley.db: see sqlite_message_db.hpp. The checks read before anything writes, so a file
// that must not be touched is left as it was.
#include "store/sqlite_message_db.hpp"

#include "store/sqlite_schema.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <string>

namespace parley::store {

namespace fs = std::filesystem;

StartupFile message_store_file(const fs::path& file) {
    return StartupFile{"message store " + file.string(), "in use by another process"};
}

namespace {

// Checks what is in the file before anything writes to it, then brings it to the latest schema.
void check_and_migrate(sqlite3* db, const fs::path& file, const SqliteOptions& options) {
    // Busy timeout 0: another process holding the database is reported at once, not waited on.
    sqlite3_busy_timeout(db, 0);
    // Exclusive locking: nothing else may write behind our in-memory counters (a sqlite3 shell
    // ignoring parley.lock included), and WAL then keeps its index in our heap, not a -shm file.
    exec(db, message_store_file(file), "PRAGMA locking_mode = EXCLUSIVE", "cannot set the locking mode");

    // The first read of the file: random bytes fail here with SQLITE_NOTADB, before any write.
    const std::int64_t version =
        query_int(db, message_store_file(file), "PRAGMA user_version", "cannot read the schema version");
    const std::int64_t application_id =
        query_int(db, message_store_file(file), "PRAGMA application_id", "cannot read the application id");
    if (version > latest_schema_version()) {
        fail(message_store_file(file), "written by a newer Parley (schema version " +
                                           std::to_string(version) + ", this binary knows up to " +
                                           std::to_string(latest_schema_version()) +
                                           "); upgrade Parley or use another data directory");
    }
    if (version == 0) {
        if (query_int(db, message_store_file(file), "SELECT count(*) FROM sqlite_schema",
                      "cannot read the schema") != 0) {
            fail(message_store_file(file),
                 "not a Parley database (it has tables but no Parley schema version); refusing to touch it");
        }
    } else if (application_id != parley_application_id) {
        fail(message_store_file(file), "not a Parley database (application_id " +
                                           std::to_string(application_id) + "); refusing to touch it");
    }

    if (options.check_at_open && version > 0) {
        std::string verdict =
            query_text(db, message_store_file(file), "PRAGMA quick_check(1)", "integrity check failed");
        if (verdict != "ok") {
            // quick_check's report spans lines ("*** in database main ***\nPage 7: ..."); keep the
            // error to the one line main prints.
            std::replace(verdict.begin(), verdict.end(), '\n', ' ');
            fail(message_store_file(file),
                 "database is corrupt (quick_check: " + verdict + "); restore it from a backup");
        }
    }

    if (version == 0) {
        // Only an empty file takes a page size; in WAL mode it is fixed from then on.
        exec(db, message_store_file(file),
             "PRAGMA page_size = " + std::to_string(options.new_file_page_bytes), "cannot set the page size");
    }
    const std::string mode =
        query_text(db, message_store_file(file), "PRAGMA journal_mode = WAL", "cannot switch to WAL mode");
    if (mode != "wal") {
        fail(message_store_file(file), "cannot switch to WAL mode (journal mode is " + mode + ")");
    }
    exec(db, message_store_file(file),
         std::string("PRAGMA synchronous = ") + (options.sync == sqlite_sync::full ? "FULL" : "NORMAL"),
         "cannot set synchronous");
    exec(db, message_store_file(file), "PRAGMA cache_size = -" + std::to_string(options.cache_bytes / 1024),
         "cannot set cache_size");
    const std::int64_t page_bytes =
        query_int(db, message_store_file(file), "PRAGMA page_size", "cannot read the page size");
    exec(db, message_store_file(file),
         "PRAGMA wal_autocheckpoint = " + std::to_string(std::max<std::int64_t>(
                                              1, static_cast<std::int64_t>(options.wal_autocheckpoint_bytes) /
                                                     std::max<std::int64_t>(page_bytes, 512))),
         "cannot set wal_autocheckpoint");

    for (const Migration& migration : sqlite_migrations()) {
        if (migration.version <= version) {
            continue;
        }
        const std::string what = "migrating the schema to version " + std::to_string(migration.version);
        exec(db, message_store_file(file), "BEGIN IMMEDIATE", what);
        const int rc = sqlite3_exec(db, std::string(migration.sql).c_str(), nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) {
            const std::string cause = describe(message_store_file(file), db, rc);
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            fail(message_store_file(file), what + ": " + cause);
        }
        exec(db, message_store_file(file),
             "PRAGMA user_version = " + std::to_string(migration.version) +
                 "; PRAGMA application_id = " + std::to_string(parley_application_id),
             what);
        exec(db, message_store_file(file), "COMMIT", what);
    }
    // Take the write lock now (exclusive mode keeps it until close) so that nothing can come
    // between opening and the first append().
    exec(db, message_store_file(file), "BEGIN IMMEDIATE; COMMIT", "cannot lock the database for writing");
}

} // namespace

MessageDb::MessageDb(const fs::path& file, const SqliteOptions& options) {
    // NOMUTEX: one thread uses the connection, so SQLite's own per-call mutex is pure cost.
    const int rc = sqlite3_open_v2(file.c_str(), &db_,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        const std::string cause = db_ == nullptr ? sqlite3_errstr(rc) : sqlite3_errmsg(db_);
        sqlite3_close_v2(db_);
        fail(message_store_file(file), "cannot open: " + cause);
    }
    sqlite3_extended_result_codes(db_, 1);
    try {
        check_and_migrate(db_, file, options);
    } catch (...) {
        sqlite3_close_v2(db_);
        throw;
    }
}

MessageDb::~MessageDb() {
    sqlite3_close_v2(db_);
}

} // namespace parley::store
