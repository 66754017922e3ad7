#include "net/token_bucket.hpp"

#include <gtest/gtest.h>

namespace parley::net {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucket, BurstThenRate) {
    const TokenBucket::time_point t0{};
    const RateLimit limit{10, 3};
    TokenBucket b(limit, t0);
    EXPECT_TRUE(b.try_take(limit, t0));
    EXPECT_TRUE(b.try_take(limit, t0));
    EXPECT_TRUE(b.try_take(limit, t0));
    EXPECT_FALSE(b.try_take(limit, t0)) << "burst of 3 used up";
    EXPECT_FALSE(b.try_take(limit, t0 + 50ms)) << "half a token after 50 ms at 10/s";
    EXPECT_TRUE(b.try_take(limit, t0 + 100ms));
    EXPECT_TRUE(b.try_take(limit, t0 + 10s));
    EXPECT_TRUE(b.try_take(limit, t0 + 10s));
    EXPECT_TRUE(b.try_take(limit, t0 + 10s));
    EXPECT_FALSE(b.try_take(limit, t0 + 10s)) << "refill stops at the burst size";
}

TEST(TokenBucket, ZeroRateIsUnlimited) {
    const TokenBucket::time_point t0{};
    const RateLimit unlimited{0, 0};
    TokenBucket b(unlimited, t0);
    for (int i = 0; i < 1000; ++i) {
        ASSERT_TRUE(b.try_take(unlimited, t0, 1e9));
    }
}

TEST(TokenBucket, AmountsAndTakingOnlyWhatFits) {
    const TokenBucket::time_point t0{};
    const RateLimit bytes{1000, 4000};
    TokenBucket b(bytes, t0);
    EXPECT_TRUE(b.try_take(bytes, t0, 3000));
    EXPECT_FALSE(b.try_take(bytes, t0, 1500)) << "1000 left";
    EXPECT_TRUE(b.try_take(bytes, t0, 1000)) << "a refused take took nothing";
    EXPECT_TRUE(b.try_take(bytes, t0 + 2s, 2000));
}

TEST(TokenBucket, AClockThatStandsStillOrStepsBackAddsNothing) {
    const TokenBucket::time_point t0 = TokenBucket::time_point{} + 10s;
    const RateLimit limit{10, 1};
    TokenBucket b(limit, t0);
    EXPECT_TRUE(b.try_take(limit, t0));
    EXPECT_FALSE(b.try_take(limit, t0 - 5s));
    EXPECT_FALSE(b.try_take(limit, t0 - 5s + 50ms)) << "back in time, then a little forward: half a token";
}

TEST(TokenBucketPair, TakesFromBothOrNeither) {
    const TokenBucket::time_point t0{};
    const RateLimit frames{10, 2};
    const RateLimit bytes{1000, 1500};
    TokenBucketPair p(frames, bytes, t0);
    EXPECT_TRUE(p.try_take(frames, 1, bytes, 1000, t0));
    EXPECT_FALSE(p.try_take(frames, 1, bytes, 1000, t0)) << "a frame is left, but only 500 bytes";
    EXPECT_TRUE(p.try_take(frames, 1, bytes, 500, t0)) << "the refused take used up no frame token";
    EXPECT_FALSE(p.try_take(frames, 1, bytes, 0, t0)) << "frames used up";
    EXPECT_TRUE(p.try_take(frames, 1, bytes, 100, t0 + 100ms)) << "one frame and 100 bytes earned in 100 ms";
    EXPECT_FALSE(p.try_take(frames, 1, bytes, 0, t0 + 100ms - 5s)) << "a clock stepping back earns nothing";
}

TEST(TokenBucketPair, AZeroRateTurnsOneSideOff) {
    const TokenBucket::time_point t0{};
    const RateLimit frames{0, 0};
    const RateLimit bytes{1000, 1000};
    TokenBucketPair p(frames, bytes, t0);
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(p.try_take(frames, 1, bytes, 100, t0)) << i;
    }
    EXPECT_FALSE(p.try_take(frames, 1, bytes, 100, t0)) << "the byte side still counts";
}

} // namespace
} // namespace parley::net
