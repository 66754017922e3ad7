// The in-memory store: messages in one deque by msg_id, per-user inboxes of (seq, msg_id), per
// conversation deques of msg_ids, and read/delivered marks per (user, peer). Mirrors the SQLite
// store's tables one to one; calls never overlap (MessageStore), so nothing here is locked.
// Deques, not trees, because ids and seqs only grow and prune only takes the oldest: appends go
// at the back, prune pops the front, and lookups are an index or a binary search.
// Names are interned once (a user is an index into users_), so storing a chat hashes no name
// pair and copies no name: it runs once per message on the benchmarks' hot path. Maps are Boost's
// open-addressing flat maps: no node allocation per entry.
#include "store/memory_store.hpp"

#include "store/body_blocks.hpp"
#include "store/byte_codec.hpp"
#include "store/message_id_table.hpp"
#include "store/name_hash.hpp"
#include "store/prefetch.hpp"
#include "store/short_strings.hpp"

#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::store {

namespace {

using UserIndex = std::uint32_t;

// (sender, client id) of a message sent with an id: the idempotency key. Its hash is computed
// once and kept: the table holds one entry per message sent with an id, and every growth of the
// table would otherwise hash all of their strings again.
std::size_t client_key_hash(UserIndex from, std::string_view id) {
    return std::hash<std::string_view>{}(id) ^ (std::size_t{from} * 0x9e3779b97f4a7c15ULL);
}

// A chat's text and client id, [text][client id], in the store's BodyBlocks: freed with its
// block when prune has taken the message and every one before it.
class MessageBody {
public:
    MessageBody() = default;
    MessageBody(BodyBlocks& blocks, std::uint64_t msg_id, std::string_view text, std::string_view client_id)
        : bytes_(blocks.room(text.size() + client_id.size(), msg_id)),
          text_size_(static_cast<std::uint32_t>(text.size())),
          id_size_(static_cast<std::uint32_t>(client_id.size())) {
        // Each copied only if not empty: an empty view's data may be null, which memcpy forbids.
        if (!text.empty()) {
            std::memcpy(bytes_, text.data(), text.size());
        }
        if (!client_id.empty()) {
            std::memcpy(bytes_ + text.size(), client_id.data(), client_id.size());
        }
    }
    std::string_view text() const { return {bytes_, text_size_}; }
    std::string_view client_id() const { return {bytes_ + text_size_, id_size_}; }

private:
    char* bytes_ = nullptr;
    std::uint32_t text_size_ = 0;
    std::uint32_t id_size_ = 0;
};

// A conversation's key: the two users in order, so both directions share one entry.
std::uint64_t conversation_key(UserIndex a, UserIndex b) {
    const auto [lo, hi] = std::minmax(a, b);
    return (std::uint64_t{lo} << 32) | hi;
}

// One side of a conversation, as the SQLite store's `conversations` row.
struct Marks {
    std::uint64_t last_msg_id = 0;
    std::uint64_t read_up_to = 0;
    std::uint64_t delivered_up_to = 0;
};

// A user's inbox: the msg_ids of the messages the user sent or received, in seq order (which is
// msg_id order). Its seqs are consecutive, since each message takes its users' next seq and
// prune takes the oldest, so a slot's seq is its place (first_seq() + index) and only msg_ids
// are kept: 8 bytes a slot, not 16, two slots a message.
class Inbox {
public:
    bool empty() const { return ids_.empty(); }
    std::size_t size() const { return ids_.size(); }
    std::uint64_t first_seq() const { return first_seq_; }
    std::uint64_t last_seq() const { return first_seq_ + ids_.size() - 1; } // if not empty
    std::uint64_t msg_id_at(std::size_t index) const { return ids_[index]; }

