// A token bucket: `rate` tokens per second up to `burst`. Pure; time is passed in.
#pragma once

#include <algorithm>
#include <chrono>

namespace parley::net {

class TokenBucket {
public:
    using time_point = std::chrono::steady_clock::time_point;

    TokenBucket(double rate_per_second, double burst, time_point now)
        : rate_(rate_per_second), burst_(burst), tokens_(burst), last_(now) {}

    // Takes `amount` tokens if there are that many. A rate of 0 means unlimited.
    bool try_take(time_point now, double amount = 1) {
        if (rate_ <= 0) {
            return true;
        }
        const std::chrono::duration<double> elapsed = now - last_;
        last_ = now;
        tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
        if (tokens_ < amount) {
            return false;
        }
        tokens_ -= amount;
        return true;
    }

private:
    double rate_;
    double burst_;
    double tokens_;
    time_point last_;
};

} // namespace parley::net
