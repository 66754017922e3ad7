// Requests from the shards to the storage thread: store a chat, send a login its catch-up, read
// history, list conversations, record a receipt. Each names the session that asked (its shard and
// id), so replies go back to it.
#pragma once

#include "store/byte_arena.hpp"
#include "store/new_message.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace parley::chat {

struct Origin {
    unsigned shard = 0;
    std::uint64_t session = 0;
};

// The chats one shard read in one pass, in the order read: the messages as the store takes them
// (so the storage thread hands them to MessageStore::append as they are, moving nothing), and
// beside each, whom to answer.
struct StoreChats {
    struct Sender {
        Origin origin;
        std::uint32_t inflight_bytes = 0; // what the session counted for it; released with the ack
        // The sender had other sessions on the origin's shard when the chat was read. If not, and
        // no other shard holds one, no outgoing copy is encoded: a session that logs in there
        // later queues its catch-up behind this chat, so the catch-up holds it.
        bool has_local_peers = false;
        // No byte of the chat's from, to and text needs a JSON escape (a plain chat from a user
        // whose name needs none): encoded without looking at them again.
        bool plain_json = false;
    };
    std::vector<store::NewMessage> messages; // from, to, text, client id (JSON text, empty if none)
    store::ByteArena bytes;                  // what `messages` view: moved with them, freed after
    std::vector<Sender> senders;             // one a message
};

struct SyncInbox {
    Origin origin;
    std::string user;
    // The last seq the client holds; none: resume from what the server last pushed to the user.
    std::optional<std::uint64_t> since;
};

struct ReadHistory {
    Origin origin;
    std::string user;
    std::string peer;
    std::uint64_t before = 0;
    std::uint32_t limit = 50;
    std::string id_json;
};

struct ListConversations {
    Origin origin;
    std::string user;
    std::string id_json;
};

struct RecordReceipt {
    Origin origin;
    std::string user;
    std::string peer;
    bool read = false;
    std::uint64_t up_to = 0;
};

// The user's last session anywhere closed: remember how far the server got pushing to it.
struct UserOffline {
    std::string user;
    std::uint64_t pushed_seq = 0; // the Directory's mark when the user left it
};

using StorageRequest =
    std::variant<StoreChats, SyncInbox, ReadHistory, ListConversations, RecordReceipt, UserOffline>;

// How shards reach the storage thread. Implemented by net::StorageWorker; a fake in tests.
class StorageQueue {
public:
    virtual ~StorageQueue() = default;
    // Takes every request out of `batch`, leaving it empty but with its capacity, so the caller's
    // next batch reuses the memory; requests from one caller are handled in order. Any thread.
    virtual void submit(std::vector<StorageRequest>& batch) = 0;

protected:
    StorageQueue() = default;
    StorageQueue(const StorageQueue&) = default;
    StorageQueue& operator=(const StorageQueue&) = default;
};

} // namespace parley::chat
