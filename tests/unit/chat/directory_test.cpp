#include "chat/directory.hpp"

#include <gtest/gtest.h>

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

} // namespace
} // namespace parley::chat
