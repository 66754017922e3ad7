// The journal store (`--store journal`, ADR 012): durable like SQLite, nearly as fast as the
// memory store. Every call that changes state is written to messages.journal under the data
// directory and, for append/record_receipts/prune, fdatasync'ed before the call returns; the
// state itself lives in a memory store, rebuilt at open by replaying the journal, which a forked
// child compacts into an image of the state as it grows. The price: every message within retention is
// held in RAM (about 0.2 KB each with short texts), so it suits a server whose retention fits its memory.
// SQLite stays the default.
#pragma once

#include "store/message_store.hpp"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace parley::store {

struct JournalOptions {
    // Called once at open with one line when a crash's torn write was cut off the journal's end
    // (bytes that were never acknowledged: their fdatasync had not returned), or an unfinished
    // compaction's file was removed.
    std::function<void(const std::string&)> warn;
    // Called with one line after each compaction.
    std::function<void(const std::string&)> info;
    // Compaction (by maintain()) rewrites the journal as an image of the state once the journal
    // is at least this big and at least twice the image's size (the rest being pruned messages,
    // superseded receipts and hints). Each byte of state is thus rewritten at most about once
    // per byte appended, and replay at open reads at most about twice the state.
    std::size_t compact_at_least_bytes = std::size_t{64} << 20;
    // Write the image in a forked child (fork()'s copy-on-write view of the state), so writes go
    // on meanwhile; off, or when fork fails, the storage thread writes it and writes wait.
    bool background_compaction = true;
};

// Opens (creating if needed) `data_dir` and messages.journal in it, takes parley.lock and replays
// the journal. Runs on the thread that will make every later call. Throws std::runtime_error,
// with one line naming the file and the cause, if the directory is in use by another process,
// holds an SQLite store (parley.db), the file is not a journal, was written by a newer Parley,
// or is damaged anywhere but at its end.
std::unique_ptr<MessageStore> open_journal_store(const std::filesystem::path& data_dir,
                                                 JournalOptions options = {});

} // namespace parley::store
