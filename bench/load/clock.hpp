// The generator's one clock: monotonic nanoseconds since the process started, shared by every
// thread, so a send time written by one thread and a receive time read by another subtract.
#pragma once

#include <cstdint>
#include <ctime>

namespace parley::bench {

// CLOCK_MONOTONIC through the vDSO (~20 ns): cheap enough to read once per recv() and per pass.
inline std::int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline constexpr std::int64_t ns_per_ms = 1'000'000;
inline constexpr std::int64_t ns_per_s = 1'000'000'000;

} // namespace parley::bench
