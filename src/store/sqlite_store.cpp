// The SQLite store. Opening: lock, check, migrate, then prepare every statement once. After that
// this object is the database's only writer, which is what lets it keep the next msg_id and each
// user's next seq in memory; it must therefore never share parley.db with another connection.
// Failures at open throw (a startup error); failures afterwards are error_codes of sqlite_category.
#include "store/sqlite_store.hpp"

#include "store/data_dir_lock.hpp"
#include "store/file_io.hpp"
#include "store/journal_format.hpp"
#include "store/sqlite_error.hpp"
#include "store/sqlite_schema.hpp"
#include "store/sqlite_startup.hpp"
#include "store/sqlite_statement.hpp"

#include <sqlite3.h>

#include <boost/unordered/unordered_flat_map.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>

namespace parley::store {

namespace {

namespace fs = std::filesystem;
using boost::system::result;

// The oldest ts a duplicate may have, without overflowing for a huge window.
std::int64_t window_start(std::int64_t now_ms, std::int64_t window_ms) {
    constexpr auto lowest = std::numeric_limits<std::int64_t>::min();
    return now_ms < lowest + window_ms ? lowest : now_ms - window_ms;
}

std::int64_t as_limit(std::size_t n) {
    constexpr auto highest = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    return static_cast<std::int64_t>(std::min(n, highest));
}

// --- opening -------------------------------------------------------------------------------------

// The message store's file, as startup errors name it.
StartupFile startup_file(const fs::path& file) {
    return StartupFile{"message store " + file.string(), "in use by another process"};
}

// Checks what is in the file before anything writes to it, then brings it to the latest schema.
void check_and_migrate(sqlite3* db, const fs::path& file, const SqliteOptions& options) {
    // Busy timeout 0: another process holding the database is reported at once, not waited on.
    sqlite3_busy_timeout(db, 0);
    // Exclusive locking: nothing else may write behind our in-memory counters (a sqlite3 shell
    // ignoring parley.lock included), and WAL then keeps its index in our heap, not a -shm file.
    exec(db, startup_file(file), "PRAGMA locking_mode = EXCLUSIVE", "cannot set the locking mode");

    // The first read of the file: random bytes fail here with SQLITE_NOTADB, before any write.
    const std::int64_t version =
        query_int(db, startup_file(file), "PRAGMA user_version", "cannot read the schema version");
    const std::int64_t application_id =
        query_int(db, startup_file(file), "PRAGMA application_id", "cannot read the application id");
    if (version > latest_schema_version()) {
        fail(startup_file(file), "written by a newer Parley (schema version " + std::to_string(version) +
                                     ", this binary knows up to " + std::to_string(latest_schema_version()) +
                                     "); upgrade Parley or use another data directory");
    }
    if (version == 0) {
        if (query_int(db, startup_file(file), "SELECT count(*) FROM sqlite_schema",
                      "cannot read the schema") != 0) {
            fail(startup_file(file),
                 "not a Parley database (it has tables but no Parley schema version); refusing to touch it");
        }
    } else if (application_id != parley_application_id) {
        fail(startup_file(file), "not a Parley database (application_id " + std::to_string(application_id) +
                                     "); refusing to touch it");
    }

    if (options.check_at_open && version > 0) {
        std::string verdict =
            query_text(db, startup_file(file), "PRAGMA quick_check(1)", "integrity check failed");
        if (verdict != "ok") {
            // quick_check's report spans lines ("*** in database main ***\nPage 7: ..."); keep the
            // error to the one line main prints.
            std::replace(verdict.begin(), verdict.end(), '\n', ' ');
            fail(startup_file(file),
                 "database is corrupt (quick_check: " + verdict + "); restore it from a backup");
        }
    }

    if (version == 0) {
        // Only an empty file takes a page size; in WAL mode it is fixed from then on.
        exec(db, startup_file(file), "PRAGMA page_size = " + std::to_string(options.new_file_page_bytes),
             "cannot set the page size");
    }
    const std::string mode =
        query_text(db, startup_file(file), "PRAGMA journal_mode = WAL", "cannot switch to WAL mode");
    if (mode != "wal") {
        fail(startup_file(file), "cannot switch to WAL mode (journal mode is " + mode + ")");
    }
    exec(db, startup_file(file),
         std::string("PRAGMA synchronous = ") + (options.sync == sqlite_sync::full ? "FULL" : "NORMAL"),
         "cannot set synchronous");
    exec(db, startup_file(file), "PRAGMA cache_size = -" + std::to_string(options.cache_bytes / 1024),
         "cannot set cache_size");
    const std::int64_t page_bytes =
        query_int(db, startup_file(file), "PRAGMA page_size", "cannot read the page size");
    exec(db, startup_file(file),
         "PRAGMA wal_autocheckpoint = " + std::to_string(std::max<std::int64_t>(
                                              1, static_cast<std::int64_t>(options.wal_autocheckpoint_bytes) /
                                                     std::max<std::int64_t>(page_bytes, 512))),
         "cannot set wal_autocheckpoint");

    for (const Migration& migration : sqlite_migrations()) {
        if (migration.version <= version) {
            continue;
        }
        const std::string what = "migrating the schema to version " + std::to_string(migration.version);
        exec(db, startup_file(file), "BEGIN IMMEDIATE", what);
        const int rc = sqlite3_exec(db, std::string(migration.sql).c_str(), nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) {
            const std::string cause = describe(startup_file(file), db, rc);
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            fail(startup_file(file), what + ": " + cause);
        }
        exec(db, startup_file(file),
             "PRAGMA user_version = " + std::to_string(migration.version) +
                 "; PRAGMA application_id = " + std::to_string(parley_application_id),
             what);
        exec(db, startup_file(file), "COMMIT", what);
    }
    // Take the write lock now (exclusive mode keeps it until close) so that nothing can come
    // between opening and the first append().
    exec(db, startup_file(file), "BEGIN IMMEDIATE; COMMIT", "cannot lock the database for writing");
}

// The connection handle, opened, checked and migrated, so that statements can be prepared against
// the schema as soon as it exists. sqlite3_close_v2 waits for statements still alive, so member
// order in the store cannot turn into a leaked handle.
class Connection {
public:
    Connection(const fs::path& file, const SqliteOptions& options) {
        // NOMUTEX: one thread uses the connection, so SQLite's own per-call mutex is pure cost.
        const int rc = sqlite3_open_v2(
            file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
        if (rc != SQLITE_OK) {
            const std::string cause = db_ == nullptr ? sqlite3_errstr(rc) : sqlite3_errmsg(db_);
            sqlite3_close_v2(db_);
            fail(startup_file(file), "cannot open: " + cause);
        }
        sqlite3_extended_result_codes(db_, 1);
        try {
            check_and_migrate(db_, file, options);
        } catch (...) {
            sqlite3_close_v2(db_);
            throw;
        }
    }
    ~Connection() { sqlite3_close_v2(db_); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    sqlite3* get() const { return db_; }

private:
    sqlite3* db_ = nullptr;
};

// --- the store -----------------------------------------------------------------------------------

// Columns every message query returns, in this order, for read_message().
constexpr std::string_view message_columns =
    "m.id, m.ts, m.sender, m.recipient, m.body, m.sender_seq, m.recipient_seq";

std::string concat(std::initializer_list<std::string_view> parts) {
    std::string sql;
    for (const std::string_view part : parts) {
        sql += part;
    }
    return sql;
}

class SqliteStore final : public MessageStore {
public:
    bool waits_on_io() const override { return true; }

    SqliteStore(const fs::path& data_dir, const SqliteOptions& options)
        : file_(data_dir / sqlite_db_file), lock_(data_dir / data_dir_lock_file, startup_file(file_).label),
          db_(file_, options), begin_(db_.get(), "BEGIN IMMEDIATE"), commit_(db_.get(), "COMMIT"),
          rollback_(db_.get(), "ROLLBACK"),
          user_by_name_(
              db_.get(),
              "SELECT id, pushed_seq, max(seq_floor, coalesce((SELECT max(seq) FROM inbox WHERE user = "
              "users.id), 0)) FROM users WHERE name = ?1"),
          user_by_id_(
              db_.get(),
              "SELECT name, pushed_seq, max(seq_floor, coalesce((SELECT max(seq) FROM inbox WHERE user = "
              "users.id), 0)) FROM users WHERE id = ?1"),
          insert_user_(db_.get(), "INSERT INTO users (name) VALUES (?1)"),
          update_pushed_seq_(db_.get(), "UPDATE users SET pushed_seq = max(pushed_seq, ?2) WHERE id = ?1"),
          find_duplicate_(db_.get(),
                          concat({"SELECT ", message_columns,
                                  " FROM client_ids AS c CROSS JOIN messages AS m ON m.id = c.msg_id "
                                  "WHERE c.sender = ?1 AND c.client_id = ?2 AND m.ts >= ?3 "
                                  "ORDER BY c.msg_id DESC LIMIT 1"})),
          select_message_(db_.get(),
                          concat({"SELECT ", message_columns, " FROM messages AS m WHERE m.id = ?1"})),
          insert_message_(db_.get(),
                          "INSERT INTO messages (id, ts, sender, recipient, lo, hi, sender_seq, "
                          "recipient_seq, client_id, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
          insert_conversation_(db_.get(), "INSERT INTO conversations (user, peer) VALUES (?1, ?2) "
                                          "ON CONFLICT (user, peer) DO NOTHING"),
          select_inbox_(db_.get(), concat({"SELECT i.seq, ", message_columns,
                                           " FROM inbox AS i CROSS JOIN messages AS m ON m.id = i.msg_id "
                                           "WHERE i.user = ?1 AND i.seq > ?2 ORDER BY i.seq LIMIT ?3"})),
          select_history_(
              db_.get(),
              concat({"SELECT ", message_columns,
                      " FROM conversation_messages AS c CROSS JOIN messages AS m ON m.id = c.msg_id "
                      "WHERE c.lo = ?1 AND c.hi = ?2 AND c.msg_id < ?3 "
                      "ORDER BY c.msg_id DESC LIMIT ?4"})),
          select_conversations_(
              db_.get(),
              concat({"SELECT x.peer, x.read_up_to, x.peer_read_up_to, x.peer_delivered_up_to, ",
                      message_columns,
                      " FROM (SELECT c.peer AS peer, c.read_up_to AS read_up_to, "
                      "coalesce(p.read_up_to, 0) AS peer_read_up_to, "
                      "coalesce(p.delivered_up_to, 0) AS peer_delivered_up_to, "
                      "(SELECT max(msg_id) FROM conversation_messages WHERE lo = min(c.user, c.peer) "
                      "AND hi = max(c.user, c.peer)) AS last "
                      "FROM conversations AS c "
                      "LEFT JOIN conversations AS p ON p.user = c.peer AND p.peer = c.user "
                      "WHERE c.user = ?1) AS x "
                      "CROSS JOIN messages AS m ON m.id = x.last ORDER BY m.id DESC"})),
          count_unread_(db_.get(), "SELECT count(*) FROM conversation_messages AS c "
                                   "CROSS JOIN messages AS m ON m.id = c.msg_id "
                                   "WHERE c.lo = ?1 AND c.hi = ?2 AND c.msg_id > ?3 AND m.sender = ?4"),
          select_marks_(db_.get(),
                        "SELECT (SELECT max(msg_id) FROM conversation_messages WHERE lo = ?3 AND hi = ?4), "
                        "read_up_to, "
                        "delivered_up_to FROM conversations WHERE user = ?1 AND peer = ?2"),
          update_marks_(db_.get(), "UPDATE conversations SET read_up_to = ?3, delivered_up_to = ?4 "
                                   "WHERE user = ?1 AND peer = ?2"),
          select_oldest_(db_.get(), "SELECT id, ts, sender, recipient, sender_seq, recipient_seq, lo, hi, "
                                    "client_id FROM messages ORDER BY id LIMIT ?1"),
          raise_seq_floor_(db_.get(),
                           "UPDATE users SET seq_floor = max(seq_floor, "
                           "coalesce((SELECT max(seq) FROM inbox WHERE user = ?1), 0)) WHERE id = ?1"),
          raise_msg_id_floor_(db_.get(), "UPDATE meta SET value = max(value, ?1) WHERE key = 'msg_id_floor'"),
          delete_inbox_(db_.get(), "DELETE FROM inbox WHERE user = ?1 AND seq = ?2"),
          delete_message_(db_.get(), "DELETE FROM messages WHERE id = ?1"),
          delete_conversation_message_(db_.get(), "DELETE FROM conversation_messages "
                                                  "WHERE lo = ?1 AND hi = ?2 AND msg_id = ?3"),
          delete_client_id_(db_.get(),
                            "DELETE FROM client_ids WHERE sender = ?1 AND client_id = ?2 AND msg_id = ?3"),
          conversation_last_(db_.get(),
                             "SELECT max(msg_id) FROM conversation_messages WHERE lo = ?1 AND hi = ?2"),
          delete_conversation_(db_.get(), "DELETE FROM conversations "
                                          "WHERE (user = ?1 AND peer = ?2) OR (user = ?2 AND peer = ?1)"),
          // One chat to oneself takes one inbox entry (its sender's).
          // Messages with id in (?1, ?2], rows whose key starts with a user id in [?3, ?4): a pass's
          // slice (index_slice()). OR IGNORE: a slice's rows may already be there, written by
          // the same pass before a crash.
          index_inbox_(db_.get(),
                       "INSERT OR IGNORE INTO inbox (user, seq, msg_id) SELECT user, seq, msg_id FROM ("
                       "SELECT sender AS user, sender_seq AS seq, id AS msg_id FROM messages "
                       "WHERE id > ?1 AND id <= ?2 AND sender >= ?3 AND sender < ?4 "
                       "UNION ALL SELECT recipient, recipient_seq, id FROM messages "
                       "WHERE id > ?1 AND id <= ?2 AND recipient != sender "
                       "AND recipient >= ?3 AND recipient < ?4) ORDER BY user, seq"),
          index_conversations_(db_.get(), "INSERT OR IGNORE INTO conversation_messages (lo, hi, msg_id) "
                                          "SELECT lo, hi, id FROM messages WHERE id > ?1 AND id <= ?2 "
                                          "AND lo >= ?3 AND lo < ?4 ORDER BY lo, hi, id"),
          index_client_ids_(db_.get(), "INSERT OR IGNORE INTO client_ids (sender, client_id, msg_id) "
                                       "SELECT sender, client_id, id FROM messages "
                                       "WHERE id > ?1 AND id <= ?2 AND client_id IS NOT NULL "
                                       "AND sender >= ?3 AND sender < ?4 ORDER BY sender, client_id, id"),
          set_indexed_through_(db_.get(), "UPDATE meta SET value = ?1 WHERE key = 'indexed_through'"),
          options_(options) {
        next_msg_id_ =
            static_cast<std::uint64_t>(query_int(db_.get(), startup_file(file_),
                                                 "SELECT max(coalesce((SELECT max(id) FROM messages), 0), "
                                                 "(SELECT value FROM meta WHERE key = 'msg_id_floor'))",
                                                 "cannot read the last msg_id")) +
            1;
        indexed_through_ = static_cast<std::uint64_t>(
            query_int(db_.get(), startup_file(file_), "SELECT value FROM meta WHERE key = 'indexed_through'",
                      "cannot read how far the indexes go"));
        // What the last run committed but did not index yet (it stopped, or was killed): every
        // read below, and the users' last seqs (taken from the inbox), need it indexed.
        if (auto done = index_tail(); !done) {
            fail(startup_file(file_), "cannot index the newest messages: " + done.error().message());
        }
    }

    ~SqliteStore() override {
        // Persist set_pushed_seq() values no append has carried yet; a failure here only costs
        // some re-sent messages after the restart.
        if (!dirty_pushed_.empty()) {
            (void)transact<bool>([] { return result<bool>(true); }, [] {});
        }
    }

    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

    result<std::vector<AppendResult>> append(std::span<const NewMessage> batch, std::int64_t now_ms,
                                             std::int64_t idempotency_window_ms) override {
        if (batch.empty()) {
            return std::vector<AppendResult>{};
        }
        const std::uint64_t next_msg_id_before = next_msg_id_;
        ++batch_epoch_;
        touched_.clear();
        created_.clear();
        batch_client_ids_.clear();
        batch_conversations_.clear();
        auto stored = transact<std::vector<AppendResult>>(
            [&] { return append_in_transaction(batch, now_ms, idempotency_window_ms); },
            [&] {
                // Nothing of the batch is stored, so nothing of it may stay in the counters: the
                // next batch reuses these ids and seqs, keeping both gap-free.
                next_msg_id_ = next_msg_id_before;
                for (User* u : touched_) {
                    u->last_seq = u->last_seq_before_batch;
                }
                for (const std::int64_t id : created_) {
                    forget_user(id);
                }
            });
        if (stored) {
            // Committed: the batch joins the tail, which the indexes do not cover yet.
            if (indexed_through_ + 1 == next_msg_id_before && next_msg_id_ != next_msg_id_before) {
                tail_started_ = std::chrono::steady_clock::now();
            }
            if (tail_client_ids_.empty()) {
                tail_client_ids_.swap(batch_client_ids_); // the common case after a full index step
            } else {
                for (const auto& [key, msg_id] : batch_client_ids_) {
                    tail_client_ids_.insert_or_assign(key, msg_id);
                }
            }
            for (const auto& [pair, msg_id] : batch_conversations_) {
                tail_last_[pair] = msg_id;
            }
        }
        return stored;
    }

    result<void> maintain() override {
        // Index in passes (ADR 013): a pass covers the whole tail once it holds
        // `index_pass_messages` or its oldest message waited a second, so a login rarely waits
        // for indexing. A step writes a page per user per index whatever its size, so the bigger
        // the tail a page's rows come from, the fewer pages per message. The pass is written in
        // slices by user id, one per call, so the batches queued meanwhile wait for one slice
        // only; it has at most `index_max_slices` of them, so the tail stays within a few
        // batches' worth when batches outgrow a pass.
        if (pass_through_ == 0) {
            const std::uint64_t tail = next_msg_id_ - 1 - indexed_through_;
            if (tail == 0 || (tail < options_.index_pass_messages &&
                              std::chrono::steady_clock::now() - tail_started_ < std::chrono::seconds(1))) {
                return {};
            }
            start_pass(tail);
        }
        return index_slice();
    }

    result<std::vector<InboxEntry>> inbox_since(const std::string& user, std::uint64_t since_seq,
                                                std::size_t limit) override {
        std::vector<InboxEntry> entries;
        auto u = find_user(user);
        if (!u) {
            return u.error();
        }
        if (*u == nullptr || limit == 0) {
            return entries;
        }
        if (auto indexed = index_inbox_of((*u)->id); !indexed) {
            return indexed.error();
        }
        auto use = select_inbox_.use();
        select_inbox_.bind(1, (*u)->id).bind(2, since_seq).bind(3, as_limit(limit));
        for (;;) {
            auto row = select_inbox_.step();
            if (!row) {
                return row.error();
            }
            if (!*row) {
                return entries;
            }
            auto message = read_message(select_inbox_, 1);
            if (!message) {
                return message.error();
            }
            entries.push_back({select_inbox_.uint64(0), std::move(*message)});
        }
    }

    result<std::uint64_t> last_seq(const std::string& user) override {
        auto u = find_user(user);
        if (!u) {
            return u.error();
        }
        return *u == nullptr ? 0 : (*u)->last_seq;
    }

    result<std::uint64_t> pushed_seq(const std::string& user) override {
        auto u = find_user(user);
        if (!u) {
            return u.error();
        }
        return *u == nullptr ? 0 : (*u)->pushed_seq;
    }

    result<void> set_pushed_seq(const std::string& user, std::uint64_t seq) override {
        auto u = find_user(user);
        if (!u) {
            return u.error();
        }
        User* found = *u;
        // Nothing was pushed beyond what exists; clamping also means an unknown user needs no row.
        if (found == nullptr || std::min(seq, found->last_seq) <= found->pushed_seq) {
            return {};
        }
        found->pushed_seq = std::min(seq, found->last_seq);
        if (!found->pushed_dirty) {
            found->pushed_dirty = true;
            dirty_pushed_.push_back(found);
        }
        return {};
    }

    result<std::vector<StoredMessage>> history(const std::string& user, const std::string& peer,
                                               std::uint64_t before, std::size_t limit) override {
        std::vector<StoredMessage> page;
        if (auto indexed = index_tail(); !indexed) {
            return indexed.error();
        }
        auto both = find_both(user, peer);
        if (!both) {
            return both.error();
        }
        if (!*both || limit == 0) {
            return page;
        }
        const std::int64_t a = (*both)->first->id;
        const std::int64_t b = (*both)->second->id;
        auto use = select_history_.use();
        select_history_.bind(1, std::min(a, b)).bind(2, std::max(a, b));
        select_history_.bind(3, before == 0 ? std::numeric_limits<std::int64_t>::max()
                                            : static_cast<std::int64_t>(before));
        select_history_.bind(4, as_limit(limit));
        for (;;) {
            auto row = select_history_.step();
            if (!row) {
                return row.error();
            }
            if (!*row) {
                return page;
            }
            auto message = read_message(select_history_, 0);
            if (!message) {
                return message.error();
            }
            page.push_back(std::move(*message));
        }
    }

    result<std::vector<Conversation>> conversations(const std::string& user) override {
        std::vector<Conversation> list;
        std::vector<std::int64_t> peer_ids;
        if (auto indexed = index_tail(); !indexed) {
            return indexed.error();
        }
        auto u = find_user(user);
        if (!u) {
            return u.error();
        }
        if (*u == nullptr) {
            return list;
        }
        const std::int64_t user_id = (*u)->id;
        {
            auto use = select_conversations_.use();
            select_conversations_.bind(1, user_id);
            for (;;) {
                auto row = select_conversations_.step();
                if (!row) {
                    return row.error();
                }
                if (!*row) {
                    break;
                }
                const std::int64_t peer_id = select_conversations_.int64(0);
                auto peer = user_by_id(peer_id);
                auto last = read_message(select_conversations_, 4);
                if (!peer || !last) {
                    return peer ? last.error() : peer.error();
                }
                Conversation c;
                c.peer = *(*peer)->name;
                c.read_up_to = select_conversations_.uint64(1);
                c.peer_read_up_to = select_conversations_.uint64(2);
                c.peer_delivered_up_to = select_conversations_.uint64(3);
                c.last = std::move(*last);
                list.push_back(std::move(c));
                peer_ids.push_back(peer_id);
            }
        }
        for (std::size_t i = 0; i < list.size(); ++i) {
            auto use = count_unread_.use();
            count_unread_.bind(1, std::min(user_id, peer_ids[i])).bind(2, std::max(user_id, peer_ids[i]));
            count_unread_.bind(3, list[i].read_up_to).bind(4, peer_ids[i]);
            auto row = count_unread_.step();
            if (!row) {
                return row.error();
            }
            list[i].unread = count_unread_.uint64(0);
        }
        return list;
    }

    result<std::vector<std::uint64_t>> record_receipts(std::span<const Receipt> receipts) override {
        if (receipts.empty()) {
            return std::vector<std::uint64_t>{};
        }
        return transact<std::vector<std::uint64_t>>([&] { return receipts_in_transaction(receipts); }, [] {});
    }

    result<std::size_t> prune(std::int64_t before_ms, std::size_t max_messages) override {
        if (max_messages == 0) {
            return std::size_t{0};
        }
        if (auto indexed = index_tail(); !indexed) {
            return indexed.error();
        }
        return transact<std::size_t>([&] { return prune_in_transaction(before_ms, max_messages); }, [] {});
    }

private:
    struct User {
        std::int64_t id = 0;
        const std::string* name = nullptr; // the key in users_by_name_
        std::uint64_t last_seq = 0;
        std::uint64_t pushed_seq = 0;
        bool pushed_dirty = false; // pushed_seq is ahead of the database
        // Undo state for a failed append(): last_seq before the batch with this epoch touched it.
        std::uint64_t batch_epoch = 0;
        std::uint64_t last_seq_before_batch = 0;
    };

    // Runs `body` between BEGIN IMMEDIATE and COMMIT, with any pending pushed_seqs. On failure
    // rolls back, calls `undo` to restore what body changed in memory, and returns the error.
    template <class T, class Body, class Undo> result<T> transact(Body&& body, Undo&& undo) {
        if (auto begun = run(begin_); !begun) {
            return {boost::system::in_place_error, begun.error()};
        }
        result<T> out = body();
        if (out) {
            if (auto written = write_pushed_seqs(); !written) {
                out = result<T>(boost::system::in_place_error, written.error());
            }
        }
        if (out) {
            if (auto committed = run(commit_); committed) {
                for (User* u : dirty_pushed_) {
                    u->pushed_dirty = false;
                }
                dirty_pushed_.clear();
                return out;
            } else {
                out = result<T>(boost::system::in_place_error, committed.error());
            }
        }
        // A failed COMMIT may already have rolled back; only roll back a transaction still open.
        if (sqlite3_get_autocommit(db_.get()) == 0) {
            (void)run(rollback_);
        }
        undo();
        return out;
    }

    static result<void> run(Statement& statement) {
        auto use = statement.use();
        return statement.run();
    }

    result<void> write_pushed_seqs() {
        for (User* u : dirty_pushed_) {
            auto use = update_pushed_seq_.use();
            update_pushed_seq_.bind(1, u->id).bind(2, u->pushed_seq);
            if (auto done = update_pushed_seq_.run(); !done) {
                return done;
            }
        }
        return {};
    }

    result<std::vector<AppendResult>> append_in_transaction(std::span<const NewMessage> batch,
                                                            std::int64_t now_ms, std::int64_t window_ms) {
        std::vector<AppendResult> results;
        results.reserve(batch.size());
        conversation_sides_.clear();
        for (const NewMessage& in : batch) {
            auto from_found = find_or_create_user(in.from);
            if (!from_found) {
                return from_found.error();
            }
            auto to_found = find_or_create_user(in.to);
            if (!to_found) {
                return to_found.error();
            }
            User* from = *from_found;
            User* to = *to_found;

            if (window_ms > 0 && !in.client_id.empty()) {
                auto earlier = find_duplicate(from->id, in.client_id, window_start(now_ms, window_ms));
                if (!earlier) {
                    return earlier.error();
                }
                if (*earlier) {
                    results.push_back({std::move(**earlier), true});
                    continue;
                }
            }

            touch(from);
            touch(to);
            StoredMessage m;
            m.msg_id = next_msg_id_++;
            m.ts_ms = now_ms;
            m.from = in.from;
            m.to = in.to;
            m.text = in.text;
            m.from_seq = ++from->last_seq;
            m.to_seq = from == to ? m.from_seq : ++to->last_seq;

            {
                auto use = insert_message_.use();
                insert_message_.bind(1, m.msg_id).bind(2, now_ms).bind(3, from->id).bind(4, to->id);
                insert_message_.bind(5, std::min(from->id, to->id)).bind(6, std::max(from->id, to->id));
                insert_message_.bind(7, m.from_seq).bind(8, m.to_seq);
                if (in.client_id.empty()) {
                    insert_message_.bind_null(9);
                } else {
                    insert_message_.bind(9, in.client_id);
                }
                insert_message_.bind(10, in.text);
                if (auto done = insert_message_.run(); !done) {
                    return done.error();
                }
            }
            // Inbox and index rows come later, for the whole tail at once (index_tail()).
            if (!in.client_id.empty()) {
                batch_client_ids_.insert_or_assign(ClientKey{from->id, in.client_id}, m.msg_id);
            }
            batch_conversations_.emplace_back(pair_key(from->id, to->id), m.msg_id);
            if (from != to) {
                conversation_sides_.emplace_back(to->id, from->id);
            }
            conversation_sides_.emplace_back(from->id, to->id);
            results.push_back({std::move(m), false});
        }

        // Each side's row once a batch, not once a message; it exists already unless this is
        // the pair's first message, and then the insert reads a page without dirtying it.
        std::sort(conversation_sides_.begin(), conversation_sides_.end());
        conversation_sides_.erase(std::unique(conversation_sides_.begin(), conversation_sides_.end()),
                                  conversation_sides_.end());
        for (const auto& [user, peer] : conversation_sides_) {
            auto use = insert_conversation_.use();
            insert_conversation_.bind(1, user).bind(2, peer);
            if (auto done = insert_conversation_.run(); !done) {
                return done.error();
            }
        }
        return results;
    }

    // Writes the inbox entries and index rows of every message past indexed_through_ in one
    // transaction, ending a pass in progress.
    result<void> index_tail() {
        if (next_msg_id_ - 1 <= indexed_through_) {
            return {};
        }
        pass_through_ = next_msg_id_ - 1;
        pass_bounds_.clear();
        pass_slice_ = 0;
        return index_slice();
    }

    // Makes the inbox rows of `user` complete before a read of its inbox (a login's resume).
    // A short tail is indexed whole, as for every other read. A long one, in the middle of a
    // pass, would make the read and every batch queued behind it wait for a transaction over
    // every index (ADR 013): only this user's inbox rows are written then, which costs a scan
    // of the tail. After `user_reads_per_pass` such reads in one pass the whole tail is indexed
    // once, so a reconnect storm does not scan it once per login.
    result<void> index_inbox_of(std::int64_t user) {
        const std::uint64_t last = next_msg_id_ - 1;
        if (last <= indexed_through_) {
            return {};
        }
        constexpr int user_reads_per_pass = 8;
        if (last - indexed_through_ <= options_.index_slice_messages || user_reads_ >= user_reads_per_pass) {
            return index_tail();
        }
        auto done = transact<bool>(
            [&]() -> result<bool> {
                if (auto ran = run_index(index_inbox_, last, user, user + 1); !ran) {
                    return result<bool>(boost::system::in_place_error, ran.error());
                }
                return true;
            },
            [] {});
        if (!done) {
            return done.error();
        }
        ++user_reads_;
        return {};
    }

    // Starts a pass over the `tail` messages past indexed_through_. Its slices cut the user ids
    // the tail names (from its conversations) into ranges of about equal counts, so a slice
    // touches about as many index pages as any other whichever ids are active; there are enough
    // of them for about `index_slice_messages` messages and 256 conversations each, at most
    // `index_max_slices`.
    void start_pass(std::uint64_t tail) {
        pass_through_ = next_msg_id_ - 1;
        pass_bounds_.clear();
        pass_slice_ = 0;
        std::vector<std::int64_t> users;
        users.reserve(tail_last_.size() * 2);
        for (const auto& [pair, msg_id] : tail_last_) {
            const auto [lo, hi] = pair_users(pair);
            users.push_back(lo);
            users.push_back(hi);
        }
        std::sort(users.begin(), users.end());
        users.erase(std::unique(users.begin(), users.end()), users.end());
        constexpr std::uint64_t conversations_per_slice = 256;
        const std::uint64_t slices = std::clamp<std::uint64_t>(
            std::max((tail + options_.index_slice_messages - 1) /
                         std::max<std::uint64_t>(options_.index_slice_messages, 1),
                     (tail_last_.size() + conversations_per_slice - 1) / conversations_per_slice),
            1, std::max<std::uint64_t>(options_.index_max_slices, 1));
        for (std::uint64_t i = 1; i < slices && i * users.size() / slices < users.size(); ++i) {
            const std::int64_t bound = users[i * users.size() / slices];
            if (pass_bounds_.empty() || bound > pass_bounds_.back()) {
                pass_bounds_.push_back(bound);
            }
        }
    }

    // Writes the next slice of the pass in progress in one transaction, each index's rows in key
    // order; the last slice also moves indexed_through_ to the pass's end.
    result<void> index_slice() {
        const bool last_slice = pass_slice_ == pass_bounds_.size();
        const std::int64_t from_user =
            pass_slice_ == 0 ? std::numeric_limits<std::int64_t>::min() : pass_bounds_[pass_slice_ - 1];
        const std::int64_t to_user =
            last_slice ? std::numeric_limits<std::int64_t>::max() : pass_bounds_[pass_slice_];
        const std::uint64_t through = pass_through_;
        auto done = transact<bool>(
            [&]() -> result<bool> {
                for (Statement* index : {&index_inbox_, &index_conversations_, &index_client_ids_}) {
                    if (auto ran = run_index(*index, through, from_user, to_user); !ran) {
                        return result<bool>(boost::system::in_place_error, ran.error());
                    }
                }
                if (last_slice) {
                    auto use = set_indexed_through_.use();
                    set_indexed_through_.bind(1, through);
                    if (auto ran = set_indexed_through_.run(); !ran) {
                        return result<bool>(boost::system::in_place_error, ran.error());
                    }
                }
                return true;
            },
            [] {});
        if (!done) {
            return done.error(); // the pass stays where it was; the next call retries the slice
        }
        if (!last_slice) {
            ++pass_slice_;
            return {};
        }
        pass_through_ = 0;
        indexed_through_ = through;
        user_reads_ = 0;
        if (through == next_msg_id_ - 1) {
            tail_client_ids_.clear();
            tail_last_.clear();
        } else {
            // What is indexed now is found through the indexes; the maps keep only the tail.
            const auto indexed = [through](const auto& entry) { return entry.second <= through; };
            boost::unordered::erase_if(tail_client_ids_, indexed);
            boost::unordered::erase_if(tail_last_, indexed);
            tail_started_ = std::chrono::steady_clock::now();
        }
        return {};
    }

    static std::uint64_t pair_key(std::int64_t a, std::int64_t b) {
        return (static_cast<std::uint64_t>(std::min(a, b)) << 32) ^
               static_cast<std::uint64_t>(std::max(a, b));
    }
    // The two user ids of a pair_key, exact for ids below 2^32 (beyond, only the pass's slice
    // bounds come out uneven: the first and last slices reach the lowest and highest ids anyway).
    static std::pair<std::int64_t, std::int64_t> pair_users(std::uint64_t key) {
        return {static_cast<std::int64_t>(key >> 32), static_cast<std::int64_t>(key & 0xffff'ffffU)};
    }

    // Binds an index statement's message range (indexed_through_, through] and user range
    // [from_user, to_user), and runs it.
    result<void> run_index(Statement& index, std::uint64_t through, std::int64_t from_user,
                           std::int64_t to_user) {
        auto use = index.use();
        index.bind(1, indexed_through_).bind(2, through).bind(3, from_user).bind(4, to_user);
        return index.run();
    }

    // The newest message `sender` stored with `client_id` at or after `oldest_ts`, if any; it may
    // be one inserted earlier in the current transaction, or one not indexed yet.
    result<std::optional<StoredMessage>> find_duplicate(std::int64_t sender, const std::string& client_id,
                                                        std::int64_t oldest_ts) {
        // Messages not indexed yet are newer than every indexed one: look at them first.
        const ClientKey key{sender, client_id};
        std::uint64_t newest = 0;
        if (const auto it = batch_client_ids_.find(key); it != batch_client_ids_.end()) {
            newest = it->second;
        } else if (const auto tail = tail_client_ids_.find(key); tail != tail_client_ids_.end()) {
            newest = tail->second;
        }
        if (newest != 0) {
            auto use = select_message_.use();
            select_message_.bind(1, newest);
            auto row = select_message_.step();
            if (!row) {
                return row.error();
            }
            if (*row && select_message_.int64(1) >= oldest_ts) {
                auto message = read_message(select_message_, 0);
                if (!message) {
                    return message.error();
                }
                return std::optional<StoredMessage>(std::move(*message));
            }
        }
        auto use = find_duplicate_.use();
        find_duplicate_.bind(1, sender).bind(2, client_id).bind(3, oldest_ts);
        auto row = find_duplicate_.step();
        if (!row) {
            return row.error();
        }
        if (!*row) {
            return std::optional<StoredMessage>();
        }
        auto message = read_message(find_duplicate_, 0);
        if (!message) {
            return message.error();
        }
        return std::optional<StoredMessage>(std::move(*message));
    }

    result<std::vector<std::uint64_t>> receipts_in_transaction(std::span<const Receipt> receipts) {
        std::vector<std::uint64_t> marks;
        marks.reserve(receipts.size());
        for (const Receipt& r : receipts) {
            auto both = find_both(r.user, r.peer);
            if (!both) {
                return both.error();
            }
            if (!*both) {
                marks.push_back(0);
                continue;
            }
            const std::int64_t user = (*both)->first->id;
            const std::int64_t peer = (*both)->second->id;
            auto use = select_marks_.use();
            select_marks_.bind(1, user)
                .bind(2, peer)
                .bind(3, std::min(user, peer))
                .bind(4, std::max(user, peer));
            auto row = select_marks_.step();
            if (!row) {
                return row.error();
            }
            std::uint64_t last = *row && !select_marks_.is_null(0) ? select_marks_.uint64(0) : 0;
            if (const auto tail = tail_last_.find(pair_key(user, peer)); tail != tail_last_.end()) {
                last = std::max(last, tail->second);
            }
            if (!*row || last == 0) {
                marks.push_back(0); // they never talked, or retention deleted it all
                continue;
            }
            const std::uint64_t up_to = std::min(r.up_to, last);
            const std::uint64_t read = select_marks_.uint64(1);
            const std::uint64_t delivered = select_marks_.uint64(2);
            const std::uint64_t new_read = r.kind == receipt_kind::read ? std::max(read, up_to) : read;
            const std::uint64_t new_delivered = std::max({delivered, new_read, up_to});
            if (new_read != read || new_delivered != delivered) {
                auto update = update_marks_.use();
                update_marks_.bind(1, user).bind(2, peer).bind(3, new_read).bind(4, new_delivered);
                if (auto done = update_marks_.run(); !done) {
                    return done.error();
                }
            }
            marks.push_back(r.kind == receipt_kind::read ? new_read : new_delivered);
        }
        return marks;
    }

    result<std::size_t> prune_in_transaction(std::int64_t before_ms, std::size_t max_messages) {
        struct Doomed {
            std::int64_t id, sender, recipient;
            std::uint64_t sender_seq, recipient_seq;
            std::int64_t lo, hi;
            std::optional<std::string> client_id;
        };
        std::vector<Doomed> doomed;
        {
            auto use = select_oldest_.use();
            select_oldest_.bind(1, as_limit(max_messages));
            for (;;) {
                auto row = select_oldest_.step();
                if (!row) {
                    return row.error();
                }
                if (!*row || select_oldest_.int64(1) >= before_ms) {
                    break;
                }
                doomed.push_back({select_oldest_.int64(0), select_oldest_.int64(2), select_oldest_.int64(3),
                                  select_oldest_.uint64(4), select_oldest_.uint64(5), select_oldest_.int64(6),
                                  select_oldest_.int64(7),
                                  select_oldest_.is_null(8)
                                      ? std::nullopt
                                      : std::optional<std::string>(std::string(select_oldest_.text(8)))});
            }
        }
        if (doomed.empty()) {
            return std::size_t{0};
        }

        // Record the counters' floors first: once a user's newest inbox entry or the newest
        // message is gone, the database alone no longer knows how far they went.
        {
            auto use = raise_msg_id_floor_.use();
            raise_msg_id_floor_.bind(1, next_msg_id_ - 1);
            if (auto done = raise_msg_id_floor_.run(); !done) {
                return done.error();
            }
        }
        std::vector<std::int64_t> users;
        std::vector<std::pair<std::int64_t, std::int64_t>> pairs;
        for (const Doomed& d : doomed) {
            users.push_back(d.sender);
            users.push_back(d.recipient);
            pairs.emplace_back(std::min(d.sender, d.recipient), std::max(d.sender, d.recipient));
        }
        std::sort(users.begin(), users.end());
        users.erase(std::unique(users.begin(), users.end()), users.end());
        std::sort(pairs.begin(), pairs.end());
        pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
        for (const std::int64_t user : users) {
            auto use = raise_seq_floor_.use();
            raise_seq_floor_.bind(1, user);
            if (auto done = raise_seq_floor_.run(); !done) {
                return done.error();
            }
        }

        for (const Doomed& d : doomed) {
            if (auto done = delete_inbox(d.sender, d.sender_seq); !done) {
                return done.error();
            }
            if (d.recipient != d.sender) {
                if (auto done = delete_inbox(d.recipient, d.recipient_seq); !done) {
                    return done.error();
                }
            }
            {
                auto use = delete_conversation_message_.use();
                delete_conversation_message_.bind(1, d.lo).bind(2, d.hi).bind(3, d.id);
                if (auto done = delete_conversation_message_.run(); !done) {
                    return done.error();
                }
            }
            if (d.client_id) {
                auto use = delete_client_id_.use();
                delete_client_id_.bind(1, d.sender).bind(2, *d.client_id).bind(3, d.id);
                if (auto done = delete_client_id_.run(); !done) {
                    return done.error();
                }
            }
            auto use = delete_message_.use();
            delete_message_.bind(1, d.id);
            if (auto done = delete_message_.run(); !done) {
                return done.error();
            }
        }

        for (const auto& [lo, hi] : pairs) {
            // A conversation whose messages are all gone loses its rows (and read marks), so
            // conversations() never lists it.
            bool emptied = false;
            {
                auto use = conversation_last_.use();
                conversation_last_.bind(1, lo).bind(2, hi);
                auto row = conversation_last_.step();
                if (!row) {
                    return row.error();
                }
                emptied = !*row || conversation_last_.is_null(0);
            }
            if (emptied) {
                auto use = delete_conversation_.use();
                delete_conversation_.bind(1, lo).bind(2, hi);
                if (auto done = delete_conversation_.run(); !done) {
                    return done.error();
                }
            }
        }
        return doomed.size();
    }

    result<void> delete_inbox(std::int64_t user, std::uint64_t seq) {
        auto use = delete_inbox_.use();
        delete_inbox_.bind(1, user).bind(2, seq);
        return delete_inbox_.run();
    }

    // Reads message_columns, starting at column `first`.
    result<StoredMessage> read_message(Statement& row, int first) {
        auto from = user_by_id(row.int64(first + 2));
        if (!from) {
            return from.error();
        }
        auto to = user_by_id(row.int64(first + 3));
        if (!to) {
            return to.error();
        }
        StoredMessage m;
        m.msg_id = row.uint64(first);
        m.ts_ms = row.int64(first + 1);
        m.from = *(*from)->name;
        m.to = *(*to)->name;
        m.text = std::string(row.text(first + 4));
        m.from_seq = row.uint64(first + 5);
        m.to_seq = row.uint64(first + 6);
        return m;
    }

    // --- the user cache: names <-> ids and each user's counters, loaded on first use ---

    // Remembers `last_seq` from before the current batch touched `u`, once per batch.
    void touch(User* u) {
        if (u->batch_epoch != batch_epoch_) {
            u->batch_epoch = batch_epoch_;
            u->last_seq_before_batch = u->last_seq;
            touched_.push_back(u);
        }
    }

    User* remember(std::string name, std::int64_t id, std::uint64_t pushed_seq, std::uint64_t last_seq) {
        auto [it, inserted] = users_by_name_.try_emplace(std::move(name));
        User& u = it->second;
        u.id = id;
        u.name = &it->first;
        u.pushed_seq = pushed_seq;
        u.last_seq = last_seq;
        users_by_id_[id] = &u;
        return &u;
    }

    void forget_user(std::int64_t id) {
        const auto it = users_by_id_.find(id);
        if (it != users_by_id_.end()) {
            const std::string name = *it->second->name;
            users_by_id_.erase(it);
            users_by_name_.erase(name);
        }
    }

    // The user called `name`, or nullptr if there is none; never creates one, so reads by
    // unknown names leave no trace.
    result<User*> find_user(const std::string& name) {
        if (const auto it = users_by_name_.find(name); it != users_by_name_.end()) {
            return &it->second;
        }
        auto use = user_by_name_.use();
        user_by_name_.bind(1, name);
        auto row = user_by_name_.step();
        if (!row) {
            return row.error();
        }
        if (!*row) {
            return nullptr;
        }
        return remember(name, user_by_name_.int64(0), user_by_name_.uint64(1), user_by_name_.uint64(2));
    }

    result<User*> user_by_id(std::int64_t id) {
        if (const auto it = users_by_id_.find(id); it != users_by_id_.end()) {
            return it->second;
        }
        auto use = user_by_id_.use();
        user_by_id_.bind(1, id);
        auto row = user_by_id_.step();
        if (!row) {
            return row.error();
        }
        if (!*row) {
            // A message names a user id with no row: the database is inconsistent.
            return make_sqlite_error(SQLITE_CORRUPT);
        }
        return remember(std::string(user_by_id_.text(0)), id, user_by_id_.uint64(1), user_by_id_.uint64(2));
    }

    // Inside append()'s transaction only: a new user is forgotten again if the batch rolls back.
    result<User*> find_or_create_user(const std::string& name) {
        auto found = find_user(name);
        if (!found || *found != nullptr) {
            return found;
        }
        auto use = insert_user_.use();
        insert_user_.bind(1, name);
        if (auto done = insert_user_.run(); !done) {
            return done.error();
        }
        const std::int64_t id = sqlite3_last_insert_rowid(db_.get());
        created_.push_back(id);
        return remember(name, id, 0, 0);
    }

    // Both users, or nothing if either has never been seen.
    result<std::optional<std::pair<User*, User*>>> find_both(const std::string& user,
                                                             const std::string& peer) {
        auto u = find_user(user);
        if (!u) {
            return u.error();
        }
        auto p = find_user(peer);
        if (!p) {
            return p.error();
        }
        if (*u == nullptr || *p == nullptr) {
            return std::optional<std::pair<User*, User*>>();
        }
        return std::optional<std::pair<User*, User*>>(std::in_place, *u, *p);
    }

    fs::path file_;
    DataDirLock lock_; // released last: the database is closed before another process may open it
    Connection db_;
    Statement begin_, commit_, rollback_;
    Statement user_by_name_, user_by_id_, insert_user_, update_pushed_seq_;
    Statement find_duplicate_, select_message_, insert_message_, insert_conversation_;
    Statement select_inbox_, select_history_, select_conversations_, count_unread_;
    Statement select_marks_, update_marks_;
    Statement select_oldest_, raise_seq_floor_, raise_msg_id_floor_, delete_inbox_, delete_message_;
    Statement delete_conversation_message_, delete_client_id_, conversation_last_, delete_conversation_;
    Statement index_inbox_, index_conversations_, index_client_ids_, set_indexed_through_;
    SqliteOptions options_;

    // The only writer's counters: the database holds no sequence of its own (see the schema).
    std::uint64_t next_msg_id_ = 1;
    std::unordered_map<std::string, User> users_by_name_; // nodes stay put, so User* are stable
    std::unordered_map<std::int64_t, User*> users_by_id_;
    std::vector<User*> dirty_pushed_;

    // The tail: messages committed with id > indexed_through_, whose inbox and index rows are not
    // written yet (ADR 008). What the hot path must still find in it is kept here: the newest
    // message per (sender, client id) and per conversation. Both are dropped once indexed.
    struct ClientKey {
        std::int64_t sender = 0;
        std::string client_id;
        bool operator==(const ClientKey&) const = default;
    };
    struct ClientKeyHash {
        std::size_t operator()(const ClientKey& k) const noexcept {
            return std::hash<std::string>{}(k.client_id) ^
                   (static_cast<std::size_t>(k.sender) * 0x9e3779b97f4a7c15ULL);
        }
    };
    std::uint64_t indexed_through_ = 0;
    // The pass in progress (maintain()): it indexes the messages up to pass_through_ (0: no pass),
    // slice by slice: slice i covers the user ids in [pass_bounds_[i-1], pass_bounds_[i]), the
    // first from the lowest, the last to the highest.
    std::uint64_t pass_through_ = 0;
    std::vector<std::int64_t> pass_bounds_;
    std::size_t pass_slice_ = 0;
    int user_reads_ = 0; // inbox reads that indexed only their user's rows since indexed_through_ moved
    std::chrono::steady_clock::time_point tail_started_; // when the oldest tail message committed
    // Open addressing (Boost's flat maps): one lookup per chat with an id, no node per entry.
    boost::unordered_flat_map<ClientKey, std::uint64_t, ClientKeyHash> tail_client_ids_;
    boost::unordered_flat_map<std::uint64_t, std::uint64_t> tail_last_; // pair_key -> newest msg_id
    // The same for the append() in progress, merged into the tail once it commits.
    boost::unordered_flat_map<ClientKey, std::uint64_t, ClientKeyHash> batch_client_ids_;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> batch_conversations_;

    // Scratch of the append() in progress, kept to reuse their memory.
    std::uint64_t batch_epoch_ = 0;
    std::vector<User*> touched_;
    std::vector<std::int64_t> created_;
    std::vector<std::pair<std::int64_t, std::int64_t>> conversation_sides_; // (user, peer)
};

} // namespace

std::unique_ptr<MessageStore> open_sqlite_store(const fs::path& data_dir, SqliteOptions options) {
    std::error_code ec;
    fs::create_directories(data_dir, ec);
    if (ec) {
        fail(startup_file(data_dir / sqlite_db_file), "cannot create the data directory: " + ec.message());
    }
    if (fs::exists(data_dir / journal::file_name)) {
        fail(startup_file(data_dir / sqlite_db_file),
             "the directory holds a journal message store (messages.journal); start with --store journal, "
             "or give the SQLite store a --data-dir of its own");
    }
    auto store = std::make_unique<SqliteStore>(data_dir, options);
    // parley.db and its -wal file may have just been created: make their directory entries
    // durable too, or a power cut could lose the file that holds the first acked commits. (The
    // WAL file then stays for as long as the store is open; checkpoints reuse it.)
    if (const boost::system::error_code error = sync_directory(data_dir)) {
        fail(startup_file(data_dir / sqlite_db_file), "cannot sync the data directory: " + error.message());
    }
    return store;
}

} // namespace parley::store
