// ByteArena: what it keeps stays where it is and unchanged while the arena grows and moves.
// ASan watches every byte read here: a view into a block that moved or was freed fails.
#include "store/byte_arena.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::store {
namespace {

TEST(ByteArena, KeptBytesStayPutWhileTheArenaGrowsAndMoves) {
    ByteArena arena(16); // a small first block: the loop below needs many more
    std::vector<std::string> sources;
    std::vector<std::string_view> kept;
    std::size_t total = 0;
    for (std::size_t i = 0; i < 3000; ++i) {
        // Sizes 0 to 9,000 bytes: some larger than any block so far, most small.
        const std::size_t size = i % 100 == 99 ? 9000 : i % 37;
        sources.push_back(std::string(size, static_cast<char>('a' + i % 26)) + std::to_string(i));
        kept.push_back(arena.keep(sources.back()));
        total += sources.back().size();
        EXPECT_NE(kept.back().data(), sources.back().data());
    }
    EXPECT_EQ(arena.kept(), total);
    ByteArena moved = std::move(arena);
    for (std::size_t i = 0; i < sources.size(); ++i) {
        ASSERT_EQ(kept[i], sources[i]) << "keep " << i;
    }
    // Keeping more in the moved-to arena leaves the earlier views alone.
    const std::string_view later = moved.keep("later");
    EXPECT_EQ(later, "later");
    EXPECT_EQ(kept.front(), sources.front());
    EXPECT_EQ(kept.back(), sources.back());
}

TEST(ByteArena, RoomIsWritableAndKeptLikeACopy) {
    ByteArena arena;
    const std::string_view before = arena.keep("before");
    const auto room = arena.room(5);
    ASSERT_EQ(room.size(), 5U);
    for (std::size_t i = 0; i < room.size(); ++i) {
        room[i] = static_cast<char>('v' + i);
    }
    const std::string_view after = arena.keep("after");
    EXPECT_EQ(std::string_view(room.data(), room.size()), "vwxyz");
    EXPECT_EQ(before, "before");
    EXPECT_EQ(after, "after");
    EXPECT_EQ(arena.kept(), 16U);
}

TEST(ByteArena, EmptyStringsAreKeptAsEmpty) {
    ByteArena arena;
    EXPECT_TRUE(arena.keep("").empty());
    EXPECT_TRUE(arena.keep(std::string_view()).empty());
    EXPECT_EQ(arena.kept(), 0U);
    EXPECT_EQ(arena.keep("x"), "x");
}

} // namespace
} // namespace parley::store
