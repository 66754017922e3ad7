// BodyBlocks: a message's bytes stay until prune has passed every message in its block, and not
// longer. ASan watches the reads: bytes freed too early fail them.
#include "store/body_blocks.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace parley::store {
namespace {

struct Kept {
    std::uint64_t msg_id;
    const char* at;
    std::string bytes;
};

Kept keep(BodyBlocks& blocks, std::uint64_t msg_id, std::string bytes) {
    char* at = blocks.room(bytes.size(), msg_id);
    if (!bytes.empty()) {
        std::memcpy(at, bytes.data(), bytes.size());
    }
    return {msg_id, at, std::move(bytes)};
}

TEST(BodyBlocks, BytesStayUntilEveryMessageOfTheirBlockIsDropped) {
    BodyBlocks blocks;
    std::vector<Kept> kept;
    // 1,000-byte bodies: 65 to a 64-KiB block, so 300 messages fill 5 blocks.
    for (std::uint64_t id = 1; id <= 300; ++id) {
        kept.push_back(
            keep(blocks, id, std::string(1000, static_cast<char>('a' + id % 26)) + std::to_string(id)));
    }
    EXPECT_EQ(blocks.blocks(), 5U);
    // Dropping through a message in the middle of the second block frees the first block only.
    blocks.drop_through(100);
    EXPECT_EQ(blocks.blocks(), 4U);
    for (const Kept& k : kept) {
        if (k.msg_id > 100) {
            ASSERT_EQ(std::string_view(k.at, k.bytes.size()), k.bytes) << "message " << k.msg_id;
        }
    }
    blocks.drop_through(299);
    EXPECT_EQ(blocks.blocks(), 1U); // the last block holds message 300
    EXPECT_EQ(std::string_view(kept.back().at, kept.back().bytes.size()), kept.back().bytes);
    // After everything is dropped, new bytes go to a fresh block.
    blocks.drop_through(300);
    EXPECT_EQ(blocks.blocks(), 0U);
    const Kept next = keep(blocks, 301, "after");
    EXPECT_EQ(blocks.blocks(), 1U);
    EXPECT_EQ(std::string_view(next.at, 5), "after");
}

TEST(BodyBlocks, ABodyLargerThanABlockGetsOneOfItsOwn) {
    BodyBlocks blocks;
    const Kept small = keep(blocks, 1, "small");
    const Kept big = keep(blocks, 2, std::string(BodyBlocks::block_bytes * 2 + 3, 'x'));
    const Kept after = keep(blocks, 3, "after");
    EXPECT_EQ(blocks.blocks(), 3U);
    EXPECT_EQ(std::string_view(small.at, 5), "small");
    EXPECT_EQ(std::string_view(big.at, big.bytes.size()), big.bytes);
    EXPECT_EQ(std::string_view(after.at, 5), "after");
    blocks.drop_through(2);
    EXPECT_EQ(blocks.blocks(), 1U);
    EXPECT_EQ(std::string_view(after.at, 5), "after");
}

TEST(BodyBlocks, AnEmptyBodyTakesNoRoom) {
    BodyBlocks blocks;
    EXPECT_EQ(blocks.room(0, 1), nullptr);
    EXPECT_EQ(blocks.blocks(), 0U);
}

} // namespace
} // namespace parley::store
