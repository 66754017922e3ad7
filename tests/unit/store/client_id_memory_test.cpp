#include "store/client_id_memory.hpp"

#include <gtest/gtest.h>

#include <cstdint>

// The SQLite store's idempotency memory (ADR 014): what was remembered within the window is
// found, the newest msg_id wins, and nothing older than two windows stays.

namespace parley::store {
namespace {

constexpr std::int64_t window = 1000;

TEST(ClientIdMemory, FindsTheNewestMsgIdRemembered) {
    ClientIdMemory memory;
    memory.mark_loaded(0);
    EXPECT_EQ(memory.find(42), 0u);
    memory.remember(42, 7);
    memory.remember(42, 5); // an older one, loaded after: the newer stays
    memory.remember(0xffff'0000'0000'0001ULL, 9);
    EXPECT_EQ(memory.find(42), 7u);
    EXPECT_EQ(memory.find(0xffff'0000'0000'0001ULL), 9u);
    EXPECT_EQ(memory.find(43), 0u);
    EXPECT_EQ(memory.size(), 2u);
}

TEST(ClientIdMemory, KeepsOneWindowAtLeastAndTwoAtMost) {
    ClientIdMemory memory;
    memory.mark_loaded(0);
    memory.remember(1, 1); // at 0
    memory.age(999, window);
    EXPECT_EQ(memory.find(1), 1u);
    memory.age(1000, window); // a window since the generation began: it becomes the old one
    memory.remember(2, 2);    // at 1000
    EXPECT_EQ(memory.find(1), 1u) << "still within the window of a message at 1000 - 1000";
    EXPECT_EQ(memory.find(2), 2u);
    memory.age(1999, window);
    EXPECT_EQ(memory.find(1), 1u);
    memory.age(2000, window); // two windows after it: gone
    EXPECT_EQ(memory.find(1), 0u);
    EXPECT_EQ(memory.find(2), 2u);
    memory.remember(2, 3); // the same key again, newer
    memory.age(3000, window);
    EXPECT_EQ(memory.find(2), 3u) << "the newer one moved with its generation";
    EXPECT_EQ(memory.size(), 1u);
}

TEST(ClientIdMemory, IsEmptyAndUnloadedUntilFilled) {
    ClientIdMemory memory;
    EXPECT_FALSE(memory.loaded());
    EXPECT_EQ(memory.size(), 0u);
    memory.mark_loaded(5);
    EXPECT_TRUE(memory.loaded());
}

} // namespace
} // namespace parley::store
