// The message store: what Parley keeps so that an acked message is never lost. An interface with
// an in-memory implementation (tests, benchmarks; not durable), SQLite (the embedded default) and
// the journal store (the in-memory one behind an fsynced log of its calls, ADR 012).
// Calls never overlap (one storage thread, or the shards under one lock), so implementations
// need no locks; calls are synchronous, and append() takes a whole batch so one transaction (one
// fsync) covers it.
#pragma once

#include "store/new_message.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace parley::store {

// A stored chat as it lives in both inboxes.
struct StoredMessage {
    std::uint64_t msg_id = 0; // unique, increasing in commit order, never reused
    std::int64_t ts_ms = 0;
    std::string from;
    std::string to;
    std::string text;
    std::uint64_t from_seq = 0; // its seq in the sender's inbox
    std::uint64_t to_seq = 0;   // its seq in the recipient's inbox (== from_seq when from == to: a
                                // chat to oneself takes one inbox entry)
};

// What append() did with one NewMessage: the ids it was stored under. The names and the text
// are the caller's own NewMessage's, so they are not copied back (that was an allocation a
// message on the hot path); a duplicate's text is the earlier message's, read like any other.
struct AppendResult {
    std::uint64_t msg_id = 0;
    std::int64_t ts_ms = 0;
    std::uint64_t from_seq = 0;
    std::uint64_t to_seq = 0;
    // True if (from, client_id) matched a message stored within the idempotency window: nothing
    // was written, and the ids are the earlier message's.
    bool duplicate = false;
};

// One entry of a user's inbox: the message and its seq there.
struct InboxEntry {
    std::uint64_t seq = 0;
    StoredMessage message;
};

struct Conversation {
    std::string peer;
    StoredMessage last;
    std::uint64_t unread = 0;               // messages from peer with msg_id > read_up_to
    std::uint64_t read_up_to = 0;           // the user's read mark in this conversation
    std::uint64_t peer_read_up_to = 0;      // the peer's read mark (for "seen" ticks)
    std::uint64_t peer_delivered_up_to = 0; // the peer's delivered mark (for "delivered" ticks)
};

enum class receipt_kind { delivered, read };

struct Receipt {
    std::string user; // who reports
    std::string peer; // whose messages they got / read
    receipt_kind kind = receipt_kind::read;
    std::uint64_t up_to = 0; // msg_id
};

class MessageStore {
public:
    virtual ~MessageStore() = default;

    // False for a store whose calls never wait for a disk or a network (the memory store): the
    // server then runs it on the shards' threads instead of giving it a thread of its own.
    virtual bool waits_on_io() const = 0;

    // Stores a batch in one transaction and returns one result per input, in order. Assigns
    // msg_id, ts (now_ms) and both seqs; dedups by (from, client_id) within
    // `idempotency_window_ms` of now: a message with a non-empty client_id is a duplicate of the
    // newest earlier message of the same sender and client_id whose ts >= now_ms - window, also
    // one earlier in the same batch. A window <= 0 turns dedup off. On error nothing of the batch
    // is stored and the next call assigns the ids and seqs this one would have.
    virtual boost::system::result<std::vector<AppendResult>>
    append(std::span<const NewMessage> batch, std::int64_t now_ms, std::int64_t idempotency_window_ms) = 0;

    // The user's inbox after `since_seq`, in seq order, at most `limit` entries.
    virtual boost::system::result<std::vector<InboxEntry>>
    inbox_since(const std::string& user, std::uint64_t since_seq, std::size_t limit) = 0;

    // The highest seq ever assigned in the user's inbox (0 if none). prune() never lowers it: seqs
    // never restart, so a client's `since` stays meaningful after retention deleted messages.
    virtual boost::system::result<std::uint64_t> last_seq(const std::string& user) = 0;

    // The highest seq the server has pushed to some session of the user; login without `since`
    // resumes from here. set_pushed_seq() only ever raises it, never above last_seq() (a higher
    // seq is clamped; an unknown user stays at 0). It is seen at once by pushed_seq(), but a
    // durable store may persist it only with its next write transaction (append,
    // record_receipts, prune) or at close: it is a resume hint, called often, and not worth an
    // fsync of its own. After a crash it can be lower than last set, never higher, so a client
    // gets some messages again (same msg_id and seq) rather than missing any.
    virtual boost::system::result<std::uint64_t> pushed_seq(const std::string& user) = 0;
    virtual boost::system::result<void> set_pushed_seq(const std::string& user, std::uint64_t seq) = 0;

    // The conversation of `user` and `peer`, newest first: messages with msg_id < before (0 = no
    // bound), at most `limit`.
    virtual boost::system::result<std::vector<StoredMessage>>
    history(const std::string& user, const std::string& peer, std::uint64_t before, std::size_t limit) = 0;

    // Every conversation of `user` that still has a message, most recent (highest last msg_id)
    // first. unread counts messages from peer to user (for a chat with oneself: every message)
    // with msg_id > read_up_to.
    virtual boost::system::result<std::vector<Conversation>> conversations(const std::string& user) = 0;

    // Records receipts in one transaction and returns, per receipt, the mark of its kind now in
    // force. Marks only move forward, and `read` implies `delivered`. up_to is clamped to the
    // conversation's last msg_id, so a mark never covers a message not yet stored; a receipt
    // for a conversation that has no message stores nothing and returns 0. On error nothing of
    // the batch is stored.
    virtual boost::system::result<std::vector<std::uint64_t>>
    record_receipts(std::span<const Receipt> receipts) = 0;

    // One receipt (its own transaction: prefer record_receipts() for many).
    boost::system::result<std::uint64_t> record_receipt(const Receipt& receipt) {
        auto marks = record_receipts(std::span<const Receipt>(&receipt, 1));
        if (!marks) {
            return marks.error();
        }
        return marks->front();
    }

    // Deferred work the store wants done between batches (SQLite: a slice of an index pass over
    // the newest messages, ADR 014); it decides itself whether any is due. Called by the storage
    // thread after a batch's results went out, and at least once a second.
    virtual boost::system::result<void> maintain() = 0;

    // Deletes up to `max_messages` messages older than `before_ms` (and their inbox entries);
    // returns how many it deleted. Called repeatedly in small steps so traffic never stalls.
    // Walks messages oldest msg_id first and stops at the first one with ts >= before_ms (if the
    // clock stepped back, a later message with an older ts waits for a later pass). A
    // conversation whose messages are all gone leaves conversations(); msg_ids and seqs are
    // never reused.
    virtual boost::system::result<std::size_t> prune(std::int64_t before_ms, std::size_t max_messages) = 0;

protected:
    MessageStore() = default;
    MessageStore(const MessageStore&) = default;
    MessageStore& operator=(const MessageStore&) = default;
};

} // namespace parley::store
