// The SQLite store, schema version 3 (ADR 014). Opening: lock, check and migrate
// (sqlite_message_db.hpp), then prepare every statement once. After that this object is the
// database's only writer, which is what lets it keep the next msg_id, each user's next seq, the
// unindexed tail and the idempotency memory in memory; it must therefore never share parley.db
// with another connection. Failures at open throw (a startup error); failures afterwards are
// error_codes of sqlite_category.
#include "store/sqlite_store.hpp"

#include "store/client_id_memory.hpp"
#include "store/data_dir_lock.hpp"
#include "store/file_io.hpp"
#include "store/index_pass.hpp"
#include "store/journal_format.hpp"
#include "store/log_rows.hpp"
#include "store/name_hash.hpp"
#include "store/prefetch.hpp"
#include "store/sqlite_error.hpp"
#include "store/sqlite_message_db.hpp"
#include "store/sqlite_startup.hpp"
#include "store/sqlite_statement.hpp"

#include <sqlite3.h>

#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

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

// --- the store -----------------------------------------------------------------------------------

using log_rows::LoggedMessage;

// Fails a read with SQLITE_CORRUPT: a row's bytes do not decode.
boost::system::error_code damaged_row() {
    return make_sqlite_error(SQLITE_CORRUPT);
}

// Steps `statement` (bound, and reset by the caller's Use) through its rows, calling `on_row()`
// for each until it returns false; returns the first failed step's error.
template <class OnRow> result<void> each_row(Statement& statement, OnRow&& on_row) {
    for (;;) {
        auto row = statement.step();
        if (!row) {
            return row.error();
        }
        if (!*row || !on_row()) {
            return {};
        }
    }
}

// The same for rows whose first column is a run (or a batch) that `decode` reads into `out`:
// `on_run(out)` for each, until it returns false. A row that does not decode is SQLITE_CORRUPT.
template <class Item, class Decode, class OnRun>
result<void> each_run(Statement& statement, Decode&& decode, std::vector<Item>& out, OnRun&& on_run) {
    bool damaged = false;
    auto done = each_row(statement, [&] {
        out.clear();
        if (!decode(statement.blob(0), out)) {
            damaged = true;
            return false;
        }
        return on_run(out);
    });
    if (!done || !damaged) {
        return done;
    }
    return damaged_row();
}

// A user's row: `key` (its id or name), pushed_seq and last seq, the higher of seq_floor and the
// last seq of its newest inbox run (the tail's are added in memory).
std::string select_user(std::string_view key, std::string_view where) {
    std::string sql = "SELECT ";
    sql += key;
    sql += ", pushed_seq, max(seq_floor, coalesce((SELECT last_seq FROM inbox_runs WHERE user = users.id "
           "ORDER BY first_seq DESC LIMIT 1), 0)) FROM users WHERE ";
    sql += where;
    return sql;
}

std::uint64_t pair_key(std::int64_t a, std::int64_t b) {
    return (static_cast<std::uint64_t>(std::min(a, b)) << 32) ^ static_cast<std::uint64_t>(std::max(a, b));
}

class SqliteStore final : public MessageStore {
public:
    bool waits_on_io() const override { return true; }

