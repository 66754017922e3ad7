// The striped user -> shards directory.
#include "chat/directory.hpp"

namespace parley::chat {

Directory::Stripe& Directory::stripe_for(std::string_view user) const {
    // Mix the high bits down: std::hash of a string may leave low bits correlated.
    std::size_t h = StringHash{}(user);
    h ^= h >> 29;
    return stripes_[h % stripe_count];
}

void Directory::add(std::string_view user, unsigned shard) {
    Stripe& s = stripe_for(user);
    std::lock_guard lock(s.mutex);
    auto it = s.by_user.find(user);
    if (it == s.by_user.end()) {
        it = s.by_user.emplace(std::string(user), Entry{}).first;
    }
    it->second.shards |= ShardMask{1} << shard;
}

void Directory::remove(std::string_view user, unsigned shard) {
    Stripe& s = stripe_for(user);
    std::lock_guard lock(s.mutex);
    auto it = s.by_user.find(user);
    if (it == s.by_user.end()) {
        return;
    }
    it->second.shards &= ~(ShardMask{1} << shard);
    if (it->second.shards == 0) {
        s.by_user.erase(it);
    }
}

ShardMask Directory::shards_of(std::string_view user) const {
    Stripe& s = stripe_for(user);
    std::lock_guard lock(s.mutex);
    auto it = s.by_user.find(user);
    return it == s.by_user.end() ? 0 : it->second.shards;
}

bool Directory::charge(std::string_view user, std::uint64_t bytes, std::int64_t now_ms,
                       const SendLimits& limits) {
    Stripe& s = stripe_for(user);
    std::lock_guard lock(s.mutex);
    auto it = s.by_user.find(user);
    if (it == s.by_user.end()) {
        return true;
    }
    Entry& e = it->second;
    if (!e.budget_started) {
        e.budget = SendBudget(limits, now_ms);
        e.budget_started = true;
    }
    return e.budget.try_take(limits, bytes, now_ms);
}

} // namespace parley::chat
