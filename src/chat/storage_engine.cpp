// Group commit, fan-out in commit order, catch-up pages, history, conversations and receipts.
#include "chat/storage_engine.hpp"

#include "protocol/decimal.hpp"
#include "protocol/encoder.hpp"
#include "store/short_strings.hpp"

#include <algorithm>
#include <bit>
#include <iterator>

namespace parley::chat {

namespace {

protocol::ChatEvent to_event(const store::StoredMessage& m, std::uint64_t seq, bool outgoing) {
    return protocol::ChatEvent{m.from, m.to, m.text, m.msg_id, m.ts_ms, outgoing, seq};
}

// An encoding (protocol::ChatEncoding, AckEncoding) written straight into its block: a chat's
// and an ack's only allocation is their SharedText.
template <class Encoding> SharedText shared(const Encoding& encoding) {
    return SharedText::written(encoding.bound(), [&](char* out) { return encoding.write(out); });
}

SharedText shared_chat(const protocol::ChatEvent& event) {
    return shared(protocol::ChatEncoding(event));
}

// A message just stored, as its recipient's (or the sender's other devices') copy.
protocol::ChatEvent to_event(const store::NewMessage& in, const store::AppendResult& stored, bool outgoing,
                             bool plain_json, const protocol::DecimalText& batch_ts) {
    return protocol::ChatEvent{in.from,
                               in.to,
                               in.text,
                               stored.msg_id,
                               stored.ts_ms,
                               outgoing,
                               outgoing ? stored.from_seq : stored.to_seq,
                               plain_json,
                               &batch_ts};
}

} // namespace

StorageEngine::StorageEngine(store::MessageStore& store, Directory& directory, ShardPoster& poster,
                             const Clock& clock, Options options)
    : store_(store), directory_(directory), poster_(poster), clock_(clock), options_(options),
      outboxes_(max_shards), last_prune_ms_(clock.now_ms()),
      next_prune_ms_(last_prune_ms_ + options.prune_every_ms) {}

void StorageEngine::process(std::vector<StorageRequest>& batch) {
    store_chats(batch);
    receipts(batch);
    for (const StorageRequest& request : batch) {
        if (const auto* r = std::get_if<SyncInbox>(&request)) {
            sync(*r);
        } else if (const auto* h = std::get_if<ReadHistory>(&request)) {
            history(*h);
        } else if (const auto* c = std::get_if<ListConversations>(&request)) {
            conversations(*c);
        } else if (const auto* off = std::get_if<UserOffline>(&request)) {
            user_offline(*off);
        }
    }
    post_all();
}

void StorageEngine::store_chats(std::vector<StorageRequest>& batch) {
    // Most often one shard's one pass: its chats go to the store as they came. Several (the
    // storage thread's queue gathers passes and shards) are put together, in order.
    StoreChats* single = nullptr;
    std::size_t count = 0;
    for (StorageRequest& request : batch) {
        if (auto* chats = std::get_if<StoreChats>(&request)) {
            single = count == 0 ? chats : nullptr;
            ++count;
        }
    }
    if (count == 0) {
        return;
    }
    if (single == nullptr) {
        gathered_.messages.clear();
        gathered_.senders.clear();
        for (StorageRequest& request : batch) {
            if (auto* chats = std::get_if<StoreChats>(&request)) {
                std::move(chats->messages.begin(), chats->messages.end(),
                          std::back_inserter(gathered_.messages));
                gathered_.senders.insert(gathered_.senders.end(), chats->senders.begin(),
                                         chats->senders.end());
            }
        }
    }
    StoreChats& chats = single != nullptr ? *single : gathered_;
    if (chats.messages.empty()) {
        return;
    }
    store_chats(chats);
}

void StorageEngine::store_chats(const StoreChats& chats) {
    const std::vector<store::NewMessage>& messages = chats.messages;
    const std::int64_t now_ms = clock_.now_ms();
    auto results = store_.append(messages, now_ms, options_.idempotency_window_ms);
    if (!results) {
        // Nothing of the batch was stored: no ack, so every client retries with its id.
        for (std::size_t i = 0; i < messages.size(); ++i) {
            const StoreChats::Sender& sender = chats.senders[i];
            std::string out;
            protocol::encode_error(out, protocol::errc::server_busy,
                                   "the message could not be stored; retry with the same id",
                                   messages[i].client_id);
            to_session(sender.origin, Delivery{Delivery::kind::ack,
                                               {},
                                               sender.origin.session,
                                               0,
                                               make_text(std::move(out)),
                                               0,
                                               sender.inflight_bytes});
        }
        return;
    }
    reach_in_runs(messages, *results, &store::NewMessage::to, &store::AppendResult::to_seq,
                  recipients_reached_);
    reach_in_runs(messages, *results, &store::NewMessage::from, &store::AppendResult::from_seq,
                  senders_reached_);
    // Every new message of the batch has its ts: written out once for all their chats and acks.
    const protocol::DecimalText batch_ts(now_ms);
    for (std::size_t i = 0; i < results->size(); ++i) {
        const store::AppendResult& r = (*results)[i];
        const store::NewMessage& m = messages[i];
        const StoreChats::Sender& sender = chats.senders[i];
        const Origin& origin = sender.origin;
        if (!r.duplicate) {
            ++messages_stored_;
            // A note to oneself reaches every session of the user, the sending one too.
            if (const ShardMask shards = recipients_reached_[i]; shards != 0) {
                emplace_for(shards, Delivery::kind::message, m.to, 0, 0,
                            shared_chat(to_event(m, r, false, sender.plain_json, batch_ts)), r.to_seq);
            }
            if (!store::same_bytes(m.from, m.to)) {
                // The sender's other devices get a copy marked outgoing; most senders have none,
                // and then nothing is encoded or posted. The seq is pushed either way: the
                // sending session holds the message (its ack carries the seq).
                ShardMask others = senders_reached_[i];
                if (!sender.has_local_peers) {
                    others &= ~(ShardMask{1} << origin.shard);
                }
                if (others != 0) {
                    to_shards(others, Delivery{Delivery::kind::message, m.from, 0, origin.session,
                                               shared_chat(to_event(m, r, true, sender.plain_json, batch_ts)),
                                               r.from_seq});
                }
            }
        }
        emplace_for(
            ShardMask{1} << origin.shard, Delivery::kind::ack, std::string_view(), origin.session, 0,
            shared(protocol::AckEncoding(m.client_id, r.msg_id, r.ts_ms, r.from_seq, r.duplicate, &batch_ts)),
            r.from_seq, sender.inflight_bytes);
    }
}

void StorageEngine::reach_in_runs(std::span<const store::NewMessage> messages,
                                  std::span<const store::AppendResult> results,
                                  std::string_view store::NewMessage::*user,
                                  std::uint64_t store::AppendResult::*seq, std::vector<ShardMask>& reached) {
    reached.assign(results.size(), 0);
    for (std::size_t begin = 0; begin < results.size();) {
        const std::string_view name = messages[begin].*user;
        std::size_t end = begin;
        std::uint64_t highest = 0;
        for (; end < results.size() && store::same_bytes(messages[end].*user, name); ++end) {
            if (!results[end].duplicate) {
                highest = std::max(highest, results[end].*seq);
            }
        }
        if (highest != 0) {
            std::fill(reached.begin() + static_cast<std::ptrdiff_t>(begin),
                      reached.begin() + static_cast<std::ptrdiff_t>(end), directory_.reach(name, highest));
        }
        begin = end;
    }
}

void StorageEngine::sync(const SyncInbox& request) {
    std::uint64_t since = 0;
    if (request.since) {
        since = *request.since;
    } else {
        // The Directory's mark is newer while the user is online; the store's holds what an
        // earlier session got, also one whose UserOffline is still queued behind this request.
        auto pushed = store_.pushed_seq(request.user);
        if (!pushed) {
            reply_error(request.origin, "could not read your inbox; log in again", {});
            return;
        }
        since = std::max(*pushed, directory_.pushed_seq(request.user));
    }
    auto entries = store_.inbox_since(request.user, since, options_.sync_page);
    if (!entries) {
        reply_error(request.origin, "could not read your inbox; log in again", {});
        return;
    }
    std::uint64_t last = since;
    for (const store::InboxEntry& e : *entries) {
        const bool outgoing = e.message.from == request.user && e.message.to != request.user;
        to_session(request.origin, Delivery{Delivery::kind::message,
                                            {},
                                            request.origin.session,
                                            0,
                                            shared_chat(to_event(e.message, e.seq, outgoing)),
                                            e.seq});
        last = e.seq;
    }
    // The session asking is logged in, so the user is in the Directory, which keeps the mark
    // until the user goes offline.
    directory_.reach(request.user, last);
    const bool more = entries->size() == options_.sync_page;
    to_session(request.origin, Delivery{more ? Delivery::kind::sync_more : Delivery::kind::sync_done,
                                        {},
                                        request.origin.session,
                                        0,
                                        {},
                                        last});
}

void StorageEngine::history(const ReadHistory& request) {
    auto page = store_.history(request.user, request.peer, request.before, request.limit + std::size_t{1});
    if (!page) {
        reply_error(request.origin, "could not read the history; retry", request.id_json);
        return;
    }
    const bool more = page->size() > request.limit;
    if (more) {
        page->resize(request.limit);
    }
    std::vector<protocol::ChatEvent> events;
    events.reserve(page->size());
    for (const store::StoredMessage& m : *page) {
        events.push_back(to_event(m, 0, false));
    }
    std::string out;
    protocol::encode_history(out, request.id_json, request.peer, events, more);
    to_session(request.origin, make_text(std::move(out)));
}

void StorageEngine::conversations(const ListConversations& request) {
    auto list = store_.conversations(request.user);
    if (!list) {
        reply_error(request.origin, "could not list conversations; retry", request.id_json);
        return;
    }
    std::vector<protocol::ConversationSummary> items;
    items.reserve(list->size());
    for (const store::Conversation& c : *list) {
        items.push_back(protocol::ConversationSummary{c.peer, to_event(c.last, 0, false), c.unread,
                                                      c.read_up_to, c.peer_read_up_to});
    }
    std::string out;
    protocol::encode_conversations(out, request.id_json, items);
    to_session(request.origin, make_text(std::move(out)));
}

void StorageEngine::receipts(const std::vector<StorageRequest>& batch) {
    std::vector<store::Receipt> receipts;
    std::vector<const RecordReceipt*> requests;
    for (const StorageRequest& request : batch) {
        if (const auto* r = std::get_if<RecordReceipt>(&request)) {
            receipts.push_back(store::Receipt{
                r->user, r->peer, r->read ? store::receipt_kind::read : store::receipt_kind::delivered,
                r->up_to});
            requests.push_back(r);
        }
    }
    if (receipts.empty()) {
        return;
    }
    auto marks = store_.record_receipts(receipts);
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const RecordReceipt& request = *requests[i];
        if (!marks) {
            reply_error(request.origin, "could not record the receipt; retry", {});
            continue;
        }
        std::string out;
        protocol::encode_receipt(out, request.read, request.user, request.peer, (*marks)[i]);
        const SharedText text = make_text(std::move(out));
        // The sender learns its messages were seen; the reader's other devices update their
        // unread counts.
        to_user(request.peer, Delivery{Delivery::kind::message, request.peer, 0, 0, text, 0});
        if (request.peer != request.user) {
            to_user(request.user,
                    Delivery{Delivery::kind::message, request.user, 0, request.origin.session, text, 0});
        }
    }
}

