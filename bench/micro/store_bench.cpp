// The storage thread's own cost per message, without the network: what bounds the durable
// figure of issue 5 once the shard's share (about 3.2 µs a message on the 2-vCPU VM) is known.
//
// BM_store_append: the pairs workload (users 2k and 2k+1 chat, each message with a client id
// and a 32-byte text) appended in batches through the MessageStore interface, followed by
// maintain() as the storage thread calls it, so SQLite's index passes and checkpoints and the
// journal's compaction are paid where they fall. Arguments: store (0 memory, 1 journal,
// 2 SQLite, 3 SQLite with index passes of 4,096 instead of 32,768), users, batch size. Files
// live in a fresh directory under $TMPDIR and are fsynced as in production.
//
// BM_store_sqlite_layout: what SQLite itself allows, with the store's settings (WAL,
// synchronous=FULL, 16 KiB pages, exclusive locking) but no index at all: one row per message
// (schema version 2's `messages` table), or one row per batch holding the batch as a blob (the
// `batches` table of version 3, ADR 014). ADR 013 uses
// these to bound what a one-row-per-message SQLite store can reach.
//
// Read "CPU" as the storage thread's CPU per batch (fdatasync waits are not CPU) and
// items_per_second against CPU time; "Time" is wall time, fsync waits included.
#include "store/journal_store.hpp"
#include "store/memory_store.hpp"
#include "store/message_store.hpp"
#include "store/sqlite_store.hpp"

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace parley::store;

