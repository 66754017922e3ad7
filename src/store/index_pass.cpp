#include "store/index_pass.hpp"

#include <algorithm>
#include <utility>

namespace parley::store {

TailEntry tail_entry(const log_rows::LoggedMessage& m, std::uint64_t fingerprint) {
    return {m.msg_id, m.ts_ms, m.from, m.to, m.from_seq, m.to_seq, fingerprint};
}

TailEntry tail_entry(const log_rows::LoggedMessage& m) {
    return tail_entry(m, m.client_id.empty() ? 0 : log_rows::client_id_fingerprint(m.from, m.client_id));
}

IndexPass::IndexPass(std::span<const TailEntry> tail) : tail_count_(tail.size()) {
    if (tail.empty()) {
        return;
    }
    through_ = tail.back().msg_id;
    inbox_.reserve(tail.size() * 2);
    pairs_.reserve(tail.size());
    for (const TailEntry& m : tail) {
        inbox_.push_back({m.from, m.from_seq, m.msg_id});
        if (m.to != m.from) { // a chat to oneself takes one inbox entry
            inbox_.push_back({m.to, m.to_seq, m.msg_id});
        }
        pairs_.push_back({std::min(m.from, m.to), std::max(m.from, m.to), m.msg_id, m.from <= m.to});
    }
    // A user's seqs and a pair's msg_ids already increase in tail order: a stable sort by user
    // (pair) alone keeps them so.
    std::stable_sort(inbox_.begin(), inbox_.end(),
                     [](const InboxKey& a, const InboxKey& b) { return a.user < b.user; });
    std::stable_sort(pairs_.begin(), pairs_.end(), [](const PairKey& a, const PairKey& b) {
        return a.lo != b.lo ? a.lo < b.lo : a.hi < b.hi;
    });
}

bool IndexPass::take_inbox_run(Cursor& at, std::int64_t& user,
                               std::vector<log_rows::InboxEntryRef>& entries) const {
    if (at.inbox == inbox_.size()) {
        return false;
    }
    user = inbox_[at.inbox].user;
    entries.clear();
    for (; at.inbox < inbox_.size() && inbox_[at.inbox].user == user; ++at.inbox) {
        entries.push_back({inbox_[at.inbox].seq, inbox_[at.inbox].msg_id});
    }
    return true;
}

bool IndexPass::take_conversation_run(Cursor& at, std::int64_t& lo, std::int64_t& hi,
                                      std::vector<log_rows::ConversationEntryRef>& messages) const {
    if (at.pairs == pairs_.size()) {
        return false;
    }
    lo = pairs_[at.pairs].lo;
    hi = pairs_[at.pairs].hi;
    messages.clear();
    for (; at.pairs < pairs_.size() && pairs_[at.pairs].lo == lo && pairs_[at.pairs].hi == hi; ++at.pairs) {
        messages.push_back({pairs_[at.pairs].msg_id, pairs_[at.pairs].from_lo});
    }
    return true;
}

bool IndexPass::holds_inbox_entry(const TailEntry& m, std::int64_t user) const {
    // Runs are written whole and in user order: every user below the next one to write is done.
    return m.msg_id <= through_ &&
           (committed_.inbox == inbox_.size() || user < inbox_[committed_.inbox].user);
}

bool IndexPass::holds_conversation_entry(const TailEntry& m) const {
    if (m.msg_id > through_) {
        return false;
    }
    if (committed_.pairs == pairs_.size()) {
        return true;
    }
    const PairKey& next = pairs_[committed_.pairs];
    return std::pair(std::min(m.from, m.to), std::max(m.from, m.to)) < std::pair(next.lo, next.hi);
}

} // namespace parley::store
