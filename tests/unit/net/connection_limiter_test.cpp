// Connections in total and per address: admitted up to the limits, released on close.
#include "net/connection_limiter.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace parley::net {
namespace {

using verdict = ConnectionLimiter::verdict;

TEST(ConnectionLimiter, PerAddressLimitLeavesOtherAddressesAlone) {
    ConnectionLimiter limiter(0, 2);
    EXPECT_EQ(limiter.try_admit("10.0.0.1"), verdict::admitted);
    EXPECT_EQ(limiter.try_admit("10.0.0.1"), verdict::admitted);
    EXPECT_EQ(limiter.try_admit("10.0.0.1"), verdict::too_many_from_address);
    EXPECT_EQ(limiter.try_admit("10.0.0.2"), verdict::admitted);
    EXPECT_EQ(limiter.from("10.0.0.1"), 2u);
    EXPECT_EQ(limiter.total(), 3u) << "a refused connection is not counted";
    limiter.release("10.0.0.1");
    EXPECT_EQ(limiter.try_admit("10.0.0.1"), verdict::admitted);
}

TEST(ConnectionLimiter, TotalLimit) {
    ConnectionLimiter limiter(2, 0);
    EXPECT_EQ(limiter.try_admit("a"), verdict::admitted);
    EXPECT_EQ(limiter.try_admit("b"), verdict::admitted);
    EXPECT_EQ(limiter.try_admit("c"), verdict::too_many_total);
    limiter.release("a");
    EXPECT_EQ(limiter.try_admit("c"), verdict::admitted);
}

TEST(ConnectionLimiter, ReleasedAddressesAreForgottenAndUnknownReleasesIgnored) {
    ConnectionLimiter limiter(0, 0);
    EXPECT_EQ(limiter.try_admit("a"), verdict::admitted);
    limiter.release("a");
    limiter.release("a");
    limiter.release("never-seen");
    EXPECT_EQ(limiter.total(), 0u);
    EXPECT_EQ(limiter.from("a"), 0u);
}

TEST(ConnectionLimiter, CountsStayExactUnderConcurrentAcceptAndClose) {
    ConnectionLimiter limiter(0, 1000);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&limiter, t] {
            const std::string address = "10.0.0." + std::to_string(t % 2);
            for (int i = 0; i < 10000; ++i) {
                if (limiter.try_admit(address) == verdict::admitted) {
                    limiter.release(address);
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(limiter.total(), 0u);
}

} // namespace
} // namespace parley::net