    // Files `msg_id` under `seq`, which must follow the newest's (any seq >= 1 if empty); false,
    // filing nothing, if it does not.
    bool push(std::uint64_t seq, std::uint64_t msg_id) {
        if (ids_.empty()) {
            if (seq == 0) {
                return false;
            }
            first_seq_ = seq;
        } else if (seq != last_seq() + 1) {
            return false;
        }
        ids_.push_back(msg_id);
        return true;
    }
    void pop_front() {
        ids_.pop_front();
        ++first_seq_;
    }
    // The index of the first slot whose seq is above `seq` (size() if none).
    std::size_t first_after(std::uint64_t seq) const {
        if (seq < first_seq_) {
            return 0;
        }
        return static_cast<std::size_t>(std::min<std::uint64_t>(seq - first_seq_ + 1, ids_.size()));
    }
    // The seq `msg_id` is filed under; 0 if it is not here.
    std::uint64_t seq_of(std::uint64_t msg_id) const {
        const auto it = std::lower_bound(ids_.begin(), ids_.end(), msg_id);
        return it != ids_.end() && *it == msg_id ? first_seq_ + static_cast<std::uint64_t>(it - ids_.begin())
                                                 : 0;
    }

private:
    std::deque<std::uint64_t> ids_;
    std::uint64_t first_seq_ = 0;
};

// The highest client id a user sent, compared with each chat's id. Kept inside the User up to 39
// bytes (the JSON text of counters, timestamps, ULIDs and UUIDs): a std::string keeps more than
// 15 in a heap block of its own, whose cache miss was 1.5 % of the server's time at 100
// connections (perf: memcmp's load of it).
class HighestId {
public:
    std::string_view view() const {
        return size_ != on_heap ? std::string_view(inline_.data(), size_) : std::string_view(*long_);
    }
    void assign(std::string_view id) {
        if (id.size() <= inline_.size()) {
            std::memcpy(inline_.data(), id.data(), id.size());
            size_ = static_cast<std::uint8_t>(id.size());
            long_.reset();
        } else if (long_) {
            size_ = on_heap;
            long_->assign(id);
        } else {
            size_ = on_heap;
            long_ = std::make_unique<std::string>(id);
        }
    }

private:
    static constexpr std::uint8_t on_heap = 0xff;
    std::array<char, 39> inline_{};
    std::uint8_t size_ = 0;
    std::unique_ptr<std::string> long_; // an id longer than inline_ (the protocol allows 64 bytes)
};

struct User {
    std::string name;
    std::uint64_t last_seq = 0; // never lowered, also when prune empties the inbox
    std::uint64_t pushed_seq = 0;
    Inbox inbox;
    boost::unordered_flat_map<UserIndex, Marks> conversations; // by peer
    // The messages this user sent with a client id above every id before it (id_before), from
    // ordered_front on: in msg_id order, which is id order. A new id above highest_id is no
    // duplicate, and is filed here without a lookup in the table of millions (a cache and TLB
    // miss a message); an earlier id is found by binary search. Other ids go to by_client_id_.
    std::vector<std::uint64_t> ordered_ids;
    std::size_t ordered_front = 0; // entries before it were pruned
    HighestId highest_id;          // the highest id ever filed here; kept when pruned
};

// A stored chat; its msg_id is its place in messages_. Its seqs are in the two inboxes, found by
// msg_id (seqs_of()) on the paths that read them: 32 bytes a message, not 48 (the store's memory
// grows by every message, and each new page is a fault), and a 512-byte deque node holds 16.
struct Message {
    std::int64_t ts_ms = 0;
    UserIndex from = 0;
    UserIndex to = 0;
    MessageBody body; // client id empty if none
};

struct Seqs {
    std::uint64_t from = 0; // in the sender's inbox
    std::uint64_t to = 0;   // in the recipient's (the same for a note to oneself)
};

// The oldest ts a duplicate may have, without overflowing for a huge window.
std::int64_t window_start(std::int64_t now_ms, std::int64_t window_ms) {
    constexpr auto lowest = std::numeric_limits<std::int64_t>::min();
    return now_ms < lowest + window_ms ? lowest : now_ms - window_ms;
}

enum class image_part : std::uint8_t { head = 1, users = 2, messages = 3, marks = 4 };

// Cuts an image into parts of about `part_bytes`: each part is its kind, a u32 item count and
// whole items, so a reader applies one part at a time.
class ImagePartWriter {
public:
    static constexpr std::size_t part_bytes = std::size_t{1} << 20;

    explicit ImagePartWriter(const std::function<void(std::string_view)>& emit) : emit_(emit) {}

    void begin(image_part kind) {
        flush();
        kind_ = kind;
    }

