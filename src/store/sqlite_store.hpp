// The SQLite MessageStore, Parley's embedded default: one file, parley.db, under the data
// directory, in WAL mode, with the schema migrated in code at open. Owns that file (and
// parley.lock beside it) exclusively while open; it must never reset or delete data it cannot
// read — open fails instead, with one line saying which file and why.
#pragma once

#include "store/message_store.hpp"

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string_view>

namespace parley::store {

inline constexpr std::string_view sqlite_db_file = "parley.db";

enum class sqlite_sync {
    // Every commit is fsynced before append() returns: an acked message survives a power cut.
    full,
    // WAL commits reach the disk at checkpoints only: an ack survives Parley crashing, but a power
    // cut or kernel panic may lose the last commits (acks already sent).
    normal,
};

struct SqliteOptions {
    // Ack means durable, so FULL unless the operator chose otherwise.
    sqlite_sync sync = sqlite_sync::full;
    // PRAGMA quick_check at open reads the whole file (about a second a GB on an SSD), so a corrupt
    // database is refused at start instead of failing some request later.
    bool check_at_open = true;
    // Page cache: enough for the hot ends of the tables (new batches, recent runs).
    std::size_t cache_bytes = std::size_t{64} << 20;
    // Page size of a new database file; an existing file keeps its own. 16 KiB instead of
    // SQLite's 4: index passes touch a page per active user, and with bigger pages fewer of them,
    // in shallower trees. Measured with `pairs -c 2000 --credit ack` (durable): 50-54k acked
    // msgs/s with 4 KiB pages, 62k with 16 KiB, at equal WAL bytes (ADR 011); with the log layout
    // (ADR 014) 4 KiB cost 2.7 µs of CPU a message in BM_store_append against 2.4.
    int new_file_page_bytes = 16 * 1024;
    // WAL bytes before the committing call checkpoints them into the database, on the storage
    // thread, where the acks queued meanwhile wait for it. Turned into pages of the file's size.
    // 40 MB once halved the bytes written per message (with a row per index entry); with the log
    // layout (ADR 014) 4 MiB writes 4 % more to the disk (608 against 585 bytes a message) at the
    // same acked msgs/s, and its pauses are a fraction as long: at 30k msg/s in an open loop the
    // ack p99 fell from 6.2-6.7 ms to 4.4-6.2 (ADR 015, sixth addendum).
    std::size_t wal_autocheckpoint_bytes = std::size_t{4} << 20;
    // Indexing (ADR 008, ADR 013, ADR 014): a commit writes one row for its whole batch; a pass
    // writes the runs readers look messages up by (a run per active user and conversation) once
    // this many messages wait, or the oldest waited a second. Until then readers find them in
    // memory. The bigger the pass, the more entries a run holds and the fewer rows a message costs.
    std::uint64_t index_pass_messages = 32768;
    // Runs written per slice of a pass (one transaction per maintain() call): what a batch queued
    // behind a slice waits for.
    std::size_t index_slice_runs = 256;
};

// Opens (creating if needed) `data_dir` and parley.db in it, migrating its schema. Runs on the
// thread that will make every later call. Throws std::runtime_error, with one line naming the file
// and the cause, if the database is in use by another process, is not a Parley database or is
// corrupt, was written by a newer Parley, or cannot be created.
std::unique_ptr<MessageStore> open_sqlite_store(const std::filesystem::path& data_dir,
                                                SqliteOptions options = {});

} // namespace parley::store