    SqliteStore(const fs::path& data_dir, const SqliteOptions& options)
        : file_(data_dir / sqlite_db_file),
          lock_(data_dir / data_dir_lock_file, message_store_file(file_).label), db_(file_, options),
          begin_(db_.get(), "BEGIN IMMEDIATE"), commit_(db_.get(), "COMMIT"),
          rollback_(db_.get(), "ROLLBACK"), user_by_name_(db_.get(), select_user("id", "name = ?1")),
          user_by_id_(db_.get(), select_user("name", "id = ?1")),
          insert_user_(db_.get(), "INSERT INTO users (name) VALUES (?1)"),
          update_pushed_seq_(db_.get(), "UPDATE users SET pushed_seq = max(pushed_seq, ?2) WHERE id = ?1"),
          insert_batch_(db_.get(),
                        "INSERT INTO batches (first_id, last_id, last_ts, body) VALUES (?1, ?2, ?3, ?4)"),
          batch_holding_(db_.get(), "SELECT first_id, last_id, body FROM batches WHERE first_id <= ?1 "
                                    "ORDER BY first_id DESC LIMIT 1"),
          batches_after_(db_.get(), "SELECT body FROM batches WHERE first_id > ?1 ORDER BY first_id"),
          oldest_batch_(db_.get(), "SELECT first_id, body FROM batches ORDER BY first_id LIMIT 1"),
          delete_batch_(db_.get(), "DELETE FROM batches WHERE first_id = ?1"),
          insert_inbox_run_(
              db_.get(),
              "INSERT OR REPLACE INTO inbox_runs (user, first_seq, last_seq, last_msg_id, entries) "
              "VALUES (?1, ?2, ?3, ?4, ?5)"),
          select_inbox_runs_(db_.get(), "SELECT entries FROM inbox_runs WHERE user = ?1 AND last_seq > ?2 "
                                        "ORDER BY first_seq"),
          insert_conversation_run_(
              db_.get(), "INSERT OR REPLACE INTO conversation_runs (lo, hi, first_id, last_id, entries) "
                         "VALUES (?1, ?2, ?3, ?4, ?5)"),
          select_history_runs_(db_.get(), "SELECT entries FROM conversation_runs WHERE lo = ?1 AND hi = ?2 "
                                          "AND first_id < ?3 ORDER BY first_id DESC"),
          select_unread_runs_(db_.get(), "SELECT entries FROM conversation_runs WHERE lo = ?1 AND hi = ?2 "
                                         "AND last_id > ?3"),
          conversation_last_(db_.get(), "SELECT last_id FROM conversation_runs WHERE lo = ?1 AND hi = ?2 "
                                        "ORDER BY first_id DESC LIMIT 1"),
          insert_client_id_run_(db_.get(),
                                "INSERT OR REPLACE INTO client_id_runs (first_id, last_id, last_ts, entries) "
                                "VALUES (?1, ?2, ?3, ?4)"),
          select_client_id_runs_(db_.get(),
                                 "SELECT entries FROM client_id_runs WHERE last_ts >= ?1 ORDER BY first_id"),
          select_peers_(db_.get(), "SELECT peer FROM conversations WHERE user = ?1"),
          insert_conversation_(db_.get(), "INSERT INTO conversations (user, peer) VALUES (?1, ?2) "
                                          "ON CONFLICT (user, peer) DO NOTHING"),
          select_marks_(
              db_.get(),
              "SELECT read_up_to, delivered_up_to FROM conversations WHERE user = ?1 AND peer = ?2"),
          upsert_marks_(db_.get(),
                        "INSERT INTO conversations (user, peer, read_up_to, delivered_up_to) "
                        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (user, peer) DO UPDATE SET "
                        "read_up_to = excluded.read_up_to, delivered_up_to = excluded.delivered_up_to"),
          set_meta_(db_.get(), "UPDATE meta SET value = ?2 WHERE key = ?1"),
          raise_msg_id_floor_(db_.get(), "UPDATE meta SET value = max(value, ?1) WHERE key = 'msg_id_floor'"),
          raise_seq_floors_(
              db_.get(), "UPDATE users SET seq_floor = max(seq_floor, (SELECT max(last_seq) FROM inbox_runs "
                         "AS r WHERE r.user = users.id AND r.last_msg_id <= ?1)) "
                         "WHERE id IN (SELECT user FROM inbox_runs WHERE last_msg_id <= ?1)"),
          delete_inbox_runs_(db_.get(), "DELETE FROM inbox_runs WHERE last_msg_id <= ?1"),
          pruned_pairs_(db_.get(), "SELECT DISTINCT lo, hi FROM conversation_runs WHERE last_id <= ?1"),
          delete_conversation_runs_(db_.get(), "DELETE FROM conversation_runs WHERE last_id <= ?1"),
          delete_client_id_runs_(db_.get(), "DELETE FROM client_id_runs WHERE last_id <= ?1"),
          delete_conversation_(db_.get(), "DELETE FROM conversations "
                                          "WHERE (user = ?1 AND peer = ?2) OR (user = ?2 AND peer = ?1)"),
          options_(options) {
        import_version_2();
        next_msg_id_ = static_cast<std::uint64_t>(
                           query_int(db_.get(), message_store_file(file_),
                                     "SELECT max(coalesce((SELECT max(last_id) FROM batches), 0), "
                                     "(SELECT value FROM meta WHERE key = 'msg_id_floor'))",
                                     "cannot read the last msg_id")) +
                       1;
        indexed_through_ = static_cast<std::uint64_t>(query_int(
            db_.get(), message_store_file(file_), "SELECT value FROM meta WHERE key = 'indexed_through'",
            "cannot read how far the indexes go"));
        pruned_through_ = static_cast<std::uint64_t>(query_int(
            db_.get(), message_store_file(file_), "SELECT value FROM meta WHERE key = 'pruned_through'",
            "cannot read how far retention went"));
        // What the last run committed but did not index yet (it stopped, or was killed) is the
        // tail again, in memory, and its users' seqs count.
        if (auto loaded = load_tail(); !loaded) {
            fail(message_store_file(file_), "cannot read the newest messages: " + loaded.error().message());
        }
        // Runs past indexed_through: the last run stopped in the middle of a pass. Readers would
        // find those messages twice (in the runs and the tail), so the pass is finished now.
        const std::string through = std::to_string(indexed_through_);
        if (!tail_.empty() &&
            query_int(db_.get(), message_store_file(file_),
                      "SELECT EXISTS (SELECT 1 FROM inbox_runs WHERE last_msg_id > " + through +
                          ") OR EXISTS (SELECT 1 FROM conversation_runs WHERE last_id > " + through + ")",
                      "cannot read the runs") != 0) {
            if (auto indexed = index_tail(); !indexed) {
                fail(message_store_file(file_),
                     "cannot finish an interrupted pass: " + indexed.error().message());
            }
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
        if (idempotency_window_ms > 0) {
            if (auto loaded = remember_client_ids(now_ms, idempotency_window_ms); !loaded) {
                return loaded.error();
            }
        }
        const std::uint64_t next_msg_id_before = next_msg_id_;
        ++batch_epoch_;
        touched_.clear();
        created_.clear();
        pending_.clear();
        pending_tail_.clear();
        pending_client_ids_.clear();
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
                pending_.clear();
                pending_tail_.clear();
            });
        if (stored && !pending_.empty()) {
            // Committed: the batch joins the tail, which no run covers yet.
            if (tail_.empty()) {
                tail_started_ = std::chrono::steady_clock::now();
            }
            if (idempotency_window_ms > 0) {
                // The slots the duplicate checks loaded are long evicted in a large group commit.
                BlockPrefetch ahead(pending_tail_.size(), [&](std::size_t k) {
                    if (pending_tail_[k].client_id_fingerprint != 0) {
                        client_ids_.prefetch_to_remember(pending_tail_[k].client_id_fingerprint);
                    }
                });
                for (std::size_t i = 0; i < pending_tail_.size(); ++i) { // msg_id order, as the memory wants
                    ahead.before(i);
                    const TailEntry& m = pending_tail_[i];
                    if (m.client_id_fingerprint != 0) {
                        client_ids_.remember(m.client_id_fingerprint, m.msg_id);
                    }
                }
            }
            for (const TailEntry& m : pending_tail_) {
                tail_last_[pair_key(m.from, m.to)] = m.msg_id;
            }
            tail_.insert(tail_.end(), pending_tail_.begin(), pending_tail_.end());
            pending_.clear();
        }
        return stored;
    }

    result<void> maintain() override {
        // Index in passes (ADR 013, ADR 014): a pass writes a run per active user and pair for
        // the whole tail once it holds `index_pass_messages` or its oldest message waited a
        // second; the bigger the pass, the more entries per row. It is written in slices of
        // `index_slice_runs` runs, one transaction per call, so the batches queued meanwhile
        // wait for a slice only. Readers find the tail in memory, so nothing waits for a pass.
        if (!pass_) {
            if (tail_.empty() ||
                (tail_.size() < options_.index_pass_messages &&
                 std::chrono::steady_clock::now() - tail_started_ < std::chrono::seconds(1))) {
                return {};
            }
            start_pass();
        }
        return write_slice(std::max<std::size_t>(options_.index_slice_runs, 1));
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
        const std::int64_t id = (*u)->id;
        std::vector<log_rows::InboxEntryRef> refs;
        {
            auto use = select_inbox_runs_.use();
            select_inbox_runs_.bind(1, id).bind(2, since_seq);
            std::vector<log_rows::InboxEntryRef> run;
            auto read =
                each_run(select_inbox_runs_, log_rows::decode_inbox_run, run, [&](const auto& in_run) {
                    for (const auto& e : in_run) {
                        if (e.seq > since_seq && e.msg_id > pruned_through_ && refs.size() < limit) {
                            refs.push_back(e);
                        }
                    }
                    return refs.size() < limit;
                });
            if (!read) {
                return read.error();
            }
        }
        for (const TailEntry& m : tail_) {
            if (refs.size() >= limit) {
                break;
            }
            const std::uint64_t seq = m.from == id ? m.from_seq : m.to == id ? m.to_seq : 0;
            if (seq > since_seq && !in_written_inbox_run(m, id)) {
                refs.push_back({seq, m.msg_id});
            }
        }
        BatchReader batches(*this);
        entries.reserve(refs.size());
        for (const auto& ref : refs) {
            auto message = batches.read(ref.msg_id);
            if (!message) {
                return message.error();
            }
            entries.push_back({ref.seq, std::move(*message)});
        }
        return entries;
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
        auto both = find_both(user, peer);
        if (!both) {
            return both.error();
        }
        if (!*both || limit == 0) {
            return page;
        }
        const std::int64_t lo = std::min((*both)->first->id, (*both)->second->id);
        const std::int64_t hi = std::max((*both)->first->id, (*both)->second->id);
        const std::uint64_t bound = before == 0 ? std::numeric_limits<std::uint64_t>::max() : before;
        std::vector<std::uint64_t> ids;
        for (auto m = tail_.rbegin(); m != tail_.rend() && ids.size() < limit; ++m) {
            if (m->msg_id < bound && std::min(m->from, m->to) == lo && std::max(m->from, m->to) == hi &&
                !in_written_conversation_run(*m)) {
                ids.push_back(m->msg_id);
            }
        }
        if (ids.size() < limit) {
            auto use = select_history_runs_.use();
            select_history_runs_.bind(1, lo).bind(2, hi).bind(3, std::min(bound, max_id));
            std::vector<log_rows::ConversationEntryRef> run;
            auto read = each_run(
                select_history_runs_, log_rows::decode_conversation_run, run, [&](const auto& entries) {
                    for (auto e = entries.rbegin(); e != entries.rend() && ids.size() < limit; ++e) {
                        if (e->msg_id < bound && e->msg_id > pruned_through_) {
                            ids.push_back(e->msg_id);
                        }
                    }
                    return ids.size() < limit;
                });
            if (!read) {
                return read.error();
            }
        }
        BatchReader batches(*this);
        page.reserve(ids.size());
        for (const std::uint64_t id : ids) {
            auto message = batches.read(id);
            if (!message) {
                return message.error();
            }
            page.push_back(std::move(*message));
        }
        return page;
    }

    result<std::vector<Conversation>> conversations(const std::string& user) override {
        std::vector<Conversation> list;
        auto u = find_user(user);
        if (!u) {
            return u.error();
        }
        if (*u == nullptr) {
            return list;
        }
        const std::int64_t id = (*u)->id;
        // Every peer: those with runs (a conversations row), and those only the tail names.
        std::vector<std::int64_t> peers;
        {
            auto use = select_peers_.use();
            select_peers_.bind(1, id);
            auto read = each_row(select_peers_, [&] {
                peers.push_back(select_peers_.int64(0));
                return true;
            });
            if (!read) {
                return read.error();
            }
        }
        for (const TailEntry& m : tail_) {
            if (m.from == id) {
                peers.push_back(m.to);
            } else if (m.to == id) {
                peers.push_back(m.from);
            }
        }
        std::sort(peers.begin(), peers.end());
        peers.erase(std::unique(peers.begin(), peers.end()), peers.end());

        BatchReader batches(*this);
        for (const std::int64_t peer_id : peers) {
            auto last = conversation_last(id, peer_id);
            if (!last) {
                return last.error();
            }
            if (*last == 0) {
                continue; // retention deleted all of it
            }
            auto mine = marks(id, peer_id);
            auto theirs = marks(peer_id, id);
            if (!mine || !theirs) {
                return mine ? theirs.error() : mine.error();
            }
            auto unread = count_unread(id, peer_id, mine->first);
            if (!unread) {
                return unread.error();
            }
            auto message = batches.read(*last);
            if (!message) {
                return message.error();
            }
            auto peer = user_by_id(peer_id);
            if (!peer) {
                return peer.error();
            }
            Conversation c;
            c.peer = *(*peer)->name;
            c.last = std::move(*message);
            c.unread = *unread;
            c.read_up_to = mine->first;
            c.peer_read_up_to = theirs->first;
            c.peer_delivered_up_to = theirs->second;
            list.push_back(std::move(c));
        }
        std::sort(list.begin(), list.end(),
                  [](const Conversation& a, const Conversation& b) { return a.last.msg_id > b.last.msg_id; });
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
        // Prune deletes from the oldest batch on; with the tail written as runs first, every
        // message it deletes is found through runs, which is where it deletes them.
        if (auto indexed = index_tail(); !indexed) {
            return indexed.error();
        }
        const std::uint64_t pruned_before = pruned_through_;
        return transact<std::size_t>([&] { return prune_in_transaction(before_ms, max_messages); },
                                     [&] { pruned_through_ = pruned_before; });
    }

