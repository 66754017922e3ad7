// The striped user -> shards directory.
#include "chat/directory.hpp"

#include <algorithm>

namespace parley::chat {

Directory::Stripe& Directory::stripe_for(const HashedName& user) const {
    // Mix the high bits down: std::hash of a string may leave low bits correlated.
    std::size_t h = user.hash;
    h ^= h >> 29;
    return stripes_[h % stripe_count];
}

void Directory::add(std::string_view user, unsigned shard) {
    const HashedName key = hashed(user);
    Stripe& s = stripe_for(key);
    std::lock_guard lock(s.mutex);
    auto it = s.by_user.find(key);
    if (it == s.by_user.end()) {
        it = s.by_user.emplace(std::string(user), Entry{}).first;
    }
    it->second.shards |= ShardMask{1} << shard;
}

std::optional<std::uint64_t> Directory::remove(std::string_view user, unsigned shard) {
    const HashedName key = hashed(user);
    Stripe& s = stripe_for(key);
    std::lock_guard lock(s.mutex);
    auto it = s.by_user.find(key);
    if (it == s.by_user.end()) {
        return std::nullopt;
    }
    it->second.shards &= ~(ShardMask{1} << shard);
    if (it->second.shards != 0) {
        return std::nullopt;
    }
    const std::uint64_t pushed = it->second.pushed_seq;
    s.by_user.erase(it);
    return pushed;
}

ShardMask Directory::shards_of(std::string_view user) const {
    const HashedName key = hashed(user);
    Stripe& s = stripe_for(key);
    std::lock_guard lock(s.mutex);
    auto it = s.by_user.find(key);
    return it == s.by_user.end() ? 0 : it->second.shards;
}

ShardMask Directory::reach(std::string_view user, std::uint64_t seq) {
    const HashedName key = hashed(user);
    Stripe& s = stripe_for(key);
    std::lock_guard lock(s.mutex);
    auto it = s.by_user.find(key);
    if (it == s.by_user.end()) {
        return 0;
    }
    it->second.pushed_seq = std::max(it->second.pushed_seq, seq);
    return it->second.shards;
}

std::uint64_t Directory::pushed_seq(std::string_view user) const {
    const HashedName key = hashed(user);
    Stripe& s = stripe_for(key);
    std::lock_guard lock(s.mutex);
    auto it = s.by_user.find(key);
    return it == s.by_user.end() ? 0 : it->second.pushed_seq;
}

bool Directory::charge(std::string_view user, std::uint64_t bytes, std::int64_t now_ms,
                       const SendLimits& limits) {
    const HashedName key = hashed(user);
    Stripe& s = stripe_for(key);
    std::lock_guard lock(s.mutex);
    auto it = s.by_user.find(key);
    if (it == s.by_user.end()) {
        return true;
    }
    Entry& e = it->second;
    if (!e.budget.started()) {
        e.budget = SendBudget(limits, now_ms);
    }
    return e.budget.try_take(limits, bytes, now_ms);
}

} // namespace parley::chat
