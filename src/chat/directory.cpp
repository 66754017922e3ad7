// The striped user -> shards directory.
#include "chat/directory.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace parley::chat {

namespace {

// A stripe's lock. The storage thread takes one for each user a chat reaches (two a chat), each
// held for one table operation, and contention is rare (64 stripes): a pthread mutex's lock and
// unlock were ~55 instructions of that, this is a few. It spins only while another thread holds
// the stripe, and yields after a while so that a holder the kernel preempted can finish.
class StripeLock {
public:
    void lock() noexcept {
        for (unsigned spins = 0; locked_.exchange(true, std::memory_order_acquire);) {
            while (locked_.load(std::memory_order_relaxed)) {
                if (++spins < 64) {
                    pause();
                } else {
                    std::this_thread::yield();
                }
            }
        }
    }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
    static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause(); // tells the core this is a spin: it yields to its sibling thread
#endif
    }

    std::atomic<bool> locked_{false};
};

// A name with its hash, computed once for both the stripe and the stripe's table: the storage
// thread looks up two users for every message it fans out.
struct HashedName {
    std::string_view name;
    std::size_t hash;
};

struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    std::size_t operator()(const HashedName& k) const noexcept { return k.hash; }
};

struct NameEqual {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
    bool operator()(const HashedName& a, std::string_view b) const noexcept { return a.name == b; }
    bool operator()(std::string_view a, const HashedName& b) const noexcept { return a == b.name; }
};

// Kept small: one per online user (docs/operations.md, Capacity).
struct Entry {
    ShardMask shards = 0;
    std::uint64_t pushed_seq = 0;
    SendBudget budget; // not started until the user's first chat
};

HashedName hashed(std::string_view user) {
    return {user, NameHash{}(user)};
}

} // namespace

struct Directory::Stripe {
    StripeLock mutex;
    std::unordered_map<std::string, Entry, NameHash, NameEqual> by_user;
};

Directory::Directory() : stripes_(std::make_unique<Stripe[]>(stripe_count)) {}

Directory::~Directory() = default;

Directory::Stripe& Directory::stripe_for(std::size_t hash) const {
    // Mix the high bits down: std::hash of a string may leave low bits correlated.
    std::size_t h = hash;
    h ^= h >> 29;
    return stripes_[h % stripe_count];
}

void Directory::add(std::string_view user, unsigned shard) {
    const HashedName key = hashed(user);
    Stripe& s = stripe_for(key.hash);
    std::lock_guard lock(s.mutex);
    auto it = s.by_user.find(key);
    if (it == s.by_user.end()) {
        it = s.by_user.emplace(std::string(user), Entry{}).first;
    }
    it->second.shards |= ShardMask{1} << shard;
}

std::optional<std::uint64_t> Directory::remove(std::string_view user, unsigned shard) {
    const HashedName key = hashed(user);
    Stripe& s = stripe_for(key.hash);
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
    Stripe& s = stripe_for(key.hash);
    std::lock_guard lock(s.mutex);
    auto it = s.by_user.find(key);
    return it == s.by_user.end() ? 0 : it->second.shards;
}

ShardMask Directory::reach(std::string_view user, std::uint64_t seq) {
    const HashedName key = hashed(user);
    Stripe& s = stripe_for(key.hash);
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
    Stripe& s = stripe_for(key.hash);
    std::lock_guard lock(s.mutex);
    auto it = s.by_user.find(key);
    return it == s.by_user.end() ? 0 : it->second.pushed_seq;
}

bool Directory::charge(std::string_view user, std::uint64_t bytes, std::int64_t now_ms,
                       const SendLimits& limits) {
    const HashedName key = hashed(user);
    Stripe& s = stripe_for(key.hash);
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