void StorageEngine::user_offline(const UserOffline& request) {
    if (request.pushed_seq == 0) {
        return;
    }
    // Raises only, so a mark that arrives after the user logged in again does no harm. Best
    // effort: if this write fails, the next login without `since` repeats some messages (at
    // least once), never skips one.
    (void)store_.set_pushed_seq(request.user, request.pushed_seq);
}

std::size_t StorageEngine::prune_if_due() {
    const std::int64_t now = clock_.now_ms();
    if (now < next_prune_ms_ && now >= last_prune_ms_) {
        return 0;
    }
    // Without retention the schedule still moves on: the storage thread sleeps by it.
    std::size_t count = 0;
    if (options_.retention_ms > 0) {
        auto deleted = store_.prune(now - options_.retention_ms, options_.prune_batch);
        count = deleted ? *deleted : 0;
    }
    last_prune_ms_ = now;
    const bool full = options_.prune_batch > 0 && count >= options_.prune_batch;
    next_prune_ms_ = now + (full ? options_.prune_catch_up_ms : options_.prune_every_ms);
    return count;
}

std::int64_t StorageEngine::ms_until_prune() const {
    const std::int64_t now = clock_.now_ms();
    if (now < last_prune_ms_) {
        return 0;
    }
    return std::max<std::int64_t>(0, next_prune_ms_ - now);
}

