#include "auth/login_throttle.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley::auth {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

const LoginThrottle::time_point t0{};

void fail(LoginThrottle& throttle, std::string_view key, int times, LoginThrottle::time_point at) {
    for (int i = 0; i < times; ++i) {
        throttle.record_failure(key, at);
    }
}

TEST(LoginThrottle, UnknownKeyMayTry) {
    const LoginThrottle throttle({});
    EXPECT_EQ(throttle.retry_after("1.2.3.4", t0), 0ms);
    EXPECT_EQ(throttle.size(), 0u);
}

TEST(LoginThrottle, FreeFailuresCostNothing) {
    LoginThrottle throttle({});
    for (int i = 0; i < 4; ++i) {
        throttle.record_failure("alice", t0);
        EXPECT_EQ(throttle.retry_after("alice", t0), 0ms) << "after failure " << i + 1;
    }
    throttle.record_failure("alice", t0);
    EXPECT_EQ(throttle.retry_after("alice", t0), 1000ms) << "the fifth failure starts the wait";
    EXPECT_EQ(throttle.retry_after("alice", t0 + 400ms), 600ms);
    EXPECT_EQ(throttle.retry_after("alice", t0 + 1000ms), 0ms);
    EXPECT_EQ(throttle.retry_after("bob", t0), 0ms) << "keys are independent";
}

TEST(LoginThrottle, WaitDoublesPerFurtherFailure) {
    LoginThrottle throttle({});
    fail(throttle, "alice", 5, t0);
    auto now = t0;
    milliseconds expected = 1000ms;
    for (int i = 0; i < 6; ++i) {
        EXPECT_EQ(throttle.retry_after("alice", now), expected);
        now += expected;
        throttle.record_failure("alice", now);
        expected *= 2;
    }
    EXPECT_EQ(throttle.retry_after("alice", now), 64000ms);
}

TEST(LoginThrottle, WaitIsCappedAtMaxDelay) {
    LoginThrottle throttle({});
    fail(throttle, "alice", 5 + 10, t0); // 2^10 s would be 17 minutes
    EXPECT_EQ(throttle.retry_after("alice", t0), 15min);
    fail(throttle, "alice", 1000, t0);
    EXPECT_EQ(throttle.retry_after("alice", t0), 15min) << "no overflow after many failures";
}

TEST(LoginThrottle, WaitCountsFromLastFailure) {
    LoginThrottle throttle({});
    fail(throttle, "alice", 5, t0);
    throttle.record_failure("alice", t0 + 500ms); // a failure during the wait still counts
    EXPECT_EQ(throttle.retry_after("alice", t0 + 500ms), 2000ms);
}

TEST(LoginThrottle, RoundsUpToWholeMilliseconds) {
    LoginThrottle throttle({});
    fail(throttle, "alice", 5, t0);
    EXPECT_EQ(throttle.retry_after("alice", t0 + 999'999us), 1ms);
    EXPECT_EQ(throttle.retry_after("alice", t0 + 1000'000us), 0ms);
}

TEST(LoginThrottle, SuccessResets) {
    LoginThrottle throttle({});
    fail(throttle, "alice", 8, t0);
    ASSERT_GT(throttle.retry_after("alice", t0), 0ms);
    throttle.record_success("alice");
    EXPECT_EQ(throttle.retry_after("alice", t0), 0ms);
    EXPECT_EQ(throttle.size(), 0u);
    fail(throttle, "alice", 4, t0);
    EXPECT_EQ(throttle.retry_after("alice", t0), 0ms) << "free failures again after a success";
    throttle.record_success("nobody"); // unknown keys are fine
}

TEST(LoginThrottle, IdleKeysAreForgotten) {
    LoginThrottle throttle({});
    fail(throttle, "alice", 20, t0);
    EXPECT_EQ(throttle.retry_after("alice", t0 + 59min), 0ms) << "the 15-minute cap has passed";
    EXPECT_EQ(throttle.retry_after("alice", t0 + 60min), 0ms);
    throttle.record_failure("bob", t0 + 60min);
    EXPECT_EQ(throttle.size(), 1u) << "alice was dropped, idle for forget_after";
    throttle.record_failure("alice", t0 + 60min);
    EXPECT_EQ(throttle.retry_after("alice", t0 + 60min), 0ms) << "alice starts afresh";
}

TEST(LoginThrottle, ForgettingIsMeasuredFromTheLastFailure) {
    LoginThrottle throttle({});
    fail(throttle, "alice", 4, t0);
    throttle.record_failure("alice", t0 + 59min);
    throttle.record_failure("bob", t0 + 61min); // prunes what is idle at 61 min
    EXPECT_EQ(throttle.size(), 2u);
    EXPECT_EQ(throttle.retry_after("alice", t0 + 59min), 1000ms);
}

TEST(LoginThrottle, MemoryIsBoundedByMaxKeys) {
    LoginThrottle throttle({.max_keys = 100});
    fail(throttle, "victim", 6, t0);
    auto now = t0;
    for (int i = 0; i < 10'000; ++i) {
        now += 1ms;
        throttle.record_failure("attacker-" + std::to_string(i), now);
        ASSERT_LE(throttle.size(), 100u);
    }
    EXPECT_EQ(throttle.size(), 100u);
    // The oldest key went first; the most recent ones are still counted.
    EXPECT_EQ(throttle.retry_after("victim", now), 0ms);
    fail(throttle, "attacker-9999", 4, now);
    EXPECT_EQ(throttle.retry_after("attacker-9999", now), 1000ms);
}

TEST(LoginThrottle, EvictionTakesTheKeyWithTheOldestFailure) {
    LoginThrottle throttle({.max_keys = 2});
    throttle.record_failure("a", t0);
    throttle.record_failure("b", t0 + 1s);
    fail(throttle, "a", 4, t0 + 2s); // "a" failed most recently now
    throttle.record_failure("c", t0 + 3s);
    EXPECT_EQ(throttle.size(), 2u);
    EXPECT_EQ(throttle.retry_after("a", t0 + 2s), 1000ms) << "a kept its five failures";
    throttle.record_failure("b", t0 + 4s); // b was evicted: this is its first failure again
    fail(throttle, "b", 3, t0 + 4s);
    EXPECT_EQ(throttle.retry_after("b", t0 + 4s), 0ms);
}

TEST(LoginThrottle, CustomConfig) {
    LoginThrottle throttle({.free_failures = 1, .base_delay = 100ms, .max_delay = 250ms});
    throttle.record_failure("k", t0);
    EXPECT_EQ(throttle.retry_after("k", t0), 100ms);
    throttle.record_failure("k", t0);
    EXPECT_EQ(throttle.retry_after("k", t0), 200ms);
    throttle.record_failure("k", t0);
    EXPECT_EQ(throttle.retry_after("k", t0), 250ms) << "capped";
}

} // namespace
} // namespace parley::auth