// A directory of its own, removed at the end.
class ScratchDir {
public:
    ScratchDir() {
        const char* tmp = std::getenv("TMPDIR");
        std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/parley-store-bench-XXXXXX";
        if (mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~ScratchDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

std::unique_ptr<MessageStore> open_store(std::int64_t kind, const fs::path& dir) {
    switch (kind) {
    case 0:
        return make_memory_store();
    case 1:
        return open_journal_store(dir);
    case 2:
        return open_sqlite_store(dir);
    default: {
        // Passes of 4,096 messages instead of 32,768: shorter runs, a shorter tail for readers.
        SqliteOptions small_passes;
        small_passes.index_pass_messages = 4096;
        return open_sqlite_store(dir, small_passes);
    }
    }
}

// The pairs workload: message i goes from user (i mod users) to its partner, with a fresh client
// id, so every store checks and records one idempotency key per message.
class PairsWorkload {
public:
    explicit PairsWorkload(std::size_t users) {
        for (std::size_t u = 0; u < users; ++u) {
            names_.push_back("user" + std::to_string(u));
        }
    }

    // The batch views names_ and ids_, which hold until the next fill.
    void fill(std::vector<NewMessage>& batch, std::size_t size) {
        batch.resize(size);
        ids_.resize(size);
        for (std::size_t i = 0; i < size; ++i) {
            NewMessage& m = batch[i];
            const std::size_t from = next_ % names_.size();
            m.from = names_[from];
            m.to = names_[from ^ 1U];
            m.text = "0000000000000007000001234abcdef0";
            ids_[i] = std::to_string(next_);
            m.client_id = ids_[i];
            ++next_;
        }
    }

private:
    std::vector<std::string> names_;
    std::vector<std::string> ids_;
    std::uint64_t next_ = 1'000'000'000;
};

// One store under the pairs workload: each step() appends a batch and calls maintain(), as the
// storage thread does; building the batch is not timed.
class StoreUnderLoad {
public:
    explicit StoreUnderLoad(benchmark::State& state)
        : store_(open_store(state.range(0), dir_.path())),
          workload_(static_cast<std::size_t>(state.range(1))),
          batch_size_(static_cast<std::size_t>(state.range(2))) {}

    // False (and the benchmark marked failed) if the store refused the batch.
    bool step(benchmark::State& state) {
        state.PauseTiming();
        workload_.fill(batch_, batch_size_);
        state.ResumeTiming();
        if (auto stored = store_->append(batch_, ++now_ms_, 24LL * 3600 * 1000); !stored) {
            state.SkipWithError(stored.error().message().c_str());
            return false;
        }
        const auto started = std::chrono::steady_clock::now();
        if (auto maintained = store_->maintain(); !maintained) {
            state.SkipWithError(maintained.error().message().c_str());
            return false;
        }
        const double us =
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started).count();
        maintain_max_us_ = std::max(maintain_max_us_, us);
        maintain_total_us_ += us;
        return true;
    }

    MessageStore& store() { return *store_; }

    // maintain()'s longest call (the pause a pass makes the batches queued behind it wait) and
    // its share of the wall time, as counters.
    void report_maintain(benchmark::State& state) const {
        state.counters["maintain_max_us"] = maintain_max_us_;
        state.counters["maintain_total_ms"] = maintain_total_us_ / 1000;
    }

private:
    ScratchDir dir_;
    std::unique_ptr<MessageStore> store_;
    PairsWorkload workload_;
    std::size_t batch_size_;
    std::vector<NewMessage> batch_;
    std::int64_t now_ms_ = 1'764'158'400'000;
    double maintain_max_us_ = 0;
    double maintain_total_us_ = 0;
};

void BM_store_append(benchmark::State& state) {
    StoreUnderLoad load(state);
    for (auto _ : state) {
        if (!load.step(state)) {
            return;
        }
    }
    state.SetItemsProcessed(state.iterations() * state.range(2));
    load.report_maintain(state);
}
BENCHMARK(BM_store_append)
    ->ArgNames({"store", "users", "batch"})
    ->Args({0, 2000, 256})
    ->Args({1, 2000, 256})
    ->Args({2, 2000, 256})
    ->Args({3, 2000, 256})
    ->Args({1, 2000, 16})
    ->Args({2, 2000, 16})
    ->Iterations(8000)
    ->Unit(benchmark::kMicrosecond);

// A login's read while the pairs workload goes on: every 37th batch, one user's newest 10 inbox
// entries are read, as a resuming session does. Before ADR 014 the SQLite store indexed its tail
// before a read, so the read's wall time included that; now it reads the tail in memory and the
// rest from runs and batch rows. Reported as counters: read_mean_us and read_max_us. Same
// arguments as BM_store_append.
void BM_store_read_under_load(benchmark::State& state) {
    StoreUnderLoad load(state);
    const auto users = static_cast<std::size_t>(state.range(1));
    double reads = 0;
    double read_total_us = 0;
    double read_max_us = 0;
    std::size_t n = 0;
    for (auto _ : state) {
        if (!load.step(state)) {
            return;
        }
        if (++n % 37 == 0) {
            const std::string user = "user" + std::to_string((n * 7919) % users);
            const auto started = std::chrono::steady_clock::now();
            auto last = load.store().last_seq(user);
            auto page = load.store().inbox_since(user, last && *last > 10 ? *last - 10 : 0, 10);
            const double us =
                std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started).count();
            if (!page) {
                state.SkipWithError("inbox_since failed");
                return;
            }
            reads += 1;
            read_total_us += us;
            read_max_us = std::max(read_max_us, us);
        }
    }
    state.SetItemsProcessed(state.iterations() * state.range(2));
    state.counters["read_mean_us"] = reads > 0 ? read_total_us / reads : 0;
    state.counters["read_max_us"] = read_max_us;
}
BENCHMARK(BM_store_read_under_load)
    ->ArgNames({"store", "users", "batch"})
    ->Args({1, 2000, 256})
    ->Args({2, 2000, 256})
    ->Args({3, 2000, 256})
    ->Iterations(4000)
    ->Unit(benchmark::kMicrosecond);

void check(sqlite3* db, int rc, benchmark::State& state) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        state.SkipWithError(sqlite3_errmsg(db));
    }
}

