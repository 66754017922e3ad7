// What one user may send: messages per second and bytes per second, each a token bucket with a
// burst. Pure: time is passed in (milliseconds, from the chat Clock), so tests can fake it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

namespace parley::chat {

struct SendLimits {
    // 0 turns a limit off. A person types a few messages a second; the defaults (server config)
    // leave room for pasting and for bots, and stop a script flooding a peer.
    double messages_per_second = 0;
    double messages_burst = 0;
    double bytes_per_second = 0;
    double bytes_burst = 0;

    bool enabled() const { return messages_per_second > 0 || bytes_per_second > 0; }
};

class SendBudget {
public:
    SendBudget() = default; // not started: holds nothing until assigned a started budget
    SendBudget(const SendLimits& limits, std::int64_t now_ms)
        : messages_(limits.messages_burst), bytes_(limits.bytes_burst), last_ms_(now_ms) {}

    bool started() const { return last_ms_ != not_started; }

    // Takes one message of `bytes` if both buckets allow it; takes nothing otherwise.
    bool try_take(const SendLimits& limits, std::uint64_t bytes, std::int64_t now_ms) {
        if (!started()) {
            last_ms_ = now_ms; // an empty budget starting now, rather than an overflow below
        }
        // A wall clock may step back; time then simply stands still.
        const double elapsed_s = static_cast<double>(std::max<std::int64_t>(0, now_ms - last_ms_)) / 1000.0;
        last_ms_ = std::max(last_ms_, now_ms);
        messages_ = std::min(limits.messages_burst, messages_ + elapsed_s * limits.messages_per_second);
        bytes_ = std::min(limits.bytes_burst, bytes_ + elapsed_s * limits.bytes_per_second);
        const bool messages_ok = limits.messages_per_second <= 0 || messages_ >= 1;
        const bool bytes_ok = limits.bytes_per_second <= 0 || bytes_ >= static_cast<double>(bytes);
        if (!messages_ok || !bytes_ok) {
            return false;
        }
        messages_ -= 1;
        bytes_ -= static_cast<double>(bytes);
        return true;
    }

private:
    // A sentinel rather than a flag: the budget lives in every online user's Directory entry.
    static constexpr std::int64_t not_started = std::numeric_limits<std::int64_t>::min();

    double messages_ = 0;
    double bytes_ = 0;
    std::int64_t last_ms_ = not_started;
};

} // namespace parley::chat
