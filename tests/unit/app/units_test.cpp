#include "app/units.hpp"

#include <gtest/gtest.h>

namespace parley::app {
namespace {

using std::chrono::milliseconds;

TEST(Units, Durations) {
    EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
    EXPECT_EQ(parse_duration("30s"), milliseconds(30'000));
    EXPECT_EQ(parse_duration("30"), milliseconds(30'000));
    EXPECT_EQ(parse_duration("1.5s"), milliseconds(1'500));
    EXPECT_EQ(parse_duration("2m"), milliseconds(120'000));
    EXPECT_EQ(parse_duration("1h"), milliseconds(3'600'000));
    EXPECT_EQ(parse_duration(" 5s "), milliseconds(5'000));
    EXPECT_FALSE(parse_duration("soon"));
    EXPECT_FALSE(parse_duration("-1s"));
    EXPECT_FALSE(parse_duration("5 parsecs"));
}

TEST(Units, Sizes) {
    EXPECT_EQ(parse_bytes("512"), 512u);
    EXPECT_EQ(parse_bytes("64KiB"), 65'536u);
    EXPECT_EQ(parse_bytes("64K"), 65'536u);
    EXPECT_EQ(parse_bytes("1MiB"), 1'048'576u);
    EXPECT_EQ(parse_bytes("1GB"), 1'073'741'824u);
    EXPECT_FALSE(parse_bytes("big"));
    EXPECT_FALSE(parse_bytes("1XB"));
}

} // namespace
} // namespace parley::app
