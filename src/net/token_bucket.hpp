// A token bucket: `per_second` tokens a second up to `burst`. Pure; time is passed in. The limit
// is passed in too rather than stored: every connection holds two buckets and they all share the
// server's limits, so a bucket is only its state (16 bytes).
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
        if (elapsed.count() > 0) {
            tokens_ = std::min(limit.burst, tokens_ + elapsed.count() * limit.per_second);
        }
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

} // namespace parley::net
