// Which shards hold sessions of which user, what each online user may still send, and how far the
// server got pushing each online user's inbox: the only state shared by all shards. Striped by the hash of
// the user id so lookups on different stripes never contend; each stripe's mutex is held only for one
// hash-map operation (lock order: docs/threads.md — a stripe lock is a leaf). The send budget lives here, not
// on a shard, so a user's limit holds across all of the user's devices whichever threads they are on.
#pragma once

#include "chat/send_budget.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

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

    Directory();
    ~Directory();
    Directory(const Directory&) = delete;
    Directory& operator=(const Directory&) = delete;

private:
    // A stripe: its lock and its part of the table (directory.cpp, which keeps the table's
    // header out of every file that includes this one).
    struct Stripe;
    static constexpr std::size_t stripe_count = 64;

    // The stripe of the user whose name hashes to `hash`.
    Stripe& stripe_for(std::size_t hash) const;

    std::unique_ptr<Stripe[]> stripes_;
};

} // namespace parley::chat
