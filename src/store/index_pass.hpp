// An index pass of the SQLite store (ADR 014): the runs a pass over the tail writes, in the order
// it writes them, and which tail messages the slices committed so far already hold. Pure: the
// store writes the rows, one slice per transaction, and tells the pass how far it got.
#pragma once

#include "store/log_rows.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace parley::store {

// A tail message as readers and passes need it: where it goes, not what it says. Its text stays
// in its batch row, so the tail's memory does not grow with the texts' size.
struct TailEntry {
    std::uint64_t msg_id = 0;
    std::int64_t ts_ms = 0;
    std::int64_t from = 0;
    std::int64_t to = 0;
    std::uint64_t from_seq = 0;
    std::uint64_t to_seq = 0;
    std::uint64_t client_id_fingerprint = 0; // 0: it came without a client id
};

// `fingerprint`: client_id_fingerprint() of its sender and client id, 0 if it has none; the
// one-argument form computes it.
TailEntry tail_entry(const log_rows::LoggedMessage& m, std::uint64_t fingerprint);
TailEntry tail_entry(const log_rows::LoggedMessage& m);

class IndexPass {
public:
    // A pass over all of `tail` (in msg_id order): a run per user of its inbox entries, then a
    // run per pair (lo < hi user id, or a chat with oneself) of its messages, each in key order.
    explicit IndexPass(std::span<const TailEntry> tail);

    std::size_t tail_count() const { return tail_count_; } // the pass covers tail[0, tail_count)
    std::uint64_t through() const { return through_; }     // the msg_id of its last message

    // Where a slice stands: runs before it are written.
    struct Cursor {
        std::size_t inbox = 0;
        std::size_t pairs = 0;
    };
    Cursor committed() const { return committed_; }
    bool finished(const Cursor& at) const { return at.inbox == inbox_.size() && at.pairs == pairs_.size(); }

    // The next inbox run from `at` (its user and entries, in seq order), moving `at` past it;
    // false once every inbox run is taken.
    bool take_inbox_run(Cursor& at, std::int64_t& user, std::vector<log_rows::InboxEntryRef>& entries) const;
    // The same for conversation runs (after the inbox runs).
    bool take_conversation_run(Cursor& at, std::int64_t& lo, std::int64_t& hi,
                               std::vector<log_rows::ConversationEntryRef>& messages) const;

    // A slice up to `at` committed.
    void commit(const Cursor& at) { committed_ = at; }

    // True if a committed slice holds the entry of tail message `m` in the inbox of `user`, or
    // its pair's conversation run: readers, who also see `m` in the tail until the pass ends,
    // skip it there.
    bool holds_inbox_entry(const TailEntry& m, std::int64_t user) const;
    bool holds_conversation_entry(const TailEntry& m) const;

private:
    struct InboxKey {
        std::int64_t user;
        std::uint64_t seq, msg_id;
    };
    struct PairKey {
        std::int64_t lo, hi;
        std::uint64_t msg_id;
        bool from_lo;
    };

    std::size_t tail_count_ = 0;
    std::uint64_t through_ = 0;
    std::vector<InboxKey> inbox_;
    std::vector<PairKey> pairs_;
    Cursor committed_;
};

} // namespace parley::store
