// The JSON object parley-bench prints: keys in the order they were added, numbers written the
// way people read them (0.3, 12345), so the output works for both jq and eyes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace parley::bench {

class Report {
public:
    void add(std::string_view key, std::string_view value);
    void add(std::string_view key, const char* value) { add(key, std::string_view(value)); }
    void add(std::string_view key, bool value);
    void add(std::string_view key, std::uint64_t value);
    void add(std::string_view key, std::int64_t value);
    void add(std::string_view key, unsigned value) { add(key, std::uint64_t{value}); }
    void add(std::string_view key, int value) { add(key, std::int64_t{value}); }
    // Written with at most `decimals` digits after the point, trailing zeros dropped.
    void add(std::string_view key, double value, int decimals = 3);

    // The whole object on one line.
    std::string json() const;

private:
    void add_raw(std::string_view key, std::string value);
    std::vector<std::pair<std::string, std::string>> fields_;
};

} // namespace parley::bench