    // The buffer to append the next item to.
    std::string& item() {
        if (buffer_.size() >= part_bytes) {
            flush();
        }
        if (buffer_.empty()) {
            bytes::put(buffer_, static_cast<std::uint8_t>(kind_));
            bytes::put(buffer_, std::uint32_t{0});
        }
        ++count_;
        return buffer_;
    }
    std::string& buffer() { return buffer_; }

    void finish() { flush(); }

private:
    void flush() {
        if (buffer_.empty()) {
            return;
        }
        std::memcpy(buffer_.data() + 1, &count_, sizeof count_);
        emit_(buffer_);
        buffer_.clear();
        count_ = 0;
    }

    const std::function<void(std::string_view)>& emit_;
    image_part kind_ = image_part::head;
    std::string buffer_;
    std::uint32_t count_ = 0;
};

class MemoryStore final : public MessageStore {
public:
    MemoryStore() = default;
    MemoryStore(const MemoryStore&) = delete;
    MemoryStore& operator=(const MemoryStore&) = delete;

    bool waits_on_io() const override { return false; }

    boost::system::result<void> maintain() override { return {}; } // nothing deferred

    boost::system::result<std::vector<AppendResult>> append(std::span<const NewMessage> batch,
                                                            std::int64_t now_ms,
                                                            std::int64_t idempotency_window_ms) override {
        std::vector<AppendResult> results;
        results.reserve(batch.size());
        // First the batch's users and client-id hashes; then the lookups, a block of slots
        // prefetched ahead (store/prefetch.hpp).
        // A chat naming the users of the one before it (a burst, read from one connection in one
        // pass) reuses their indexes: a comparison instead of a hash lookup.
        prepared_.clear();
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const NewMessage& in = batch[i];
            const bool same_from = i > 0 && same_bytes(in.from, batch[i - 1].from);
            const bool same_to = i > 0 && same_bytes(in.to, batch[i - 1].to);
            const UserIndex from = same_from ? prepared_.back().from : intern(in.from);
            const UserIndex to = same_to ? prepared_.back().to : intern(in.to);
            // An id above the sender's highest needs no table; only the others are hashed.
            const bool in_table =
                !in.client_id.empty() && !id_before(user_at(from).highest_id.view(), in.client_id);
            prepared_.push_back({from, to, in_table ? client_key_hash(from, in.client_id) : 0});
        }
        BlockPrefetch ahead(batch.size(), [&](std::size_t k) {
            if (prepared_[k].id_hash != 0) {
                by_client_id_.prefetch(prepared_[k].id_hash);
            }
        });
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const NewMessage& in = batch[i];
            const auto [from, to, prepared_hash] = prepared_[i];
            ahead.before(i);
            std::uint64_t earlier = 0;
            std::size_t id_hash = prepared_hash;
            const bool ordered =
                !in.client_id.empty() && id_before(user_at(from).highest_id.view(), in.client_id);
            if (!in.client_id.empty() && !ordered) {
                if (id_hash == 0) {
                    // Above the sender's highest when the batch began, no longer: an earlier
                    // chat of the batch sent a higher one (or this one).
                    id_hash = client_key_hash(from, in.client_id);
                }
                earlier = find_client_id(from, in.client_id, id_hash);
                if (earlier != 0) {
                    const Message& e = message(earlier);
                    if (idempotency_window_ms > 0 && e.ts_ms >= window_start(now_ms, idempotency_window_ms)) {
                        const Seqs seqs = seqs_of(earlier, e);
                        results.push_back({earlier, e.ts_ms, seqs.from, seqs.to, true});
                        continue;
                    }
                }
            }
            const std::uint64_t msg_id = next_msg_id_++;
            if (messages_.empty()) {
                first_msg_id_ = msg_id;
            }
            const Message& m =
                messages_.emplace_back(Message{now_ms, from, to, {bodies_, msg_id, in.text, in.client_id}});
            const std::uint64_t from_seq = ++user_at(from).last_seq;
            const Seqs seqs{from_seq, to == from ? from_seq : ++user_at(to).last_seq};
            index_message(msg_id, m, seqs);
            if (ordered) {
                file_ordered_id(from, in.client_id, msg_id);
            } else if (!in.client_id.empty()) {
                file_id_in_table(id_hash, msg_id, earlier);
            }
            results.push_back({msg_id, now_ms, seqs.from, seqs.to, false});
        }
        return results;
    }

    boost::system::result<std::vector<InboxEntry>>
    inbox_since(const std::string& user, std::uint64_t since_seq, std::size_t limit) override {
        std::vector<InboxEntry> entries;
        const User* u = find_user(user);
        if (u == nullptr) {
            return entries;
        }
        for (std::size_t i = u->inbox.first_after(since_seq); i < u->inbox.size() && entries.size() < limit;
             ++i) {
            entries.push_back({u->inbox.first_seq() + i, stored(u->inbox.msg_id_at(i))});
        }
        return entries;
    }

    boost::system::result<std::uint64_t> last_seq(const std::string& user) override {
        const User* u = find_user(user);
        return u == nullptr ? 0 : u->last_seq;
    }

    boost::system::result<std::uint64_t> pushed_seq(const std::string& user) override {
        const User* u = find_user(user);
        return u == nullptr ? 0 : u->pushed_seq;
    }

    boost::system::result<void> set_pushed_seq(const std::string& user, std::uint64_t seq) override {
        // Nothing was pushed beyond what exists; as in SQLite, an unknown user gets no entry.
        if (User* u = find_user(user)) {
            u->pushed_seq = std::max(u->pushed_seq, std::min(seq, u->last_seq));
        }
        return {};
    }

    boost::system::result<std::vector<StoredMessage>> history(const std::string& user,
                                                              const std::string& peer, std::uint64_t before,
                                                              std::size_t limit) override {
        std::vector<StoredMessage> page;
        const auto u = user_ids_.find(user);
        const auto p = user_ids_.find(peer);
        if (u == user_ids_.end() || p == user_ids_.end()) {
            return page;
        }
        const auto conversation = by_conversation_.find(conversation_key(u->second, p->second));
        if (conversation == by_conversation_.end()) {
            return page;
        }
        const std::deque<std::uint64_t>& ids = conversation->second;
        auto it = before == 0 ? ids.end() : std::lower_bound(ids.begin(), ids.end(), before);
        while (it != ids.begin() && page.size() < limit) {
            --it;
            page.push_back(stored(*it));
        }
        return page;
    }

    boost::system::result<std::vector<Conversation>> conversations(const std::string& user) override {
        std::vector<Conversation> list;
        const auto found = user_ids_.find(user);
        if (found == user_ids_.end()) {
            return list;
        }
        const UserIndex self = found->second;
        for (const auto& [peer, marks] : user_at(self).conversations) {
            Conversation c;
            c.peer = user_at(peer).name;
            c.last = stored(marks.last_msg_id);
            c.read_up_to = marks.read_up_to;
            const Marks& peer_marks = user_at(peer).conversations.at(self);
            c.peer_read_up_to = peer_marks.read_up_to;
            c.peer_delivered_up_to = peer_marks.delivered_up_to;
            const std::deque<std::uint64_t>& ids = by_conversation_.at(conversation_key(self, peer));
            for (auto it = std::upper_bound(ids.begin(), ids.end(), marks.read_up_to); it != ids.end();
                 ++it) {
                if (message(*it).from == peer) {
                    ++c.unread;
                }
            }
            list.push_back(std::move(c));
        }
        std::sort(list.begin(), list.end(),
                  [](const Conversation& a, const Conversation& b) { return a.last.msg_id > b.last.msg_id; });
        return list;
    }

    boost::system::result<std::vector<std::uint64_t>>
    record_receipts(std::span<const Receipt> receipts) override {
        std::vector<std::uint64_t> marks;
        marks.reserve(receipts.size());
        for (const Receipt& r : receipts) {
            Marks* m = find_marks(r.user, r.peer);
            if (m == nullptr) {
                marks.push_back(0);
                continue;
            }
            const std::uint64_t up_to = std::min(r.up_to, m->last_msg_id);
            if (r.kind == receipt_kind::read) {
                m->read_up_to = std::max(m->read_up_to, up_to);
            }
            m->delivered_up_to = std::max({m->delivered_up_to, m->read_up_to, up_to});
            marks.push_back(r.kind == receipt_kind::read ? m->read_up_to : m->delivered_up_to);
        }
        return marks;
    }

    boost::system::result<std::size_t> prune(std::int64_t before_ms, std::size_t max_messages) override {
        std::size_t deleted = 0;
        last_conversation_ = {};
        while (deleted < max_messages && !messages_.empty() && messages_.front().ts_ms < before_ms) {
            const Message& m = messages_.front();
            const std::uint64_t msg_id = first_msg_id_;
            // The oldest message is the oldest of each inbox and of its conversation too.
            user_at(m.from).inbox.pop_front();
            if (m.to != m.from) {
                user_at(m.to).inbox.pop_front();
            }
            if (!m.body.client_id().empty()) {
                forget_client_id(m.from, m.body.client_id(), msg_id);
            }
            const auto conversation = by_conversation_.find(conversation_key(m.from, m.to));
            conversation->second.pop_front();
            if (conversation->second.empty()) {
                by_conversation_.erase(conversation);
                user_at(m.from).conversations.erase(m.to);
                user_at(m.to).conversations.erase(m.from);
            }
            messages_.pop_front();
            ++first_msg_id_;
            ++deleted;
        }
        bodies_.drop_through(first_msg_id_ - 1);
        return deleted;
    }

    // The image (memory_store.hpp). Parts, each a kind byte, a u32 count and that many items:
    //   head:     next_msg_id, first_msg_id (one part, first)
    //   users:    name, last_seq, pushed_seq (in UserIndex order)
    //   messages: ts, from, to (UserIndex), from_seq, to_seq, text, client_id (msg_id order)
    //   marks:    user, peer, read_up_to, delivered_up_to (every conversation side)
    // Inboxes, conversation lists, last msg_ids and the client-id table are rebuilt from the
    // messages as append() builds them.
    void write_image(const std::function<void(std::string_view)>& emit) const {
        ImagePartWriter out(emit);
        out.begin(image_part::head);
        bytes::put(out.item(), next_msg_id_);
        bytes::put(out.buffer(), first_msg_id_);
        out.begin(image_part::users);
        for (const auto& u : users_) {
            std::string& b = out.item();
            bytes::put_string(b, u->name);
            bytes::put(b, u->last_seq);
            bytes::put(b, u->pushed_seq);
        }
        out.begin(image_part::messages);
        // Each inbox holds its user's messages in msg_id order: one cursor per user gives each seq.
        std::vector<std::size_t> inbox_at(users_.size(), 0);
        const auto next_seq = [&](UserIndex user) {
            return user_at(user).inbox.first_seq() + inbox_at[user]++;
        };
        for (const Message& m : messages_) {
            std::string& b = out.item();
            bytes::put(b, m.ts_ms);
            bytes::put(b, m.from);
            bytes::put(b, m.to);
            const std::uint64_t from_seq = next_seq(m.from);
            bytes::put(b, from_seq);
            bytes::put(b, m.to == m.from ? from_seq : next_seq(m.to));
            bytes::put_string(b, m.body.text());
            bytes::put_string(b, m.body.client_id());
        }
        out.begin(image_part::marks);
        for (UserIndex user = 0; user < users_.size(); ++user) {
            for (const auto& [peer, marks] : user_at(user).conversations) {
                std::string& b = out.item();
                bytes::put(b, user);
                bytes::put(b, peer);
                bytes::put(b, marks.read_up_to);
                bytes::put(b, marks.delivered_up_to);
            }
        }
        out.finish();
    }

    // What write_image() would write, without writing it: one pass over the messages, no copying
    // (the journal store asks before deciding whether a compaction would shrink anything).
    std::size_t image_bytes() const {
        constexpr std::size_t part_header = 1 + 4;
        constexpr std::size_t head_item = 8 + 8;
        constexpr std::size_t user_item = 4 + 8 + 8;                    // + name
        constexpr std::size_t message_item = 8 + 4 + 4 + 8 + 8 + 4 + 4; // + text + client_id
        constexpr std::size_t mark_item = 4 + 4 + 8 + 8;
        std::size_t items = head_item;
        std::size_t marks = 0;
        for (const auto& u : users_) {
            items += user_item + u->name.size();
            marks += u->conversations.size();
        }
        items += marks * mark_item;
        for (const Message& m : messages_) {
            items += message_item + m.body.text().size() + m.body.client_id().size();
        }
        // Parts end at about ImagePartWriter::part_bytes; each adds a header. An estimate within
        // a few headers is all the caller needs.
        return items + part_header * (4 + items / ImagePartWriter::part_bytes);
    }

    bool read_image_part(std::string_view part) {
        last_conversation_ = {};
        bytes::Reader in(part);
        const auto kind = static_cast<image_part>(in.get<std::uint8_t>());
        const std::size_t count = in.get_count(1);
        switch (kind) {
        case image_part::head:
            if (count != 1 || !users_.empty() || !messages_.empty() || next_msg_id_ != 1) {
                return false;
            }
            next_msg_id_ = in.get<std::uint64_t>();
            first_msg_id_ = in.get<std::uint64_t>();
            if (first_msg_id_ == 0 || first_msg_id_ > next_msg_id_) {
                return false;
            }
            break;
        case image_part::users:
            for (std::size_t i = 0; i < count && !in.bad(); ++i) {
                const std::string_view name = in.get_string();
                const auto last_seq = in.get<std::uint64_t>();
                const auto pushed_seq = in.get<std::uint64_t>();
                if (user_ids_.contains(name) || pushed_seq > last_seq) {
                    return false;
                }
                user_ids_.emplace(std::string(name), static_cast<UserIndex>(users_.size()));
                users_.push_back(
                    std::make_unique<User>(User{std::string(name), last_seq, pushed_seq, {}, {}, {}, 0, {}}));
            }
            break;
        case image_part::messages:
            for (std::size_t i = 0; i < count && !in.bad(); ++i) {
                Message m;
                m.ts_ms = in.get<std::int64_t>();
                m.from = in.get<UserIndex>();
                m.to = in.get<UserIndex>();
                Seqs seqs;
                seqs.from = in.get<std::uint64_t>();
                seqs.to = in.get<std::uint64_t>();
                const std::string_view text = in.get_string();
                const std::string_view client_id = in.get_string();
                const std::uint64_t msg_id = first_msg_id_ + messages_.size();
                if (in.bad() || msg_id >= next_msg_id_ || m.from >= users_.size() || m.to >= users_.size() ||
                    !seq_follows(user_at(m.from), seqs.from) || !seq_follows(user_at(m.to), seqs.to) ||
                    (m.from == m.to && seqs.from != seqs.to)) {
                    return false;
                }
                m.body = MessageBody(bodies_, msg_id, text, client_id);
                index_message(msg_id, m, seqs);
                messages_.push_back(std::move(m));
                if (!client_id.empty()) {
                    // Filed as append() filed it: the same ids in the same order.
                    const UserIndex from = messages_.back().from;
                    if (id_before(user_at(from).highest_id.view(), client_id)) {
                        file_ordered_id(from, client_id, msg_id);
                    } else {
                        const std::size_t hash = client_key_hash(from, client_id);
                        file_id_in_table(hash, msg_id, find_client_id(from, client_id, hash));
                    }
                }
            }
            break;
        case image_part::marks:
            for (std::size_t i = 0; i < count && !in.bad(); ++i) {
                const auto user = in.get<UserIndex>();
                const auto peer = in.get<UserIndex>();
                const auto read_up_to = in.get<std::uint64_t>();
                const auto delivered_up_to = in.get<std::uint64_t>();
                if (in.bad() || user >= users_.size()) {
                    return false;
                }
                const auto found = user_at(user).conversations.find(peer);
                if (found == user_at(user).conversations.end()) {
                    return false; // marks exist only beside a stored message
                }
                found->second.read_up_to = read_up_to;
                found->second.delivered_up_to = delivered_up_to;
            }
            break;
        default:
            return false;
        }
        return in.finished_cleanly();
    }

    // Once every part is read: each user's inbox, if not empty, ends at the user's last seq (an
    // inbox's seqs follow from its place, so one that ended below would give the next message
    // a seq its place does not). A part alone cannot tell: the next part may hold more messages.
    bool image_complete() const {
        return std::all_of(users_.begin(), users_.end(), [](const std::unique_ptr<User>& u) {
            return u->inbox.empty() || u->inbox.last_seq() == u->last_seq;
        });
    }

