// The SQLite account store. Opening: check what the file is, switch to WAL, migrate, then prepare
// every statement once. Unlike the message store it keeps nothing in memory between calls (another
// process may change any row at any time), so every answer comes from the database. Failures at
// open throw (a startup error); failures afterwards are error_codes of sqlite_category(), and the
// expected ones (a taken name, an unknown account) of account_category().
#include "store/sqlite_account_store.hpp"

#include "store/sqlite_account_schema.hpp"
#include "store/sqlite_error.hpp"
#include "store/sqlite_startup.hpp"
#include "store/sqlite_statement.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace parley::store {

namespace {

namespace fs = std::filesystem;
using boost::system::result;

// How long a call waits for another connection's write transaction before failing with
// SQLITE_BUSY: `parley user ...` and the server's logins write rarely and briefly, so a writer
// that holds the lock for seconds is stuck, and the caller should hear about it.
constexpr int busy_timeout_ms = 5000;

// --- opening -------------------------------------------------------------------------------------

// The account store's file, as startup errors name it.
StartupFile startup_file(const std::string& path) {
    return StartupFile{"account store " + path, "another process held it for longer than " +
                                                    std::to_string(busy_timeout_ms / 1000) + " s"};
}

// What the file says it is.
struct FileIdentity {
    std::int64_t version = 0;
    std::int64_t application_id = 0;
    std::int64_t tables = 0;
};

// One statement, so one snapshot: read one by one, the three could straddle another process's
// migration (version 0 from before it, its tables from after) and a new file would look foreign.
FileIdentity read_identity(sqlite3* db, const StartupFile& file) {
    constexpr std::string_view sql = "SELECT (SELECT user_version FROM pragma_user_version), "
                                     "(SELECT application_id FROM pragma_application_id), "
                                     "(SELECT count(*) FROM sqlite_schema)";
    sqlite3_stmt* stmt = nullptr;
    // The first read of the file: random bytes fail here with SQLITE_NOTADB, before any write.
    int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    FileIdentity identity;
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            identity = {sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1),
                        sqlite3_column_int64(stmt, 2)};
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_OK) {
        fail(file, "cannot read what the file holds: " + describe(file, db, rc));
    }
    return identity;
}

// Throws unless the file is a Parley accounts database this binary can use, or empty.
void refuse_unless_ours(const FileIdentity& identity, const StartupFile& file) {
    if (identity.application_id == parley_application_id) {
        fail(file, "this is a Parley message database (parley.db), not the accounts database; "
                   "refusing to touch it");
    }
    if (identity.version == 0) {
        // A new file has neither tables nor an application id; anything else is someone else's.
        if (identity.tables != 0 || identity.application_id != 0) {
            fail(file,
                 "not a Parley accounts database (it has no Parley schema version); refusing to touch it");
        }
        return;
    }
    if (identity.application_id != parley_accounts_application_id) {
        fail(file, "not a Parley accounts database (application_id " +
                       std::to_string(identity.application_id) + "); refusing to touch it");
    }
    if (identity.version > latest_account_schema_version()) {
        fail(file, "written by a newer Parley (accounts schema version " + std::to_string(identity.version) +
                       ", this binary knows up to " + std::to_string(latest_account_schema_version()) +
                       "); upgrade Parley");
    }
}

// Puts the file in WAL mode (kept in the file, so only its first open changes anything) and returns
// the journal mode now in force. Turning a new file to WAL takes an exclusive lock, and when
// waiting for one could deadlock (another connection holds a shared lock and wants more, as when
// the server and a first `parley user add` open a new file together) SQLite answers SQLITE_BUSY at
// once instead of calling the busy handler; so the wait the busy timeout promises is made here.
std::string switch_to_wal(sqlite3* db, const StartupFile& file) {
    constexpr int retry_ms = 10;
    std::string mode;
    for (int waited_ms = 0;; waited_ms += retry_ms) {
        const int rc = try_query_text(db, "PRAGMA journal_mode = WAL", mode);
        if (rc == SQLITE_OK) {
            return mode;
        }
        if ((rc & 0xff) != SQLITE_BUSY || waited_ms >= busy_timeout_ms) {
            fail(file, "cannot switch to WAL mode: " + describe(file, db, rc));
        }
        sqlite3_sleep(retry_ms);
    }
}

