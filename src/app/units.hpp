// Parsing of human-written quantities in config: durations ("30s", "500ms", "2m") and sizes
// ("64KiB", "1MiB", "1024"). Pure.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

namespace parley::app {

// "250ms", "30s", "5m", "1h", "30d"; a bare number is seconds. Nullopt if malformed or negative.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// "512", "64KiB"/"64KB"/"64K", "1MiB"/"1MB"/"1M", "1GiB"; binary multiples. Nullopt if malformed.
std::optional<std::size_t> parse_bytes(std::string_view text);

} // namespace parley::app
