// Which shards hold sessions of which user, what each online user may still send, and how far the
// server got pushing each online user's inbox: the only state shared by all shards. Striped by the hash of
// the user id so lookups on different stripes never contend; each stripe's mutex is held only for one
// hash-map operation (lock order: docs/threads.md — a stripe lock is a leaf). The send budget lives here, not
// on a shard, so a user's limit holds across all of the user's devices whichever threads they are on.
#pragma once

#include "chat/send_budget.hpp"

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace parley::chat {

// A set of shards as a bit mask: shard i is bit i.
using ShardMask = std::uint64_t;
inline constexpr unsigned max_shards = 64;

class Directory {
public:
    // Records that `user` has at least one session on `shard`. Any thread.
    void add(std::string_view user, unsigned shard);
    // Records that `user` has no more sessions on `shard`. If that was the user's last shard, the
    // user is forgotten and the result is the user's pushed seq (see reach()), to be persisted:
    // exactly one caller sees the user go offline, even when shards race. Any thread.
    std::optional<std::uint64_t> remove(std::string_view user, unsigned shard);
    // The shards holding sessions of `user` right now (0 if none). Any thread.
    ShardMask shards_of(std::string_view user) const;
    // shards_of(), and if the user is online, raises the user's pushed seq to `seq`: the highest
    // inbox seq handed to the user's sessions, where a login without `since` resumes. One lookup
    // for both, because the storage thread does this for every message it fans out. Any thread.
    ShardMask reach(std::string_view user, std::uint64_t seq);
    // The pushed seq of an online user; 0 if offline or nothing was pushed yet. Any thread.
    std::uint64_t pushed_seq(std::string_view user) const;
    // Charges one message of `bytes` to `user`'s send budget (created full when the user came
    // online); false if the user is over `limits` and the message must be refused. A user with
    // no session (not in the directory) is never charged. Any thread.
    bool charge(std::string_view user, std::uint64_t bytes, std::int64_t now_ms, const SendLimits& limits);

private:
    // A name with its hash, computed once for both the stripe and the stripe's table: the
    // storage thread looks up two users for every message it fans out.
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
    struct Stripe {
        mutable std::mutex mutex;
        std::unordered_map<std::string, Entry, NameHash, NameEqual> by_user;
    };
    static constexpr std::size_t stripe_count = 64;

    static HashedName hashed(std::string_view user) { return {user, NameHash{}(user)}; }
    Stripe& stripe_for(const HashedName& user) const;

    mutable std::array<Stripe, stripe_count> stripes_;
};

} // namespace parley::chat