private:
    // A restored message's seq must be in its user's range and the one after the inbox's newest.
    static bool seq_follows(const User& u, std::uint64_t seq) {
        return seq >= 1 && seq <= u.last_seq && (u.inbox.empty() || seq == u.inbox.last_seq() + 1);
    }

    // Files a new message (its seqs assigned) in both inboxes and its conversation.
    void index_message(std::uint64_t msg_id, const Message& m, Seqs seqs) {
        User& sender = user_at(m.from);
        // Both pushes file: a new message takes each user's next seq, and a restored one was
        // checked with seq_follows().
        sender.inbox.push(seqs.from, msg_id);
        if (m.to != m.from) {
            user_at(m.to).inbox.push(seqs.to, msg_id);
        }
        LastConversation& last = last_conversation_;
        if (last.ids == nullptr || last.from != m.from || last.to != m.to) {
            last.from = m.from;
            last.to = m.to;
            last.sender = &sender.conversations[m.to];
            last.recipient = &user_at(m.to).conversations[m.from]; // the same entry for a note to oneself
            last.ids = &by_conversation_[conversation_key(m.from, m.to)];
        }
        last.sender->last_msg_id = msg_id;
        last.recipient->last_msg_id = msg_id;
        last.ids->push_back(msg_id);
    }

    UserIndex intern(std::string_view name) {
        const auto found = user_ids_.find(name);
        if (found != user_ids_.end()) {
            return found->second;
        }
        const auto index = static_cast<UserIndex>(users_.size());
        users_.push_back(std::make_unique<User>(User{std::string(name), 0, 0, {}, {}, {}, 0, {}}));
        user_ids_.emplace(std::string(name), index);
        return index;
    }

    User& user_at(UserIndex index) { return *users_[index]; }
    const User& user_at(UserIndex index) const { return *users_[index]; }

    User* find_user(std::string_view name) {
        const auto it = user_ids_.find(name);
        return it == user_ids_.end() ? nullptr : &user_at(it->second);
    }

    // The newest message `from` sent with client id `id` (not above the user's highest_id; `hash`
    // its client_key_hash), 0 if none. The table's is the newer if both have one: an id filed
    // among the ordered ids was above all before it, so the table's copy was filed later (the
    // id reused once the first was out of the idempotency window).
    std::uint64_t find_client_id(UserIndex from, std::string_view id, std::size_t hash) const {
        const std::uint64_t in_table = by_client_id_.find(hash, [&](std::uint64_t msg_id) {
            const Message& m = message(msg_id);
            return m.from == from && m.body.client_id() == id;
        });
        if (in_table != 0) {
            return in_table;
        }
        const User& u = user_at(from);
        const auto begin = u.ordered_ids.begin() + static_cast<std::ptrdiff_t>(u.ordered_front);
        const auto it =
            std::lower_bound(begin, u.ordered_ids.end(), id, [&](std::uint64_t msg_id, std::string_view key) {
                return id_before(message(msg_id).body.client_id(), key);
            });
        return it != u.ordered_ids.end() && message(*it).body.client_id() == id ? *it : 0;
    }

    // Files message `msg_id`'s client id `id`, above every id its sender used before, among the
    // sender's ordered ids.
    void file_ordered_id(UserIndex from, std::string_view id, std::uint64_t msg_id) {
        User& u = user_at(from);
        u.ordered_ids.push_back(msg_id);
        u.highest_id.assign(id);
    }

    // Files message `msg_id`'s client id (`hash` its client_key_hash), not above its sender's
    // highest, in the table, where it takes the key over from `earlier` (0 if none), which was
    // out of the idempotency window.
    void file_id_in_table(std::size_t hash, std::uint64_t msg_id, std::uint64_t earlier) {
        if (earlier != 0) {
            by_client_id_.erase(hash, earlier); // nothing if it is an ordered id
        }
        by_client_id_.insert(hash, msg_id); // its slots are the ones find() just read
    }

    // The oldest message is being pruned: its client id no longer deduplicates.
    void forget_client_id(UserIndex from, std::string_view id, std::uint64_t msg_id) {
        User& u = user_at(from);
        // The oldest message of all is the oldest of its sender's ordered ids, if it is one.
        if (u.ordered_front < u.ordered_ids.size() && u.ordered_ids[u.ordered_front] == msg_id) {
            ++u.ordered_front;
            if (u.ordered_front >= u.ordered_ids.size() / 2) {
                // Compact once half is pruned: the vector stays within twice what is live.
                u.ordered_ids.erase(u.ordered_ids.begin(),
                                    u.ordered_ids.begin() + static_cast<std::ptrdiff_t>(u.ordered_front));
                u.ordered_front = 0;
            }
            return;
        }
        // If the key still names this message (a newer one may have taken it over).
        by_client_id_.erase(client_key_hash(from, id), msg_id);
    }

    // Ids are dense: each stored message takes the next one, and prune only removes the front.
    const Message& message(std::uint64_t msg_id) const { return messages_[msg_id - first_msg_id_]; }

    // A held message's seqs: its slots in both inboxes (each in msg_id order), found by msg_id.
    Seqs seqs_of(std::uint64_t msg_id, const Message& m) const {
        const std::uint64_t from = user_at(m.from).inbox.seq_of(msg_id);
        return {from, m.to == m.from ? from : user_at(m.to).inbox.seq_of(msg_id)};
    }

    StoredMessage stored(std::uint64_t msg_id) const {
        const Message& m = message(msg_id);
        const Seqs seqs = seqs_of(msg_id, m);
        return StoredMessage{
            msg_id,    m.ts_ms, user_at(m.from).name, user_at(m.to).name, std::string(m.body.text()),
            seqs.from, seqs.to};
    }

    Marks* find_marks(const std::string& user, const std::string& peer) {
        const auto u = user_ids_.find(user);
        const auto p = user_ids_.find(peer);
        if (u == user_ids_.end() || p == user_ids_.end()) {
            return nullptr;
        }
        auto& conversations = user_at(u->second).conversations;
        const auto m = conversations.find(p->second);
        return m == conversations.end() ? nullptr : &m->second;
    }

    std::uint64_t next_msg_id_ = 1;
    std::uint64_t first_msg_id_ = 1; // msg_id of messages_.front()
    BodyBlocks bodies_;              // the messages' texts and client ids
    std::deque<Message> messages_;   // msg_id order
    // By UserIndex; users are never removed. Pointers, because a vector of Users could not grow
    // by moving them (std::deque's move may throw, so it would copy every inbox), and a deque of
    // them cost ~80 instructions a chat in index arithmetic (ADR 015).
    std::vector<std::unique_ptr<User>> users_;
    boost::unordered_flat_map<std::string, UserIndex, NameHash, std::equal_to<>> user_ids_;
    boost::unordered_flat_map<std::uint64_t, std::deque<std::uint64_t>> by_conversation_; // msg_id order
    // (sender, client_id) -> the newest msg_id sent with it, for the ids not among the sender's
    // ordered_ids; the key's text lives in the message.
    MessageIdTable by_client_id_;
    struct Prepared {
        UserIndex from;
        UserIndex to;
        std::size_t id_hash; // 0 if no client id
    };
    std::vector<Prepared> prepared_; // append()'s batch, reused
    // Where index_message() last filed (both sides' marks and the conversation's ids), so a burst
    // of one conversation skips three hash lookups a message. A pointer into a flat map holds
    // until that map next inserts or erases: index_message() takes these after its own inserts,
    // and prune() and the image reader, which insert and erase too, forget them.
    struct LastConversation {
        UserIndex from = 0;
        UserIndex to = 0;
        Marks* sender = nullptr;
        Marks* recipient = nullptr;
        std::deque<std::uint64_t>* ids = nullptr; // null: nothing remembered
    };
    LastConversation last_conversation_;
};

} // namespace

std::unique_ptr<MessageStore> make_memory_store() {
    return std::make_unique<MemoryStore>();
}

void write_memory_image(const MessageStore& store, const std::function<void(std::string_view)>& part) {
    static_cast<const MemoryStore&>(store).write_image(part);
}

std::size_t memory_image_bytes(const MessageStore& store) {
    return static_cast<const MemoryStore&>(store).image_bytes();
}

bool read_memory_image_part(MessageStore& store, std::string_view part) {
    return static_cast<MemoryStore&>(store).read_image_part(part);
}

bool memory_image_complete(const MessageStore& store) {
    return static_cast<const MemoryStore&>(store).image_complete();
}

} // namespace parley::store
