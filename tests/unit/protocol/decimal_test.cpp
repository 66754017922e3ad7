// write_decimal against std::to_chars: every power of ten and its neighbours (where the digit
// count changes), the extremes of both types, and a spread of values of every width.
#include "protocol/decimal.hpp"

#include <gtest/gtest.h>

#include <charconv>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

using parley::protocol::decimal_digits;
using parley::protocol::write_decimal;

template <typename Integer> std::string expected(Integer value) {
    char buffer[32];
    return {buffer, std::to_chars(buffer, buffer + sizeof buffer, value).ptr};
}

template <typename Integer> std::string written(Integer value) {
    // Filled first, so a digit left unwritten shows up as '#'.
    std::string buffer(32, '#');
    char* end = write_decimal(buffer.data(), value);
    return buffer.substr(0, static_cast<std::size_t>(end - buffer.data()));
}

std::vector<std::uint64_t> digit_count_edges() {
    std::vector<std::uint64_t> values{0, 1, std::numeric_limits<std::uint64_t>::max(),
                                      std::numeric_limits<std::uint64_t>::max() - 1};
    for (std::uint64_t p = 1; p <= 10'000'000'000'000'000'000ULL; p *= 10) {
        values.insert(values.end(), {p - 1, p, p + 1});
        if (p == 10'000'000'000'000'000'000ULL) {
            break; // the next power does not fit
        }
    }
    for (int bit = 0; bit < 64; ++bit) {
        const std::uint64_t b = std::uint64_t{1} << bit;
        values.insert(values.end(), {b - 1, b, b + 1});
    }
    return values;
}

TEST(Decimal, UnsignedMatchesToCharsWhereTheDigitCountChanges) {
    for (const std::uint64_t v : digit_count_edges()) {
        EXPECT_EQ(written(v), expected(v)) << v;
        EXPECT_EQ(decimal_digits(v), static_cast<int>(expected(v).size())) << v;
    }
}

TEST(Decimal, SignedMatchesToCharsAtTheExtremesAndAroundZero) {
    for (const std::int64_t v :
         {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::min() + 1,
          std::int64_t{-1'000'000'000'000}, std::int64_t{-10}, std::int64_t{-9}, std::int64_t{-1},
          std::int64_t{0}, std::int64_t{1}, std::int64_t{1'764'230'000'000},
          std::numeric_limits<std::int64_t>::max()}) {
        EXPECT_EQ(written(v), expected(v)) << v;
    }
}

TEST(Decimal, RandomValuesOfEveryWidthMatchToChars) {
    std::mt19937_64 random(20261127);
    for (int i = 0; i < 100'000; ++i) {
        // A random width first, so that short numbers are as common as long ones.
        const unsigned width = static_cast<unsigned>(random() % 65);
        const std::uint64_t v = width == 0 ? 0 : random() >> (64 - width);
        ASSERT_EQ(written(v), expected(v)) << v;
        const auto s = static_cast<std::int64_t>(random() >> (random() % 64));
        ASSERT_EQ(written(-s), expected(-s)) << -s;
    }
}

TEST(Decimal, TwentyCharactersHoldTheLongestOfBothTypes) {
    EXPECT_EQ(written(std::numeric_limits<std::uint64_t>::max()).size(), 20U);
    EXPECT_EQ(written(std::numeric_limits<std::int64_t>::min()).size(), 20U);
}

} // namespace
