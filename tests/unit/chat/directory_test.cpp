#include "chat/directory.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

namespace parley::chat {
namespace {

TEST(Directory, TracksShardsPerUser) {
    Directory d;
    EXPECT_EQ(d.shards_of("alice"), 0u);
    d.add("alice", 0);
    d.add("alice", 3);
    EXPECT_EQ(d.shards_of("alice"), ShardMask{0b1001});
    d.remove("alice", 0);
    EXPECT_EQ(d.shards_of("alice"), ShardMask{0b1000});
    d.remove("alice", 3);
    EXPECT_EQ(d.shards_of("alice"), 0u);
    d.remove("nobody", 1); // harmless
}

TEST(Directory, KeepsThePushedSeqOfAnOnlineUserAndHandsItOverWhenTheUserLeaves) {
    Directory d;
    EXPECT_EQ(d.reach("alice", 5), 0u) << "an offline user is not reached and gets no mark";
    EXPECT_EQ(d.pushed_seq("alice"), 0u);
    d.add("alice", 0);
    d.add("alice", 2);
    EXPECT_EQ(d.reach("alice", 7), ShardMask{0b101});
    EXPECT_EQ(d.reach("alice", 3), ShardMask{0b101});
    EXPECT_EQ(d.pushed_seq("alice"), 7u) << "the mark only rises";
    EXPECT_EQ(d.remove("alice", 0), std::nullopt) << "still online on shard 2";
    EXPECT_EQ(d.remove("alice", 2), std::optional<std::uint64_t>{7}) << "the last shard hands the mark over";
    EXPECT_EQ(d.pushed_seq("alice"), 0u);
    EXPECT_EQ(d.remove("alice", 2), std::nullopt) << "only one caller sees the user go offline";
    d.add("alice", 1);
    EXPECT_EQ(d.pushed_seq("alice"), 0u) << "a new login starts without a mark; the store has the old one";
}

TEST(Directory, ExactlyOneOfRacingShardsSeesTheUserGoOffline) {
    Directory d;
    constexpr int rounds = 2000;
    std::atomic<int> offline_seen{0};
    for (int i = 0; i < rounds; ++i) {
        d.add("bob", 0);
        d.add("bob", 1);
        std::thread other([&] {
            if (d.remove("bob", 1)) {
                ++offline_seen;
            }
        });
        if (d.remove("bob", 0)) {
            ++offline_seen;
        }
        other.join();
    }
    EXPECT_EQ(offline_seen.load(), rounds);
}

TEST(Directory, ConcurrentUpdatesOnDifferentUsersAreConsistent) {
    Directory d;
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t) {
        threads.emplace_back([&d, t] {
            for (int i = 0; i < 2000; ++i) {
                const std::string user = "u" + std::to_string(i);
                d.add(user, t);
                if (i % 2 == 0) {
                    d.remove(user, t);
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(d.shards_of("u1"), ShardMask{0b1111});
    EXPECT_EQ(d.shards_of("u2"), 0u);
}

// Four threads charge one user (one stripe, one entry) 20,000 times each against a budget of
// exactly 50,000 messages with no refill (the clock stands still): the stripe lock must let
// exactly 50,000 through. A lock that let two threads into the entry at once loses or doubles
// takes (the counter is a plain double); meanwhile other users are added and removed on the same
// and other stripes, so the table also grows under the lock.
TEST(Directory, OneStripeUnderContentionLosesNoUpdate) {
    Directory d;
    d.add("carol", 0);
    const SendLimits limits{1, 50'000, 0, 0};
    constexpr int threads = 4;
    constexpr int charges = 20'000;
    std::atomic<int> accepted{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            int mine = 0;
            for (int i = 0; i < charges; ++i) {
                if (d.charge("carol", 10, 1'000, limits)) {
                    ++mine;
                }
                d.reach("carol", static_cast<std::uint64_t>(t * charges + i));
                const std::string other = "x" + std::to_string(t) + "-" + std::to_string(i % 500);
                d.add(other, static_cast<unsigned>(t));
                if (i % 3 == 0) {
                    d.remove(other, static_cast<unsigned>(t));
                }
            }
            accepted += mine;
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    EXPECT_EQ(accepted.load(), 50'000);
    EXPECT_EQ(d.pushed_seq("carol"), std::uint64_t{threads * charges - 1});
    EXPECT_EQ(d.shards_of("carol"), ShardMask{1});
}

} // namespace
} // namespace parley::chat
