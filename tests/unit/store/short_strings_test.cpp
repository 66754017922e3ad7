// same_bytes and id_before agree with std::string_view's == and with (size, then <) for every
// length to 80 (past the inline limit of 64) and a difference at every place, with bytes above
// 0x7f (compared unsigned, as memcmp does) and strings that sit at odd addresses.
#include "store/short_strings.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <string>
#include <string_view>

namespace parley::store {
namespace {

bool reference_before(std::string_view a, std::string_view b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
}

TEST(ShortStrings, AgreeWithTheStandardComparisonsAtEveryLengthAndPlace) {
    std::mt19937 random(11);
    const char bytes[] = {'0', '9', 'a', 'z', '\x7f', '\x80', '\xff', '\0'};
    for (std::size_t n = 0; n <= 80; ++n) {
        std::string base(n + 1, '.'); // one byte of offset: loads at unaligned addresses
        for (std::size_t i = 1; i <= n; ++i) {
            base[i] = bytes[random() % sizeof bytes];
        }
        const std::string_view a(base.data() + 1, n);
        ASSERT_TRUE(same_bytes(a, a)) << n;
        ASSERT_FALSE(id_before(a, a)) << n;
        for (std::size_t at = 0; at < n; ++at) {
            for (const char other : bytes) {
                std::string changed = base;
                changed[at + 1] = other;
                const std::string_view b(changed.data() + 1, n);
                ASSERT_EQ(same_bytes(a, b), a == b) << "length " << n << " at " << at;
                ASSERT_EQ(same_bytes(b, a), a == b) << "length " << n << " at " << at;
                ASSERT_EQ(id_before(a, b), reference_before(a, b)) << "length " << n << " at " << at;
                ASSERT_EQ(id_before(b, a), reference_before(b, a)) << "length " << n << " at " << at;
            }
        }
        // A different length differs, and the shorter comes first whatever its bytes.
        const std::string longer = std::string(a) + "\x01";
        EXPECT_FALSE(same_bytes(a, longer));
        EXPECT_TRUE(id_before(a, longer));
        EXPECT_FALSE(id_before(longer, a));
    }
}

TEST(ShortStrings, TwoDifferencesAreOrderedByTheFirst) {
    // The second difference points the other way: only the first may decide.
    for (std::size_t n = 2; n <= 80; ++n) {
        for (std::size_t first = 0; first + 1 < n; ++first) {
            std::string low(n, 'm');
            std::string high(n, 'm');
            low[first] = 'a';
            high[first] = 'b';
            low[n - 1] = 'z';
            high[n - 1] = 'a';
            ASSERT_TRUE(id_before(low, high)) << "length " << n << " first " << first;
            ASSERT_FALSE(id_before(high, low)) << "length " << n << " first " << first;
        }
    }
}

} // namespace
} // namespace parley::store
