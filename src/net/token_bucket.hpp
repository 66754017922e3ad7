// Token buckets: `per_second` tokens a second up to `burst`. Pure; time is passed in. The limit
// is passed in too rather than stored: every connection holds buckets and they all share the
// server's limits, so a bucket is only its state.
#pragma once

#include <algorithm>
#include <chrono>

namespace parley::net {

struct RateLimit {
    double per_second = 0; // 0: unlimited
    double burst = 0;
};

class TokenBucket {
public:
    using time_point = std::chrono::steady_clock::time_point;

    TokenBucket(const RateLimit& limit, time_point now) : tokens_(limit.burst), last_(now) {}

    // Adds the tokens earned since the last call, up to the burst.
    void refill(const RateLimit& limit, time_point now) {
        const std::chrono::duration<double> elapsed = now - last_;
        last_ = now;
        tokens_ = refilled(tokens_, limit, elapsed.count());
    }

    // `tokens` after `elapsed_s` seconds; a clock that stood still or stepped back adds nothing.
    static double refilled(double tokens, const RateLimit& limit, double elapsed_s) {
        return elapsed_s > 0 ? std::min(limit.burst, tokens + elapsed_s * limit.per_second) : tokens;
    }
    bool can_take(const RateLimit& limit, double amount) const {
        return limit.per_second <= 0 || tokens_ >= amount;
    }
    void take(const RateLimit& limit, double amount) {
        if (limit.per_second > 0) {
            tokens_ -= amount;
        }
    }

    // Refills, then takes `amount` if there is that much.
    bool try_take(const RateLimit& limit, time_point now, double amount = 1) {
        refill(limit, now);
        if (!can_take(limit, amount)) {
            return false;
        }
        take(limit, amount);
        return true;
    }

private:
    double tokens_;
    time_point last_;
};

// Two buckets always refilled and taken together (a connection's frames and payload bytes): one
// clock reading for both, so 24 bytes rather than two buckets' 32.
class TokenBucketPair {
public:
    using time_point = TokenBucket::time_point;

    TokenBucketPair(const RateLimit& first, const RateLimit& second, time_point now)
        : first_(first.burst), second_(second.burst), last_(now) {}

    // Refills both, then takes `a` from the first and `b` from the second if both have that
    // much; takes nothing from either otherwise.
    bool try_take(const RateLimit& first, double a, const RateLimit& second, double b, time_point now) {
        const std::chrono::duration<double> elapsed = now - last_;
        last_ = now;
        first_ = TokenBucket::refilled(first_, first, elapsed.count());
        second_ = TokenBucket::refilled(second_, second, elapsed.count());
        const bool first_ok = first.per_second <= 0 || first_ >= a;
        const bool second_ok = second.per_second <= 0 || second_ >= b;
        if (!first_ok || !second_ok) {
            return false;
        }
        if (first.per_second > 0) {
            first_ -= a;
        }
        if (second.per_second > 0) {
            second_ -= b;
        }
        return true;
    }

private:
    double first_;
    double second_;
    time_point last_;
};

} // namespace parley::net
