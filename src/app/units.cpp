// Duration and size parsing for config values.
#include "app/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace parley::app {

namespace {

// Splits "12.5ms" into 12.5 and "ms"; nullopt if there is no leading number.
std::optional<std::pair<double, std::string_view>> split_number(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || !std::isfinite(value) || value < 0) {
        return std::nullopt;
    }
    std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    while (!unit.empty() && unit.front() == ' ') {
        unit.remove_prefix(1);
    }
    return std::pair{value, unit};
}

} // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    const auto parts = split_number(text);
    if (!parts) {
        return std::nullopt;
    }
    const auto [value, unit] = *parts;
    double ms = 0;
    if (unit == "ms") {
        ms = value;
    } else if (unit.empty() || unit == "s") {
        ms = value * 1000;
    } else if (unit == "m" || unit == "min") {
        ms = value * 60'000;
    } else if (unit == "h") {
        ms = value * 3'600'000;
    } else if (unit == "d") {
        ms = value * 86'400'000;
    } else {
        return std::nullopt;
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(ms)));
}

std::optional<std::size_t> parse_bytes(std::string_view text) {
    const auto parts = split_number(text);
    if (!parts) {
        return std::nullopt;
    }
    const auto [value, unit] = *parts;
    double multiple = 0;
    if (unit.empty() || unit == "B") {
        multiple = 1;
    } else if (unit == "K" || unit == "KB" || unit == "KiB" || unit == "k" || unit == "kB") {
        multiple = 1024.0;
    } else if (unit == "M" || unit == "MB" || unit == "MiB") {
        multiple = 1024.0 * 1024;
    } else if (unit == "G" || unit == "GB" || unit == "GiB") {
        multiple = 1024.0 * 1024 * 1024;
    } else {
        return std::nullopt;
    }
    return static_cast<std::size_t>(std::llround(value * multiple));
}

} // namespace parley::app