// Checks what is in the file before anything writes to it, then brings it to the latest schema.
void check_and_migrate(sqlite3* db, const StartupFile& file, bool in_memory) {
    const FileIdentity found = read_identity(db, file);
    refuse_unless_ours(found, file);

    // Normal locking (SQLite's default, stated so a build default cannot take it away): the server
    // and the admin CLI share this file, each taking the write lock only while it writes.
    exec(db, file, "PRAGMA locking_mode = NORMAL", "cannot set the locking mode");
    if (!in_memory) {
        // WAL: readers never block the writer nor it them, so a CLI command does not stall logins.
        const std::string mode = switch_to_wal(db, file);
        if (mode != "wal") {
            fail(file, "cannot switch to WAL mode (journal mode is " + mode + ")");
        }
    }
    // FULL: a password change or a disable that `parley user` reported done survives a power cut.
    exec(db, file, "PRAGMA synchronous = FULL", "cannot set synchronous");
    exec(db, file, "PRAGMA foreign_keys = ON", "cannot enable foreign keys");
    if (query_int(db, file, "PRAGMA foreign_keys", "cannot enable foreign keys") != 1) {
        fail(file, "this SQLite has no foreign key support");
    }

    if (found.version == latest_account_schema_version()) {
        return; // the usual open: no write lock taken, so a busy server never delays a CLI command
    }
    // The check above may race another process opening the same new file (the server and a first
    // `parley user add`), so what to run is decided again under the write lock.
    const std::string what = "migrating the accounts schema";
    exec(db, file, "BEGIN IMMEDIATE", what);
    try {
        const FileIdentity identity = read_identity(db, file);
        refuse_unless_ours(identity, file);
        for (const Migration& migration : account_migrations()) {
            if (migration.version > identity.version) {
                exec(db, file, std::string(migration.sql),
                     what + " to version " + std::to_string(migration.version));
            }
        }
        exec(db, file,
             "PRAGMA user_version = " + std::to_string(latest_account_schema_version()) +
                 "; PRAGMA application_id = " + std::to_string(parley_accounts_application_id),
             what);
        exec(db, file, "COMMIT", what);
    } catch (...) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

// The connection handle, opened, checked and migrated, so that statements can be prepared against
// the schema as soon as it exists.
class AccountConnection {
public:
    explicit AccountConnection(const std::string& path) {
        if (path.empty()) {
            // SQLite would open a private temporary file: never what a configuration meant.
            fail(startup_file("\"\""), "no path given");
        }
        const bool in_memory = path == in_memory_accounts;
        if (!in_memory) {
            const fs::path parent = fs::path(path).parent_path();
            std::error_code ec;
            if (!parent.empty() && !fs::create_directories(parent, ec) && ec) {
                fail(startup_file(path), "cannot create directory " + parent.string() + ": " + ec.message());
            }
        }
        // NOMUTEX: one thread at a time uses the connection, so SQLite's per-call mutex is pure cost.
        const int rc = sqlite3_open_v2(
            path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
        if (rc != SQLITE_OK) {
            const std::string cause = db_ == nullptr ? sqlite3_errstr(rc) : sqlite3_errmsg(db_);
            sqlite3_close_v2(db_);
            fail(startup_file(path), "cannot open: " + cause);
        }
        sqlite3_extended_result_codes(db_, 1);
        sqlite3_busy_timeout(db_, busy_timeout_ms);
        try {
            check_and_migrate(db_, startup_file(path), in_memory);
        } catch (...) {
            sqlite3_close_v2(db_);
            throw;
        }
    }
    ~AccountConnection() { sqlite3_close_v2(db_); }
    AccountConnection(const AccountConnection&) = delete;
    AccountConnection& operator=(const AccountConnection&) = delete;

    sqlite3* get() const { return db_; }

private:
    sqlite3* db_ = nullptr;
};

// --- the store -----------------------------------------------------------------------------------

// An account query: every column, in the order read_account() reads them, then `rest`.
std::string select_accounts(std::string_view rest) {
    return "SELECT id, name, password_hash, disabled, created_ms FROM accounts " + std::string(rest);
}

Account read_account(const Statement& row) {
    return {row.int64(0), std::string(row.text(1)), std::string(row.text(2)), row.int64(3) != 0,
            row.int64(4)};
}

class SqliteAccountStore final : public AccountStore {
public:
    explicit SqliteAccountStore(const std::string& path)
        : db_(path), begin_(db_.get(), "BEGIN IMMEDIATE"), commit_(db_.get(), "COMMIT"),
          rollback_(db_.get(), "ROLLBACK"),
          insert_account_(db_.get(),
                          "INSERT INTO accounts (name, password_hash, created_ms) VALUES (?1, ?2, ?3) "
                          "ON CONFLICT (name) DO NOTHING RETURNING id"),
          select_account_(db_.get(), select_accounts("WHERE name = ?1")),
          select_accounts_(db_.get(), select_accounts("ORDER BY name")),
          update_password_(db_.get(), "UPDATE accounts SET password_hash = ?2, "
                                      "revoked_seq = (SELECT max(revoked_seq) FROM accounts) + 1 "
                                      "WHERE name = ?1 RETURNING id"),
          update_disabled_(db_.get(), "UPDATE accounts SET disabled = ?2, revoked_seq = CASE WHEN ?2 != 0 "
                                      "THEN (SELECT max(revoked_seq) FROM accounts) + 1 ELSE revoked_seq END "
                                      "WHERE name = ?1 RETURNING id"),
          select_revocations_(db_.get(), "SELECT name, revoked_seq, disabled FROM accounts "
                                         "WHERE revoked_seq > ?1 ORDER BY revoked_seq"),
          // The same condition as the partial index accounts_disabled, so SQLite can use it.
          select_disabled_(db_.get(), "SELECT name FROM accounts WHERE disabled != 0 ORDER BY name"),
          select_account_disabled_(db_.get(), "SELECT disabled FROM accounts WHERE id = ?1"),
          insert_session_(db_.get(), "INSERT INTO sessions (token_hash, account_id, created_ms, expires_ms) "
                                     "VALUES (?1, ?2, ?3, ?4)"),
          select_session_(db_.get(), "SELECT s.account_id, a.name, s.expires_ms FROM sessions AS s "
                                     "JOIN accounts AS a ON a.id = s.account_id "
                                     "WHERE s.token_hash = ?1 AND s.expires_ms > ?2 AND a.disabled = 0"),
          delete_session_(db_.get(), "DELETE FROM sessions WHERE token_hash = ?1"),
          delete_account_sessions_(db_.get(), "DELETE FROM sessions WHERE account_id = ?1"),
          delete_expired_sessions_(db_.get(), "DELETE FROM sessions WHERE expires_ms <= ?1"),
          data_version_(db_.get(), "PRAGMA data_version") {}

    result<Account> create_account(const std::string& name, const std::string& password_hash,
                                   std::int64_t now_ms) override {
        auto use = insert_account_.use();
        insert_account_.bind(1, name).bind(2, password_hash).bind(3, now_ms);
        auto id = returned_id(insert_account_);
        if (!id) {
            return id.error();
        }
        if (!*id) {
            return account_errc::name_taken;
        }
        return Account{**id, name, password_hash, false, now_ms};
    }

    result<std::optional<Account>> find_account(const std::string& name) override {
        auto use = select_account_.use();
        select_account_.bind(1, name);
        auto row = select_account_.step();
        if (!row) {
            return row.error();
        }
        if (!*row) {
            return std::optional<Account>();
        }
        return std::optional<Account>(read_account(select_account_));
    }

    result<std::vector<Account>> list_accounts() override {
        std::vector<Account> accounts;
        auto use = select_accounts_.use();
        for (;;) {
            auto row = select_accounts_.step();
            if (!row) {
                return row.error();
            }
            if (!*row) {
                return accounts;
            }
            accounts.push_back(read_account(select_accounts_));
        }
    }

    result<void> set_password(const std::string& name, const std::string& password_hash) override {
        return in_transaction([&]() -> result<void> {
            std::optional<std::int64_t> account_id;
            {
                auto use = update_password_.use();
                update_password_.bind(1, name).bind(2, password_hash);
                auto id = returned_id(update_password_);
                if (!id) {
                    return id.error();
                }
                account_id = *id;
            }
            if (!account_id) {
                return account_errc::no_such_account;
            }
            return delete_sessions_of(*account_id);
        });
    }

    result<void> set_disabled(const std::string& name, bool disabled) override {
        return in_transaction([&]() -> result<void> {
            std::optional<std::int64_t> account_id;
            {
                auto use = update_disabled_.use();
                update_disabled_.bind(1, name).bind(2, std::int64_t{disabled ? 1 : 0});
                auto id = returned_id(update_disabled_);
                if (!id) {
                    return id.error();
                }
                account_id = *id;
            }
            if (!account_id) {
                return account_errc::no_such_account;
            }
            if (!disabled) {
                return {};
            }
            return delete_sessions_of(*account_id);
        });
    }

    result<std::vector<AccountRevocation>> revocations_after(std::int64_t seq) override {
        std::vector<AccountRevocation> out;
        auto use = select_revocations_.use();
        select_revocations_.bind(1, seq);
        for (;;) {
            auto row = select_revocations_.step();
            if (!row) {
                return row.error();
            }
            if (!*row) {
                return out;
            }
            out.push_back(AccountRevocation{std::string(select_revocations_.text(0)),
                                            select_revocations_.int64(1), select_revocations_.int64(2) != 0});
        }
    }

    result<std::vector<std::string>> disabled_accounts() override {
        std::vector<std::string> names;
        auto use = select_disabled_.use();
        for (;;) {
            auto row = select_disabled_.step();
            if (!row) {
                return row.error();
            }
            if (!*row) {
                return names;
            }
            names.emplace_back(select_disabled_.text(0));
        }
    }

    result<void> create_session(std::int64_t account_id, const std::string& token_hash, std::int64_t now_ms,
                                std::int64_t expires_ms) override {
        // Checked and inserted under one write lock, so a disable committed by the CLI lands either
        // before (refused here) or after (the session is revoked with the others).
        return in_transaction([&]() -> result<void> {
            {
                auto use = select_account_disabled_.use();
                select_account_disabled_.bind(1, account_id);
                auto row = select_account_disabled_.step();
                if (!row) {
                    return row.error();
                }
                if (!*row) {
                    return account_errc::no_such_account;
                }
                if (select_account_disabled_.int64(0) != 0) {
                    return account_errc::account_disabled;
                }
            }
            auto use = insert_session_.use();
            insert_session_.bind(1, token_hash).bind(2, account_id).bind(3, now_ms).bind(4, expires_ms);
            return insert_session_.run();
        });
    }

    result<std::optional<SessionInfo>> find_session(const std::string& token_hash,
                                                    std::int64_t now_ms) override {
        auto use = select_session_.use();
        select_session_.bind(1, token_hash).bind(2, now_ms);
        auto row = select_session_.step();
        if (!row) {
            return row.error();
        }
        if (!*row) {
            return std::optional<SessionInfo>();
        }
        return std::optional<SessionInfo>(SessionInfo{
            select_session_.int64(0), std::string(select_session_.text(1)), select_session_.int64(2)});
    }

    result<bool> revoke_session(const std::string& token_hash) override {
        auto use = delete_session_.use();
        delete_session_.bind(1, token_hash);
        auto deleted = deleting(delete_session_);
        if (!deleted) {
            // in_place_error: an error_code would otherwise convert to bool, the value type.
            return {boost::system::in_place_error, deleted.error()};
        }
        return *deleted != 0;
    }

    result<std::size_t> revoke_all_sessions(std::int64_t account_id) override {
        auto use = delete_account_sessions_.use();
        delete_account_sessions_.bind(1, account_id);
        return deleting(delete_account_sessions_);
    }

    result<std::size_t> prune_expired_sessions(std::int64_t now_ms) override {
        auto use = delete_expired_sessions_.use();
        delete_expired_sessions_.bind(1, now_ms);
        return deleting(delete_expired_sessions_);
    }

    result<std::int64_t> change_counter() override {
        auto use = data_version_.use();
        auto row = data_version_.step();
        if (!row) {
            return row.error();
        }
        if (!*row) {
            // PRAGMA data_version always returns its row; no row would mean this SQLite lacks it.
            return make_sqlite_error(SQLITE_INTERNAL);
        }
        return data_version_.int64(0);
    }

private:
    // Runs `body` in a write transaction: committed if it succeeds, rolled back if anything fails.
    // BEGIN IMMEDIATE takes the write lock first, so a concurrent writer makes this wait (busy
    // timeout) instead of failing half-way with SQLITE_BUSY when a read would turn into a write.
    template <class Body> result<void> in_transaction(Body&& body) {
        if (auto begun = run(begin_); !begun) {
            return begun;
        }
        result<void> out = body();
        if (out) {
            out = run(commit_);
            if (out) {
                return out;
            }
        }
        // A failed COMMIT may already have rolled back; only roll back a transaction still open.
        if (sqlite3_get_autocommit(db_.get()) == 0) {
            (void)run(rollback_);
        }
        return out;
    }

    static result<void> run(Statement& statement) {
        auto use = statement.use();
        return statement.run();
    }

    // Steps a statement with RETURNING id to its end: the id, or nullopt if it changed no row.
    // Stepping to the end matters: an autocommit write commits only when its statement is done.
    static result<std::optional<std::int64_t>> returned_id(Statement& statement) {
        auto row = statement.step();
        if (!row) {
            return row.error();
        }
        std::optional<std::int64_t> id;
        if (*row) {
            id = statement.int64(0);
            if (auto done = statement.run(); !done) {
                return done.error();
            }
        }
        return id;
    }

    // Runs a DELETE (already bound) and returns how many rows it deleted.
    result<std::size_t> deleting(Statement& statement) {
        if (auto done = statement.run(); !done) {
            return done.error();
        }
        return static_cast<std::size_t>(sqlite3_changes64(db_.get()));
    }

    result<void> delete_sessions_of(std::int64_t account_id) {
        auto use = delete_account_sessions_.use();
        delete_account_sessions_.bind(1, account_id);
        return delete_account_sessions_.run();
    }

    AccountConnection db_;
    Statement begin_;
    Statement commit_;
    Statement rollback_;
    Statement insert_account_;
    Statement select_account_;
    Statement select_accounts_;
    Statement update_password_;
    Statement update_disabled_;
    Statement select_revocations_;
    Statement select_disabled_;
    Statement select_account_disabled_;
    Statement insert_session_;
    Statement select_session_;
    Statement delete_session_;
    Statement delete_account_sessions_;
    Statement delete_expired_sessions_;
    Statement data_version_;
};

} // namespace

std::unique_ptr<AccountStore> open_sqlite_account_store(const std::string& path) {
    return std::make_unique<SqliteAccountStore>(path);
}

} // namespace parley::store
