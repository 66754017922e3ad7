// The in-memory store: messages in one deque by msg_id, per-user inboxes of (seq, msg_id), per
// conversation deques of msg_ids, and read/delivered marks per (user, peer). Mirrors the SQLite
// store's tables one to one; all calls run on the storage thread, so nothing here is locked.
// Deques, not trees, because ids and seqs only grow and prune only takes the oldest: appends go
// at the back, prune pops the front, and lookups are an index or a binary search.
#include "store/memory_store.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <limits>
#include <unordered_map>
#include <utility>

namespace parley::store {

namespace {

using NamePair = std::pair<std::string, std::string>;

struct NamePairHash {
    std::size_t operator()(const NamePair& p) const noexcept {
        const std::size_t a = std::hash<std::string>{}(p.first);
        return a ^ (std::hash<std::string>{}(p.second) + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
    }
};

// A conversation's key: the two names in order, so both directions share one entry.
NamePair conversation_key(const std::string& a, const std::string& b) {
    return a < b ? NamePair{a, b} : NamePair{b, a};
}

// One side of a conversation, as the SQLite store's `conversations` row.
struct Marks {
    std::uint64_t last_msg_id = 0;
    std::uint64_t read_up_to = 0;
    std::uint64_t delivered_up_to = 0;
};

struct InboxSlot {
    std::uint64_t seq;
    std::uint64_t msg_id;
};

struct User {
    std::uint64_t last_seq = 0; // never lowered, also when prune empties the inbox
    std::uint64_t pushed_seq = 0;
    std::deque<InboxSlot> inbox;                          // seq order, which is msg_id order
    std::unordered_map<std::string, Marks> conversations; // by peer
};

// The oldest ts a duplicate may have, without overflowing for a huge window.
std::int64_t window_start(std::int64_t now_ms, std::int64_t window_ms) {
    constexpr auto lowest = std::numeric_limits<std::int64_t>::min();
    return now_ms < lowest + window_ms ? lowest : now_ms - window_ms;
}

class MemoryStore final : public MessageStore {
public:
    boost::system::result<std::vector<AppendResult>> append(std::span<const NewMessage> batch,
                                                            std::int64_t now_ms,
                                                            std::int64_t idempotency_window_ms) override {
        std::vector<AppendResult> results;
        results.reserve(batch.size());
        for (const NewMessage& in : batch) {
            if (idempotency_window_ms > 0 && !in.client_id.empty()) {
                const auto found = by_client_id_.find({in.from, in.client_id});
                if (found != by_client_id_.end()) {
                    const StoredMessage& earlier = message(found->second);
                    if (earlier.ts_ms >= window_start(now_ms, idempotency_window_ms)) {
                        results.push_back({earlier, true});
                        continue;
                    }
                }
            }
            StoredMessage m;
            m.msg_id = next_msg_id_++;
            m.ts_ms = now_ms;
            m.from = in.from;
            m.to = in.to;
            m.text = in.text;
            User& from = users_[in.from];
            m.from_seq = ++from.last_seq;
            from.inbox.push_back({m.from_seq, m.msg_id});
            from.conversations[in.to].last_msg_id = m.msg_id;
            if (in.to == in.from) {
                m.to_seq = m.from_seq;
            } else {
                User& to = users_[in.to];
                m.to_seq = ++to.last_seq;
                to.inbox.push_back({m.to_seq, m.msg_id});
                to.conversations[in.from].last_msg_id = m.msg_id;
            }
            by_conversation_[conversation_key(in.from, in.to)].push_back(m.msg_id);
            if (!in.client_id.empty()) {
                by_client_id_[{in.from, in.client_id}] = m.msg_id;
                client_id_of_[m.msg_id] = in.client_id;
            }
            results.push_back({m, false});
            messages_.push_back(std::move(m));
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
        auto it = std::upper_bound(u->inbox.begin(), u->inbox.end(), since_seq,
                                   [](std::uint64_t seq, const InboxSlot& slot) { return seq < slot.seq; });
        for (; it != u->inbox.end() && entries.size() < limit; ++it) {
            entries.push_back({it->seq, message(it->msg_id)});
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
        const auto it = users_.find(user);
        if (it != users_.end()) {
            // Nothing was pushed beyond what exists; as in SQLite, an unknown user gets no entry.
            User& u = it->second;
            u.pushed_seq = std::max(u.pushed_seq, std::min(seq, u.last_seq));
        }
        return {};
    }

    boost::system::result<std::vector<StoredMessage>> history(const std::string& user,
                                                              const std::string& peer, std::uint64_t before,
                                                              std::size_t limit) override {
        std::vector<StoredMessage> page;
        const auto conversation = by_conversation_.find(conversation_key(user, peer));
        if (conversation == by_conversation_.end()) {
            return page;
        }
        const std::deque<std::uint64_t>& ids = conversation->second;
        auto it = before == 0 ? ids.end() : std::lower_bound(ids.begin(), ids.end(), before);
        while (it != ids.begin() && page.size() < limit) {
            --it;
            page.push_back(message(*it));
        }
        return page;
    }

    boost::system::result<std::vector<Conversation>> conversations(const std::string& user) override {
        std::vector<Conversation> list;
        const User* u = find_user(user);
        if (u == nullptr) {
            return list;
        }
        for (const auto& [peer, marks] : u->conversations) {
            Conversation c;
            c.peer = peer;
            c.last = message(marks.last_msg_id);
            c.read_up_to = marks.read_up_to;
            const Marks peer_marks = users_.at(peer).conversations.at(user);
            c.peer_read_up_to = peer_marks.read_up_to;
            c.peer_delivered_up_to = peer_marks.delivered_up_to;
            const std::deque<std::uint64_t>& ids = by_conversation_.at(conversation_key(user, peer));
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
        while (deleted < max_messages && !messages_.empty() && messages_.front().ts_ms < before_ms) {
            const StoredMessage& m = messages_.front();
            // The oldest message is the oldest of each inbox and of its conversation too.
            users_.at(m.from).inbox.pop_front();
            if (m.to != m.from) {
                users_.at(m.to).inbox.pop_front();
            }
            const auto client_id = client_id_of_.find(m.msg_id);
            if (client_id != client_id_of_.end()) {
                const auto owner = by_client_id_.find({m.from, client_id->second});
                if (owner != by_client_id_.end() && owner->second == m.msg_id) {
                    by_client_id_.erase(owner);
                }
                client_id_of_.erase(client_id);
            }
            const auto conversation = by_conversation_.find(conversation_key(m.from, m.to));
            conversation->second.pop_front();
            if (conversation->second.empty()) {
                by_conversation_.erase(conversation);
                users_.at(m.from).conversations.erase(m.to);
                users_.at(m.to).conversations.erase(m.from);
            }
            messages_.pop_front();
            ++deleted;
        }
        return deleted;
    }

private:
    const User* find_user(const std::string& name) const {
        const auto it = users_.find(name);
        return it == users_.end() ? nullptr : &it->second;
    }

    // Ids are dense: each stored message takes the next one, and prune only removes the front.
    const StoredMessage& message(std::uint64_t msg_id) const {
        return messages_[msg_id - messages_.front().msg_id];
    }

    Marks* find_marks(const std::string& user, const std::string& peer) {
        const auto u = users_.find(user);
        if (u == users_.end()) {
            return nullptr;
        }
        const auto m = u->second.conversations.find(peer);
        return m == u->second.conversations.end() ? nullptr : &m->second;
    }

    std::uint64_t next_msg_id_ = 1;
    std::deque<StoredMessage> messages_; // msg_id order
    std::unordered_map<std::string, User> users_;
    std::unordered_map<NamePair, std::deque<std::uint64_t>, NamePairHash> by_conversation_; // msg_id order
    // (sender, client_id) -> the newest msg_id sent with it, and the way back for prune.
    std::unordered_map<NamePair, std::uint64_t, NamePairHash> by_client_id_;
    std::unordered_map<std::uint64_t, std::string> client_id_of_;
};

} // namespace

std::unique_ptr<MessageStore> make_memory_store() {
    return std::make_unique<MemoryStore>();
}

} // namespace parley::store
