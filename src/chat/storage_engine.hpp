// The storage thread's half of chat: runs the shards' requests against the MessageStore in
// batches (one transaction for all the chats of a batch: group commit) and fans the results out
// to the shards — the chat to every session of its recipient, the outgoing copy to the sender's
// other sessions, the ack to the sending session — in commit order, so every user's sessions see
// their inbox in seq order. Runs on the storage thread only; no I/O of its own.
#pragma once

#include "chat/clock.hpp"
#include "chat/delivery.hpp"
#include "chat/directory.hpp"
#include "chat/storage_request.hpp"
#include "store/message_store.hpp"

#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::chat {

class StorageEngine {
public:
    struct Options {
        // A retry with the same client id within this window is acked, not stored again.
        std::int64_t idempotency_window_ms = 24LL * 3600 * 1000;
        // Catch-up is sent in pages so a long-offline user cannot overflow its own send queue.
        std::size_t sync_page = 500;
        // Messages older than this are pruned; 0 keeps everything.
        std::int64_t retention_ms = 0;
        // Messages deleted per pruning step: small, so a step never holds up a batch for long.
        std::size_t prune_batch = 1000;
        // A step is due this long after one that found less than a batch to delete...
        std::int64_t prune_every_ms = 1000;
        // ...and this long after a full one: pruning then catches up (up to 100 steps a second)
        // with a server that stores more than a batch a second, instead of falling behind.
        std::int64_t prune_catch_up_ms = 10;
    };

    StorageEngine(store::MessageStore& store, Directory& directory, ShardPoster& poster, const Clock& clock,
                  Options options);

    // Handles one batch of requests, then posts one batch of deliveries to each shard involved.
    // Chats are stored first (one transaction) and fanned out before any other request of the
    // batch is answered, so a catch-up read in the same batch already sees them.
    void process(std::vector<StorageRequest>& batch);

    // Lets the store do its deferred work (MessageStore::maintain); false if that failed, which
    // costs nothing but time: the store retries on its next call.
    bool maintain() { return store_.maintain().has_value(); }

    // Deletes up to a batch of messages past the retention period if a step is due (see
    // Options); returns how many. Due at once if the clock went back past the last step.
    std::size_t prune_if_due();
    // Milliseconds until a pruning step is due (0: now); the storage thread's longest sleep.
    std::int64_t ms_until_prune() const;

    std::uint64_t messages_stored() const { return messages_stored_; }

private:
    void store_chats(std::vector<StorageRequest>& batch);
    void store_chats(const StoreChats& chats);
    // The Directory's shards for the `user` of each stored chat of the batch, asked once for each
    // run of consecutive chats naming the same user, and raising that user's pushed seq to the
    // run's highest `seq`: a burst of one conversation is one lookup and one stripe lock, not one
    // a message. Equivalent to asking chat by chat, since the whole batch is posted together
    // afterwards and a login's catch-up is handled after it (its request queued behind).
    void reach_in_runs(std::span<const store::NewMessage> messages,
                       std::span<const store::AppendResult> results,
                       std::string_view store::NewMessage::*user, std::uint64_t store::AppendResult::*seq,
                       std::vector<ShardMask>& reached);
    void sync(const SyncInbox& request);
    void history(const ReadHistory& request);
    void conversations(const ListConversations& request);
    // Records every receipt of the batch in one transaction, then tells both sides.
    void receipts(const std::vector<StorageRequest>& batch);
    void user_offline(const UserOffline& request);

    // Queues `d` for every shard that holds sessions of `user`; false if there are none. A
    // delivery with a seq is an inbox entry of the user's: the Directory records it as pushed.
    bool to_user(const std::string& user, Delivery d);
    // Queues `d` for each shard in `shards`.
    void to_shards(ShardMask shards, Delivery d);
    // Queues a Delivery made of `args` for each shard in `shards` (not empty): built in place in
    // the last (most often the only) shard's outbox, copied into the others'. A chat's two
    // deliveries, the chat and the ack, are 80 bytes each: a temporary moved in was one more
    // write and read of them a message.
    template <class... Args> void emplace_for(ShardMask shards, Args&&... args) {
        outboxes_pending_ |= shards;
        const auto last = static_cast<unsigned>(std::bit_width(shards) - 1);
        for (ShardMask rest = shards & ~(ShardMask{1} << last); rest != 0; rest &= rest - 1) {
            outboxes_[static_cast<unsigned>(std::countr_zero(rest))].emplace_back(args...);
        }
        outboxes_[last].emplace_back(std::forward<Args>(args)...);
    }
    void to_session(const Origin& origin, SharedText text);
    void to_session(const Origin& origin, Delivery d);
    void reply_error(const Origin& origin, std::string_view message, std::string_view ref_json);
    void post_all();

    store::MessageStore& store_;
    // Also where an online user's pushed seq lives (persisted by UserOffline), so a login
    // without `since` (the seed page) gets exactly what it missed.
    Directory& directory_;
    ShardPoster& poster_;
    const Clock& clock_;
    Options options_;
    std::vector<std::vector<Delivery>> outboxes_;
    ShardMask outboxes_pending_ = 0;
    StoreChats gathered_;                       // the batch's chats, when they came in several requests
    std::vector<ShardMask> recipients_reached_; // reach_in_runs() of the batch's chats
    std::vector<ShardMask> senders_reached_;
    std::uint64_t messages_stored_ = 0;
    std::int64_t last_prune_ms_ = 0;
    std::int64_t next_prune_ms_ = 0;
};

} // namespace parley::chat
