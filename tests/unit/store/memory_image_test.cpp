// Hand-made memory store images (memory_store.hpp's format): an inbox's seqs follow from its
// place (the store keeps only msg_ids), so an image must give each inbox consecutive seqs that
// end at its user's last seq. A gap inside an inbox is refused by the part that holds it; an
// inbox that stops short can only be seen once every part is read (memory_image_complete).
#include "store/memory_store.hpp"

#include "memory_image_parts.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace parley::store {
namespace {

using testing_support::image;

struct Read {
    bool parts_read;
    bool complete;
};

Read read(const std::vector<std::string>& parts) {
    auto store = make_memory_store();
    bool ok = true;
    for (const std::string& part : parts) {
        ok = ok && read_memory_image_part(*store, part);
    }
    return {ok, ok && memory_image_complete(*store)};
}

TEST(MemoryImage, InboxesThatEndAtTheirUsersLastSeqMakeAWholeImage) {
    // ann sends ben two messages, then a note to herself: ann's seqs 1, 2, 3; ben's 1, 2.
    const auto parts = image({{"ann", 3}, {"ben", 2}}, {{0, 1, 1, 1}, {0, 1, 2, 2}, {0, 0, 3, 3}});
    const Read r = read(parts);
    EXPECT_TRUE(r.parts_read);
    EXPECT_TRUE(r.complete);
    auto store = make_memory_store();
    for (const std::string& part : parts) {
        ASSERT_TRUE(read_memory_image_part(*store, part));
    }
    // The seqs read back from the places they were filed at, and the next message takes the next.
    auto inbox = store->inbox_since("ann", 1, 10);
    ASSERT_TRUE(inbox);
    ASSERT_EQ(inbox->size(), 2U);
    EXPECT_EQ((*inbox)[0].seq, 2U);
    EXPECT_EQ((*inbox)[0].message.to_seq, 2U);
    EXPECT_EQ((*inbox)[1].seq, 3U);
    const NewMessage next{"ben", "ann", "back", ""};
    auto appended = store->append(std::span(&next, 1), 1'700'000'000'001, 0);
    ASSERT_TRUE(appended);
    EXPECT_EQ((*appended)[0].from_seq, 3U);
    EXPECT_EQ((*appended)[0].to_seq, 4U);
}

TEST(MemoryImage, AnInboxThatStopsShortOfItsUsersLastSeqIsNotWhole) {
    // ann's last seq is 3, but her inbox ends at 2 (nor was it pruned: it is not empty).
    const Read r = read(image({{"ann", 3}, {"ben", 2}}, {{0, 1, 1, 1}, {0, 1, 2, 2}}));
    EXPECT_TRUE(r.parts_read);
    EXPECT_FALSE(r.complete);
    // An inbox emptied by prune keeps only its user's last seq: whole.
    EXPECT_TRUE(read(image({{"ann", 3}, {"ben", 2}}, {})).complete);
}

TEST(MemoryImage, AGapInsideAnInboxIsRefusedByItsPart) {
    EXPECT_FALSE(read(image({{"ann", 3}, {"ben", 2}}, {{0, 1, 1, 1}, {0, 1, 3, 2}})).parts_read);
    // A seq above the user's last, and a note to oneself with two seqs.
    EXPECT_FALSE(read(image({{"ann", 1}, {"ben", 1}}, {{0, 1, 2, 1}})).parts_read);
    EXPECT_FALSE(read(image({{"ann", 2}}, {{0, 0, 1, 2}})).parts_read);
}

} // namespace
} // namespace parley::store
