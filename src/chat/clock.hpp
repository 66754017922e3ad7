// Wall-clock time for message timestamps, behind an interface so chat/ tests can fake it.
#pragma once

#include <cstdint>

namespace parley::chat {

class Clock {
public:
    virtual ~Clock() = default;
    // Milliseconds since the Unix epoch. Any thread.
    virtual std::int64_t now_ms() const = 0;

protected:
    Clock() = default;
    Clock(const Clock&) = default;
    Clock& operator=(const Clock&) = default;
};

} // namespace parley::chat
