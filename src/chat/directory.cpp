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
    auto it = s.shards_by_user.find(user);
    if (it == s.shards_by_user.end()) {
        it = s.shards_by_user.emplace(std::string(user), ShardMask{0}).first;
    }
    it->second |= ShardMask{1} << shard;
}

void Directory::remove(std::string_view user, unsigned shard) {
    Stripe& s = stripe_for(user);
    std::lock_guard lock(s.mutex);
    auto it = s.shards_by_user.find(user);
    if (it == s.shards_by_user.end()) {
        return;
    }
    it->second &= ~(ShardMask{1} << shard);
    if (it->second == 0) {
        s.shards_by_user.erase(it);
    }
}

ShardMask Directory::shards_of(std::string_view user) const {
    Stripe& s = stripe_for(user);
    std::lock_guard lock(s.mutex);
    auto it = s.shards_by_user.find(user);
    return it == s.shards_by_user.end() ? 0 : it->second;
}

} // namespace parley::chat
