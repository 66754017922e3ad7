#include "net/token_bucket.hpp"

#include <gtest/gtest.h>

namespace parley::net {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucket, BurstThenRate) {
    const TokenBucket::time_point t0{};
    TokenBucket b(10, 3, t0);
    EXPECT_TRUE(b.try_take(t0));
    EXPECT_TRUE(b.try_take(t0));
    EXPECT_TRUE(b.try_take(t0));
    EXPECT_FALSE(b.try_take(t0)) << "burst of 3 used up";
    EXPECT_FALSE(b.try_take(t0 + 50ms)) << "half a token after 50 ms at 10/s";
    EXPECT_TRUE(b.try_take(t0 + 100ms));
    EXPECT_TRUE(b.try_take(t0 + 10s));
    EXPECT_TRUE(b.try_take(t0 + 10s));
    EXPECT_TRUE(b.try_take(t0 + 10s));
    EXPECT_FALSE(b.try_take(t0 + 10s)) << "refill stops at the burst size";
}

TEST(TokenBucket, ZeroRateIsUnlimited) {
    const TokenBucket::time_point t0{};
    TokenBucket b(0, 0, t0);
    for (int i = 0; i < 1000; ++i) {
        ASSERT_TRUE(b.try_take(t0));
    }
}

} // namespace
} // namespace parley::net