bool StorageEngine::to_user(const std::string& user, Delivery d) {
    const ShardMask shards = d.seq == 0 ? directory_.shards_of(user) : directory_.reach(user, d.seq);
    if (shards == 0) {
        return false;
    }
    to_shards(shards, std::move(d));
    return true;
}

void StorageEngine::to_shards(ShardMask shards, Delivery d) {
    emplace_for(shards, std::move(d));
}

void StorageEngine::to_session(const Origin& origin, SharedText text) {
    to_session(origin, Delivery{Delivery::kind::message, {}, origin.session, 0, std::move(text), 0});
}

void StorageEngine::to_session(const Origin& origin, Delivery d) {
    emplace_for(ShardMask{1} << origin.shard, std::move(d));
}

void StorageEngine::reply_error(const Origin& origin, std::string_view message, std::string_view ref_json) {
    std::string out;
    protocol::encode_error(out, protocol::errc::server_busy, message, ref_json);
    to_session(origin, make_text(std::move(out)));
}

void StorageEngine::post_all() {
    while (outboxes_pending_ != 0) {
        const auto shard = static_cast<unsigned>(std::countr_zero(outboxes_pending_));
        outboxes_pending_ &= outboxes_pending_ - 1;
        const std::size_t posted = outboxes_[shard].size();
        poster_.post(shard, std::move(outboxes_[shard]));
        // The vector went with the post; sized like this one, the next grows in one step, not
        // by doubling through every size on the way.
        outboxes_[shard] = {};
        outboxes_[shard].reserve(posted);
    }
}

} // namespace parley::chat