private:
    static constexpr std::uint64_t max_id =
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

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

    // Reads messages by msg_id for one call: from the batch being appended or the batches
    // table, keeping the last batch row it read, because ids asked for together often share one.
    class BatchReader {
    public:
        explicit BatchReader(SqliteStore& store) : store_(store) {}

        result<StoredMessage> read(std::uint64_t msg_id) {
            auto found = logged(msg_id);
            if (!found) {
                return found.error();
            }
            if (!*found) {
                return damaged_row(); // a run or the tail names a message no batch holds
            }
            return store_.to_stored(**found);
        }

        // The message, or nullopt if no batch holds it (pruned, or never stored).
        result<std::optional<LoggedMessage>> logged(std::uint64_t msg_id) {
            // The batch being appended is not in the table until the end of its transaction.
            const std::vector<LoggedMessage>& pending = store_.pending_;
            if (!pending.empty() && msg_id >= pending.front().msg_id) {
                const std::uint64_t at = msg_id - pending.front().msg_id; // its ids have no gap
                if (at < pending.size()) {
                    return std::optional<LoggedMessage>(pending[at]);
                }
                return std::optional<LoggedMessage>();
            }
            if (msg_id <= store_.pruned_through_) {
                return std::optional<LoggedMessage>();
            }
            if (!(msg_id >= first_ && msg_id <= last_)) {
                Statement& select = store_.batch_holding_;
                auto use = select.use();
                select.bind(1, std::min(msg_id, max_id));
                auto row = select.step();
                if (!row) {
                    return row.error();
                }
                if (!*row) {
                    return std::optional<LoggedMessage>();
                }
                first_ = select.uint64(0);
                last_ = select.uint64(1);
                body_.assign(select.blob(2));
            }
            bool damaged = false;
            auto found = log_rows::find_in_batch(body_, msg_id, damaged);
            if (damaged) {
                return damaged_row();
            }
            return found;
        }

    private:
        SqliteStore& store_;
        std::uint64_t first_ = 1; // the batch in body_: ids first_..last_ (none yet)
        std::uint64_t last_ = 0;
        std::string body_;
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
        // First the batch's users and fingerprints; then the duplicate checks, a block of slots
        // prefetched ahead (store/prefetch.hpp). Not the whole batch at once: a group commit can
        // hold thousands, whose lines would be evicted before they are read.
        prepared_.clear();
        for (const NewMessage& in : batch) {
            auto from_found = find_or_create_user(in.from);
            if (!from_found) {
                return from_found.error();
            }
            auto to_found = find_or_create_user(in.to);
            if (!to_found) {
                return to_found.error();
            }
            // Computed once: the duplicate check, the tail and the pass's client-id run use it.
            const std::uint64_t fingerprint =
                in.client_id.empty() ? 0 : log_rows::client_id_fingerprint((*from_found)->id, in.client_id);
            prepared_.push_back({*from_found, *to_found, fingerprint}); // User* stay put (users_by_name_)
        }
        BlockPrefetch ahead(window_ms > 0 ? batch.size() : 0, [&](std::size_t k) {
            if (prepared_[k].fingerprint != 0) {
                client_ids_.prefetch(prepared_[k].fingerprint);
            }
        });
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const NewMessage& in = batch[i];
            const auto [from, to, fingerprint] = prepared_[i];
            ahead.before(i);
            if (window_ms > 0 && fingerprint != 0) {
                auto earlier =
                    find_duplicate(from->id, in.client_id, fingerprint, window_start(now_ms, window_ms));
                if (!earlier) {
                    return earlier.error();
                }
                if (*earlier) {
                    results.push_back(**earlier);
                    continue;
                }
            }

            touch(from);
            touch(to);
            LoggedMessage m;
            m.msg_id = next_msg_id_++;
            m.ts_ms = now_ms;
            m.from = from->id;
            m.to = to->id;
            m.from_seq = ++from->last_seq;
            m.to_seq = from == to ? m.from_seq : ++to->last_seq;
            m.client_id = in.client_id;
            m.text = in.text;
            if (window_ms > 0 && fingerprint != 0) {
                pending_client_ids_.insert_or_assign(fingerprint, m.msg_id);
            }
            results.push_back({m.msg_id, now_ms, m.from_seq, m.to_seq, false});
            pending_tail_.push_back(tail_entry(m, fingerprint));
            pending_.push_back(std::move(m));
        }
        if (!pending_.empty()) {
            if (auto written = insert_batch(pending_); !written) {
                return written.error();
            }
        }
        return results;
    }

    // The batch row of `messages` (in msg_id order).
    result<void> insert_batch(std::span<const LoggedMessage> messages) {
        std::int64_t last_ts = std::numeric_limits<std::int64_t>::min();
        for (const LoggedMessage& m : messages) {
            last_ts = std::max(last_ts, m.ts_ms);
        }
        const std::string body = log_rows::encode_batch(messages);
        auto use = insert_batch_.use();
        insert_batch_.bind(1, messages.front().msg_id).bind(2, messages.back().msg_id).bind(3, last_ts);
        insert_batch_.bind_blob(4, body);
        return insert_batch_.run();
    }

    // The newest message `sender` stored with `client_id` at or after `oldest_ts`, if any: the
    // fingerprint names a candidate (in this batch, or remembered), the message itself confirms it.
    result<std::optional<AppendResult>> find_duplicate(std::int64_t sender, std::string_view client_id,
                                                       std::uint64_t fingerprint, std::int64_t oldest_ts) {
        BatchReader batches(*this);
        boost::system::error_code failed;
        std::optional<AppendResult> found;
        // True once `candidate` is the one, or reading it failed (the search stops either way).
        const auto confirm = [&](std::uint64_t candidate) {
            auto logged = batches.logged(candidate);
            if (!logged) {
                failed = logged.error();
                return true;
            }
            const std::optional<LoggedMessage>& m = *logged;
            if (!m || m->from != sender || m->client_id != client_id || m->ts_ms < oldest_ts) {
                return false;
            }
            found = AppendResult{m->msg_id, m->ts_ms, m->from_seq, m->to_seq, true};
            return true;
        };
        if (const auto in_batch = pending_client_ids_.find(fingerprint);
            in_batch != pending_client_ids_.end()) {
            confirm(in_batch->second);
        } else {
            client_ids_.find(fingerprint, confirm);
        }
        if (failed) {
            return failed;
        }
        return found;
    }

    // Fills the idempotency check's memory once, at the first append that checks: the client-id
    // runs whose newest message is within the window, and the tail. Then ages it.
    result<void> remember_client_ids(std::int64_t now_ms, std::int64_t window_ms) {
        if (!client_ids_.loaded()) {
            auto use = select_client_id_runs_.use();
            select_client_id_runs_.bind(1, window_start(now_ms, window_ms));
            std::vector<log_rows::ClientIdRef> run;
            auto read = each_run(select_client_id_runs_, log_rows::decode_client_id_run, run,
                                 [&](const auto& entries) {
                                     for (const auto& e : entries) {
                                         client_ids_.remember(e.fingerprint, e.msg_id);
                                     }
                                     return true;
                                 });
            if (!read) {
                return read;
            }
            for (const TailEntry& m : tail_) {
                if (m.client_id_fingerprint != 0) {
                    client_ids_.remember(m.client_id_fingerprint, m.msg_id);
                }
            }
            client_ids_.mark_loaded(now_ms);
        }
        client_ids_.age(now_ms, window_ms);
        return {};
    }

    // Reads the batches past indexed_through_ back into the tail (at open).
    result<void> load_tail() {
        std::vector<LoggedMessage> batch;
        {
            auto use = batches_after_.use();
            batches_after_.bind(1, indexed_through_);
            auto read = each_run(batches_after_, log_rows::decode_batch, batch, [&](const auto& messages) {
                for (const LoggedMessage& m : messages) {
                    tail_.push_back(tail_entry(m));
                }
                return true;
            });
            if (!read) {
                return read;
            }
        }
        for (const TailEntry& m : tail_) {
            auto from = user_by_id(m.from);
            auto to = user_by_id(m.to);
            if (!from || !to) {
                return from ? to.error() : from.error();
            }
            (*from)->last_seq = std::max((*from)->last_seq, m.from_seq);
            (*to)->last_seq = std::max((*to)->last_seq, m.to_seq);
            tail_last_[pair_key(m.from, m.to)] = m.msg_id;
        }
        tail_started_ = std::chrono::steady_clock::now();
        return {};
    }

    // Writes runs for the whole tail now, finishing the pass in progress first: before prune,
    // and at open after a crash in the middle of a pass.
    result<void> index_tail() {
        while (pass_ || !tail_.empty()) {
            if (!pass_) {
                start_pass();
            }
            if (auto written = write_slice(std::numeric_limits<std::size_t>::max()); !written) {
                return written; // the pass stays where it was; the next call retries
            }
        }
        return {};
    }

    // Starts a pass over the whole tail.
    void start_pass() { pass_.emplace(tail_); }

    // Writes the pass's next slice in one transaction: whole runs, inbox runs first, until
    // `max_runs`; the last slice also writes the client-id run and moves indexed_through.
    result<void> write_slice(std::size_t max_runs) {
        IndexPass::Cursor at = pass_->committed();
        std::vector<std::uint64_t> new_pairs;
        auto done = transact<bool>(
            [&]() -> result<bool> {
                if (auto written = write_runs(max_runs, at, new_pairs); !written) {
                    return result<bool>(boost::system::in_place_error, written.error());
                }
                return true;
            },
            [] {});
        if (!done) {
            return done.error(); // the pass stays where it was; the next call retries the slice
        }
        pass_->commit(at);
        known_pairs_.insert(new_pairs.begin(), new_pairs.end());
        if (pass_->finished(at)) {
            finish_pass();
        }
        return {};
    }

    // The rows of a slice of pass_, inside the caller's transaction: runs from `at` on (moved past
    // what it wrote), each conversation run with the pair's conversations rows if they may be
    // missing (their keys go to `new_pairs`), and at the end of the pass the client-id run and
    // indexed_through. OR REPLACE: a run written before a crash in the middle of a pass is written
    // again, whole, by the pass at the next open.
    result<void> write_runs(std::size_t max_runs, IndexPass::Cursor& at,
                            std::vector<std::uint64_t>& new_pairs) {
        std::size_t runs = 0;
        std::int64_t user = 0;
        std::vector<log_rows::InboxEntryRef> entries;
        while (runs < max_runs && pass_->take_inbox_run(at, user, entries)) {
            // A user's msg_ids increase with its seqs: the last entry holds the highest.
            const std::uint64_t last_msg_id = entries.back().msg_id;
            const std::string blob = log_rows::encode_inbox_run(entries);
            auto use = insert_inbox_run_.use();
            insert_inbox_run_.bind(1, user).bind(2, entries.front().seq).bind(3, entries.back().seq);
            insert_inbox_run_.bind(4, last_msg_id).bind_blob(5, blob);
            if (auto done = insert_inbox_run_.run(); !done) {
                return done;
            }
            ++runs;
        }

        std::int64_t lo = 0;
        std::int64_t hi = 0;
        std::vector<log_rows::ConversationEntryRef> messages;
        while (runs < max_runs && pass_->take_conversation_run(at, lo, hi, messages)) {
            {
                const std::string blob = log_rows::encode_conversation_run(messages);
                auto use = insert_conversation_run_.use();
                insert_conversation_run_.bind(1, lo).bind(2, hi).bind(3, messages.front().msg_id);
                insert_conversation_run_.bind(4, messages.back().msg_id).bind_blob(5, blob);
                if (auto done = insert_conversation_run_.run(); !done) {
                    return done;
                }
            }
            ++runs;
            if (known_pairs_.contains(pair_key(lo, hi))) {
                continue;
            }
            for (const auto& [side, peer] : {std::pair{lo, hi}, std::pair{hi, lo}}) {
                auto use = insert_conversation_.use();
                insert_conversation_.bind(1, side).bind(2, peer);
                if (auto done = insert_conversation_.run(); !done) {
                    return done;
                }
                if (lo == hi) {
                    break;
                }
            }
            new_pairs.push_back(pair_key(lo, hi));
        }

        if (!pass_->finished(at)) {
            return {};
        }
        std::vector<log_rows::ClientIdRef> client_ids;
        std::int64_t last_ts = std::numeric_limits<std::int64_t>::min();
        for (std::size_t i = 0; i < pass_->tail_count(); ++i) {
            const TailEntry& m = tail_[i];
            if (m.client_id_fingerprint != 0) {
                client_ids.push_back({m.msg_id, m.client_id_fingerprint});
            }
            last_ts = std::max(last_ts, m.ts_ms);
        }
        if (!client_ids.empty()) {
            const std::string blob = log_rows::encode_client_id_run(client_ids);
            auto use = insert_client_id_run_.use();
            insert_client_id_run_.bind(1, tail_.front().msg_id).bind(2, pass_->through());
            insert_client_id_run_.bind(3, last_ts).bind_blob(4, blob);
            if (auto done = insert_client_id_run_.run(); !done) {
                return done;
            }
        }
        return set_meta("indexed_through", pass_->through());
    }

    // After the pass's last slice committed: what it covered is found through runs from now on.
    void finish_pass() {
        indexed_through_ = pass_->through();
        tail_.erase(tail_.begin(), tail_.begin() + static_cast<std::ptrdiff_t>(pass_->tail_count()));
        pass_.reset();
        tail_last_.clear();
        for (const TailEntry& m : tail_) {
            tail_last_[pair_key(m.from, m.to)] = m.msg_id;
        }
        if (!tail_.empty()) {
            tail_started_ = std::chrono::steady_clock::now();
        }
    }

    // True if a committed slice of the pass in progress holds tail message `m` in the inbox of
    // `user` (in_written_inbox_run) or in its conversation run: readers skip it in the tail.
    bool in_written_inbox_run(const TailEntry& m, std::int64_t user) const {
        return pass_ && pass_->holds_inbox_entry(m, user);
    }
    bool in_written_conversation_run(const TailEntry& m) const {
        return pass_ && pass_->holds_conversation_entry(m);
    }

    result<void> set_meta(std::string_view key, std::uint64_t value) {
        auto use = set_meta_.use();
        set_meta_.bind(1, key).bind(2, value);
        return set_meta_.run();
    }

    // Moves a version 2 database's messages into batches and runs and drops its tables, in one
    // transaction (at open; see sqlite_schema.cpp). Ids, timestamps, seqs and client ids are kept.
    void import_version_2() {
        const StartupFile file = message_store_file(file_);
        if (query_int(db_.get(), file,
                      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'messages'",
                      "cannot read the schema") == 0) {
            return;
        }
        const std::string what = "moving the messages to the version 3 layout";
        exec(db_.get(), file, "BEGIN IMMEDIATE", what);
        try {
            {
                Statement legacy(db_.get(), "SELECT id, ts, sender, recipient, sender_seq, recipient_seq, "
                                            "coalesce(client_id, ''), body FROM messages ORDER BY id");
                constexpr std::size_t batch_size = 256;
                std::vector<LoggedMessage> batch;
                // A whole pass over the tail inside this transaction.
                auto write_pass = [&] {
                    start_pass();
                    IndexPass::Cursor at;
                    std::vector<std::uint64_t> new_pairs;
                    if (auto done = write_runs(std::numeric_limits<std::size_t>::max(), at, new_pairs);
                        !done) {
                        fail(file, what + ": " + done.error().message());
                    }
                    finish_pass();
                };
                auto flush = [&] {
                    if (batch.empty()) {
                        return;
                    }
                    if (auto done = insert_batch(batch); !done) {
                        fail(file, what + ": " + done.error().message());
                    }
                    for (const LoggedMessage& m : batch) {
                        tail_.push_back(tail_entry(m));
                    }
                    batch.clear();
                    if (tail_.size() >= options_.index_pass_messages) {
                        write_pass();
                    }
                };
                auto use = legacy.use();
                for (;;) {
                    auto row = legacy.step();
                    if (!row) {
                        fail(file, what + ": " + row.error().message());
                    }
                    if (!*row) {
                        break;
                    }
                    LoggedMessage m;
                    m.msg_id = legacy.uint64(0);
                    m.ts_ms = legacy.int64(1);
                    m.from = legacy.int64(2);
                    m.to = legacy.int64(3);
                    m.from_seq = legacy.uint64(4);
                    m.to_seq = legacy.uint64(5);
                    m.client_id = std::string(legacy.text(6));
                    m.text = std::string(legacy.text(7));
                    batch.push_back(std::move(m));
                    if (batch.size() == batch_size) {
                        flush();
                    }
                }
                flush();
                if (!tail_.empty()) {
                    write_pass();
                }
            }
            exec(db_.get(), file,
                 "DROP TABLE inbox; DROP TABLE conversation_messages; DROP TABLE client_ids; DROP TABLE "
                 "messages",
                 what);
            exec(db_.get(), file, "COMMIT", what);
        } catch (...) {
            sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
            throw; // the store is not constructed: its members go with it
        }
        tail_.clear();
        tail_last_.clear();
    }

    // The newest msg_id of the conversation of a and b, 0 if it has none.
    result<std::uint64_t> conversation_last(std::int64_t a, std::int64_t b) {
        if (const auto tail = tail_last_.find(pair_key(a, b)); tail != tail_last_.end()) {
            return tail->second;
        }
        auto use = conversation_last_.use();
        conversation_last_.bind(1, std::min(a, b)).bind(2, std::max(a, b));
        auto row = conversation_last_.step();
        if (!row) {
            return row.error();
        }
        return *row ? conversation_last_.uint64(0) : std::uint64_t{0};
    }

    // (read_up_to, delivered_up_to) of `user` in the conversation with `peer`.
    result<std::pair<std::uint64_t, std::uint64_t>> marks(std::int64_t user, std::int64_t peer) {
        auto use = select_marks_.use();
        select_marks_.bind(1, user).bind(2, peer);
        auto row = select_marks_.step();
        if (!row) {
            return row.error();
        }
        if (!*row) {
            return std::pair<std::uint64_t, std::uint64_t>{0, 0};
        }
        return std::pair{select_marks_.uint64(0), select_marks_.uint64(1)};
    }

    // Messages from `peer` to `user` (for a chat with oneself: all of it) above `read_up_to`.
    result<std::uint64_t> count_unread(std::int64_t user, std::int64_t peer, std::uint64_t read_up_to) {
        const std::int64_t lo = std::min(user, peer);
        const std::int64_t hi = std::max(user, peer);
        const std::uint64_t above = std::max(read_up_to, pruned_through_);
        std::uint64_t unread = 0;
        for (const TailEntry& m : tail_) {
            if (m.from == peer && m.to == user && m.msg_id > above && !in_written_conversation_run(m)) {
                ++unread;
            }
        }
        auto use = select_unread_runs_.use();
        select_unread_runs_.bind(1, lo).bind(2, hi).bind(3, std::min(above, max_id));
        std::vector<log_rows::ConversationEntryRef> run;
        auto read =
            each_run(select_unread_runs_, log_rows::decode_conversation_run, run, [&](const auto& entries) {
                for (const auto& e : entries) {
                    if (e.msg_id > above && (lo == hi || e.from_lo == (peer == lo))) {
                        ++unread;
                    }
                }
                return true;
            });
        if (!read) {
            return read.error();
        }
        return unread;
    }

    result<std::vector<std::uint64_t>> receipts_in_transaction(std::span<const Receipt> receipts) {
        std::vector<std::uint64_t> out;
        out.reserve(receipts.size());
        for (const Receipt& r : receipts) {
            auto both = find_both(r.user, r.peer);
            if (!both) {
                return both.error();
            }
            if (!*both) {
                out.push_back(0);
                continue;
            }
            const std::int64_t user = (*both)->first->id;
            const std::int64_t peer = (*both)->second->id;
            auto last = conversation_last(user, peer);
            if (!last) {
                return last.error();
            }
            if (*last == 0) {
                out.push_back(0); // they never talked, or retention deleted it all
                continue;
            }
            auto current = marks(user, peer);
            if (!current) {
                return current.error();
            }
            const auto [read, delivered] = *current;
            const std::uint64_t up_to = std::min(r.up_to, *last);
            const std::uint64_t new_read = r.kind == receipt_kind::read ? std::max(read, up_to) : read;
            const std::uint64_t new_delivered = std::max({delivered, new_read, up_to});
            if (new_read != read || new_delivered != delivered) {
                auto use = upsert_marks_.use();
                upsert_marks_.bind(1, user).bind(2, peer).bind(3, new_read).bind(4, new_delivered);
                if (auto done = upsert_marks_.run(); !done) {
                    return done.error();
                }
            }
            out.push_back(r.kind == receipt_kind::read ? new_read : new_delivered);
        }
        return out;
    }

    // Deletes from the oldest batch on (a batch cut in the middle is written again with what
    // stays), then every run that names only deleted messages; runs that name some are read
    // past pruned_through.
    result<std::size_t> prune_in_transaction(std::int64_t before_ms, std::size_t max_messages) {
        std::size_t deleted = 0;
        std::uint64_t last_deleted = 0;
        std::vector<LoggedMessage> messages;
        while (deleted < max_messages) {
            std::uint64_t first_id = 0;
            messages.clear();
            {
                auto use = oldest_batch_.use();
                auto row = oldest_batch_.step();
                if (!row) {
                    return row.error();
                }
                if (!*row) {
                    break;
                }
                first_id = oldest_batch_.uint64(0);
                if (!log_rows::decode_batch(oldest_batch_.blob(1), messages) || messages.empty()) {
                    return damaged_row();
                }
            }
            std::size_t doomed = 0;
            while (doomed < messages.size() && deleted + doomed < max_messages &&
                   messages[doomed].ts_ms < before_ms) {
                ++doomed;
            }
            if (doomed == 0) {
                break;
            }
            {
                auto use = delete_batch_.use();
                delete_batch_.bind(1, first_id);
                if (auto done = delete_batch_.run(); !done) {
                    return done.error();
                }
            }
            if (doomed < messages.size()) {
                if (auto done = insert_batch(std::span(messages).subspan(doomed)); !done) {
                    return done.error();
                }
            }
            deleted += doomed;
            last_deleted = messages[doomed - 1].msg_id;
            if (doomed < messages.size()) {
                break;
            }
        }
        if (deleted == 0) {
            return std::size_t{0};
        }

        // Record the counters' floors first: once a user's newest run or the newest batch is
        // gone, the database alone no longer knows how far they went.
        for (Statement* floor : {&raise_msg_id_floor_, &raise_seq_floors_}) {
            auto use = floor->use();
            floor->bind(1, floor == &raise_msg_id_floor_ ? next_msg_id_ - 1 : last_deleted);
            if (auto done = floor->run(); !done) {
                return done.error();
            }
        }
        std::vector<std::pair<std::int64_t, std::int64_t>> pairs;
        {
            auto use = pruned_pairs_.use();
            pruned_pairs_.bind(1, last_deleted);
            auto read = each_row(pruned_pairs_, [&] {
                pairs.emplace_back(pruned_pairs_.int64(0), pruned_pairs_.int64(1));
                return true;
            });
            if (!read) {
                return read.error();
            }
        }
        for (Statement* runs : {&delete_inbox_runs_, &delete_conversation_runs_, &delete_client_id_runs_}) {
            auto use = runs->use();
            runs->bind(1, last_deleted);
            if (auto done = runs->run(); !done) {
                return done.error();
            }
        }
        if (auto done = set_meta("pruned_through", last_deleted); !done) {
            return done.error();
        }
        pruned_through_ = last_deleted;
        for (const auto& [lo, hi] : pairs) {
            // A conversation whose messages are all gone loses its rows (and read marks), so
            // conversations() never lists it.
            auto last = conversation_last(lo, hi);
            if (!last) {
                return last.error();
            }
            if (*last == 0) {
                known_pairs_.erase(pair_key(lo, hi)); // a later message needs the rows again
                auto use = delete_conversation_.use();
                delete_conversation_.bind(1, lo).bind(2, hi);
                if (auto done = delete_conversation_.run(); !done) {
                    return done.error();
                }
            }
        }
        return deleted;
    }

    result<StoredMessage> to_stored(const LoggedMessage& m) {
        auto from = user_by_id(m.from);
        if (!from) {
            return from.error();
        }
        auto to = user_by_id(m.to);
        if (!to) {
            return to.error();
        }
        StoredMessage out;
        out.msg_id = m.msg_id;
        out.ts_ms = m.ts_ms;
        out.from = *(*from)->name;
        out.to = *(*to)->name;
        out.text = m.text;
        out.from_seq = m.from_seq;
        out.to_seq = m.to_seq;
        return out;
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
    result<User*> find_user(std::string_view name) {
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
        return remember(std::string(name), user_by_name_.int64(0), user_by_name_.uint64(1),
                        user_by_name_.uint64(2));
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
    result<User*> find_or_create_user(std::string_view name) {
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
        return remember(std::string(name), id, 0, 0);
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
    MessageDb db_;
    Statement begin_, commit_, rollback_;
    Statement user_by_name_, user_by_id_, insert_user_, update_pushed_seq_;
    Statement insert_batch_, batch_holding_, batches_after_, oldest_batch_, delete_batch_;
    Statement insert_inbox_run_, select_inbox_runs_;
    Statement insert_conversation_run_, select_history_runs_, select_unread_runs_, conversation_last_;
    Statement insert_client_id_run_, select_client_id_runs_;
    Statement select_peers_, insert_conversation_, select_marks_, upsert_marks_;
    Statement set_meta_, raise_msg_id_floor_, raise_seq_floors_, delete_inbox_runs_, pruned_pairs_;
    Statement delete_conversation_runs_, delete_client_id_runs_, delete_conversation_;
    SqliteOptions options_;

    // The only writer's counters: the database holds no sequence of its own (see the schema).
    std::uint64_t next_msg_id_ = 1;
    // Nodes stay put, so User* are stable; found by a chat's name view without a copy of it.
    std::unordered_map<std::string, User, NameHash, std::equal_to<>> users_by_name_;
    std::unordered_map<std::int64_t, User*> users_by_id_;
    std::vector<User*> dirty_pushed_;

    std::uint64_t indexed_through_ = 0; // every batch up to here has its runs
    std::uint64_t pruned_through_ = 0;  // every msg_id up to here was deleted by prune()
    // The tail: committed messages past indexed_through_, in msg_id order, whose runs are not
    // written yet; readers look through it, and the next pass writes its runs.
    std::vector<TailEntry> tail_;
    boost::unordered_flat_map<std::uint64_t, std::uint64_t> tail_last_; // pair_key -> newest msg_id
    std::chrono::steady_clock::time_point tail_started_; // when the oldest tail message committed
    std::optional<IndexPass> pass_; // the pass in progress: maintain() writes it a slice at a time
    // Pairs whose conversations rows this process wrote or found: a pass skips their upsert.
    boost::unordered_flat_set<std::uint64_t> known_pairs_;

    ClientIdMemory client_ids_; // the idempotency check's candidates (remember_client_ids())

    // The append() in progress: its messages (the batch row), their tail entries and client ids,
    // which join the tail and the memory above once it commits.
    std::vector<LoggedMessage> pending_;
    std::vector<TailEntry> pending_tail_;
    boost::unordered_flat_map<std::uint64_t, std::uint64_t> pending_client_ids_;
    struct Prepared {
        User* from;
        User* to;
        std::uint64_t fingerprint; // 0 if no client id
    };
    std::vector<Prepared> prepared_; // append()'s batch, reused
    std::uint64_t batch_epoch_ = 0;
    std::vector<User*> touched_;
    std::vector<std::int64_t> created_;
};

} // namespace

std::unique_ptr<MessageStore> open_sqlite_store(const fs::path& data_dir, SqliteOptions options) {
    std::error_code ec;
    fs::create_directories(data_dir, ec);
    if (ec) {
        fail(message_store_file(data_dir / sqlite_db_file),
             "cannot create the data directory: " + ec.message());
    }
    if (fs::exists(data_dir / journal::file_name)) {
        fail(message_store_file(data_dir / sqlite_db_file),
             "the directory holds a journal message store (messages.journal); start with --store journal, "
             "or give the SQLite store a --data-dir of its own");
    }
    auto store = std::make_unique<SqliteStore>(data_dir, options);
    // parley.db and its -wal file may have just been created: make their directory entries
    // durable too, or a power cut could lose the file that holds the first acked commits. (The
    // WAL file then stays for as long as the store is open; checkpoints reuse it.)
    if (const boost::system::error_code error = sync_directory(data_dir)) {
        fail(message_store_file(data_dir / sqlite_db_file),
             "cannot sync the data directory: " + error.message());
    }
    return store;
}

} // namespace parley::store