// Raw SQLite, no index: argument 0 is rows per batch (1 = one row holding the whole batch,
// otherwise one row per message), argument 1 the batch size.
void BM_store_sqlite_layout(benchmark::State& state) {
    ScratchDir dir;
    sqlite3* db = nullptr;
    const std::string file = (dir.path() / "layout.db").string();
    if (sqlite3_open(file.c_str(), &db) != SQLITE_OK) {
        state.SkipWithError("cannot open the database");
        return;
    }
    check(db,
          sqlite3_exec(
              db,
              "PRAGMA locking_mode = EXCLUSIVE; PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; "
              "PRAGMA synchronous = FULL; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 2560; "
              "CREATE TABLE messages (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, sender INTEGER NOT "
              "NULL, recipient INTEGER NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL, sender_seq "
              "INTEGER NOT NULL, recipient_seq INTEGER NOT NULL, client_id TEXT, body TEXT NOT NULL);"
              "CREATE TABLE batches (first_id INTEGER PRIMARY KEY, body BLOB NOT NULL);",
              nullptr, nullptr, nullptr),
          state);
    const bool one_row_per_batch = state.range(0) == 1;
    const auto batch_size = state.range(1);
    sqlite3_stmt* insert = nullptr;
    check(db,
          sqlite3_prepare_v2(db,
                             one_row_per_batch
                                 ? "INSERT INTO batches (first_id, body) VALUES (?1, ?2)"
                                 : "INSERT INTO messages VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                             -1, &insert, nullptr),
          state);
    const std::string text = "0000000000000007000001234abcdef0";
    std::string blob;
    std::int64_t next_id = 1;
    for (auto _ : state) {
        check(db, sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), state);
        if (one_row_per_batch) {
            // What a batch row would hold per message: ids, seqs, ts as 8-byte fields, the client
            // id and the text with their lengths (about 90 bytes here).
            blob.clear();
            for (std::int64_t i = 0; i < batch_size; ++i) {
                const std::string client_id = std::to_string(next_id + i);
                blob.append(48, '\x01');
                blob.push_back(static_cast<char>(client_id.size()));
                blob += client_id;
                blob.push_back(static_cast<char>(text.size()));
                blob += text;
            }
            sqlite3_bind_int64(insert, 1, next_id);
            sqlite3_bind_blob(insert, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
            check(db, sqlite3_step(insert), state);
            sqlite3_reset(insert);
            next_id += batch_size;
        } else {
            for (std::int64_t i = 0; i < batch_size; ++i, ++next_id) {
                const std::string client_id = std::to_string(next_id);
                const std::int64_t sender = next_id % 2000;
                const std::int64_t recipient = sender ^ 1;
                sqlite3_bind_int64(insert, 1, next_id);
                sqlite3_bind_int64(insert, 2, 1'764'158'400'000 + next_id);
                sqlite3_bind_int64(insert, 3, sender);
                sqlite3_bind_int64(insert, 4, recipient);
                sqlite3_bind_int64(insert, 5, std::min(sender, recipient));
                sqlite3_bind_int64(insert, 6, std::max(sender, recipient));
                sqlite3_bind_int64(insert, 7, next_id / 1000);
                sqlite3_bind_int64(insert, 8, next_id / 1000);
                sqlite3_bind_text(insert, 9, client_id.data(), static_cast<int>(client_id.size()),
                                  SQLITE_STATIC);
                sqlite3_bind_text(insert, 10, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
                check(db, sqlite3_step(insert), state);
                sqlite3_reset(insert);
            }
        }
        check(db, sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), state);
    }
    state.SetItemsProcessed(state.iterations() * batch_size);
    sqlite3_finalize(insert);
    sqlite3_close(db);
}
BENCHMARK(BM_store_sqlite_layout)
    ->ArgNames({"one_row_per_batch", "batch"})
    ->Args({0, 256})
    ->Args({1, 256})
    ->Iterations(8000)
    ->Unit(benchmark::kMicrosecond);

} // namespace
