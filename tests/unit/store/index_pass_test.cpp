#include "store/index_pass.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

// An index pass of the SQLite store (ADR 014): the runs it yields group the tail by user and by
// pair in key order, whole, and it says which tail messages a committed slice already holds, so
// readers never see one twice or miss one.

namespace parley::store {
namespace {

TailEntry entry(std::uint64_t msg_id, std::int64_t from, std::int64_t to, std::uint64_t from_seq,
                std::uint64_t to_seq) {
    return {msg_id, 1000, from, to, from_seq, to_seq, 0};
}

// Users 3, 1 and 2 chat; user 2 also writes to itself.
std::vector<TailEntry> sample_tail() {
    return {entry(10, 3, 1, 1, 1), entry(11, 1, 3, 2, 2), entry(12, 2, 2, 1, 1), entry(13, 3, 2, 3, 2),
            entry(14, 1, 3, 3, 4)};
}

TEST(IndexPass, YieldsARunPerUserThenPerPairInKeyOrder) {
    const auto tail = sample_tail();
    const IndexPass pass(tail);
    EXPECT_EQ(pass.tail_count(), 5u);
    EXPECT_EQ(pass.through(), 14u);

    IndexPass::Cursor at;
    std::int64_t user = 0;
    std::vector<log_rows::InboxEntryRef> entries;
    std::vector<std::int64_t> users;
    std::vector<std::vector<std::uint64_t>> seqs;
    while (pass.take_inbox_run(at, user, entries)) {
        users.push_back(user);
        seqs.emplace_back();
        for (const auto& e : entries) {
            seqs.back().push_back(e.seq);
        }
    }
    EXPECT_EQ(users, (std::vector<std::int64_t>{1, 2, 3}));
    EXPECT_EQ(seqs, (std::vector<std::vector<std::uint64_t>>{{1, 2, 3}, {1, 2}, {1, 2, 3, 4}}))
        << "a chat with oneself is one entry (user 2's seq 1)";

    std::int64_t lo = 0;
    std::int64_t hi = 0;
    std::vector<log_rows::ConversationEntryRef> messages;
    ASSERT_TRUE(pass.take_conversation_run(at, lo, hi, messages));
    EXPECT_EQ(lo, 1);
    EXPECT_EQ(hi, 3);
    ASSERT_EQ(messages.size(), 3u);
    EXPECT_EQ(messages[0].msg_id, 10u);
    EXPECT_FALSE(messages[0].from_lo) << "10 went from 3 to 1";
    EXPECT_TRUE(messages[1].from_lo);
    EXPECT_EQ(messages[2].msg_id, 14u);
    ASSERT_TRUE(pass.take_conversation_run(at, lo, hi, messages));
    EXPECT_EQ(std::pair(lo, hi), std::pair(std::int64_t{2}, std::int64_t{2}));
    ASSERT_TRUE(pass.take_conversation_run(at, lo, hi, messages));
    EXPECT_EQ(std::pair(lo, hi), std::pair(std::int64_t{2}, std::int64_t{3}));
    EXPECT_FALSE(pass.take_conversation_run(at, lo, hi, messages));
    EXPECT_TRUE(pass.finished(at));
}

TEST(IndexPass, HoldsExactlyWhatItsCommittedSlicesWrote) {
    const auto tail = sample_tail();
    IndexPass pass(tail);
    const TailEntry later = entry(15, 1, 3, 4, 5); // appended after the pass began
    for (const TailEntry& m : tail) {
        EXPECT_FALSE(pass.holds_inbox_entry(m, m.from)) << "nothing committed yet";
        EXPECT_FALSE(pass.holds_conversation_entry(m));
    }

    IndexPass::Cursor at = pass.committed();
    std::int64_t user = 0;
    std::vector<log_rows::InboxEntryRef> entries;
    ASSERT_TRUE(pass.take_inbox_run(at, user, entries)); // user 1's run
    EXPECT_FALSE(pass.holds_inbox_entry(tail[1], 1)) << "taken but not committed";
    pass.commit(at);
    EXPECT_TRUE(pass.holds_inbox_entry(tail[1], 1));
    EXPECT_TRUE(pass.holds_inbox_entry(tail[0], 1)) << "message 10 in the inbox of its recipient, 1";
    EXPECT_FALSE(pass.holds_inbox_entry(tail[0], 3)) << "and not yet in its sender's";
    EXPECT_FALSE(pass.holds_inbox_entry(later, 1)) << "past the pass: still the tail's";
    EXPECT_FALSE(pass.holds_conversation_entry(tail[0]));

    while (pass.take_inbox_run(at, user, entries)) {
    }
    std::int64_t lo = 0;
    std::int64_t hi = 0;
    std::vector<log_rows::ConversationEntryRef> messages;
    ASSERT_TRUE(pass.take_conversation_run(at, lo, hi, messages)); // pair 1-3
    pass.commit(at);
    EXPECT_TRUE(pass.holds_inbox_entry(tail[3], 3));
    EXPECT_TRUE(pass.holds_conversation_entry(tail[0]));
    EXPECT_TRUE(pass.holds_conversation_entry(tail[4]));
    EXPECT_FALSE(pass.holds_conversation_entry(tail[2])) << "pair 2-2 comes next";
    EXPECT_FALSE(pass.holds_conversation_entry(tail[3]));
    EXPECT_FALSE(pass.holds_conversation_entry(later));

    while (pass.take_conversation_run(at, lo, hi, messages)) {
    }
    pass.commit(at);
    EXPECT_TRUE(pass.finished(pass.committed()));
    for (const TailEntry& m : tail) {
        EXPECT_TRUE(pass.holds_conversation_entry(m));
        EXPECT_TRUE(pass.holds_inbox_entry(m, m.to));
    }
}

TEST(IndexPass, AnEmptyTailHasNothingToWrite) {
    const IndexPass pass(std::span<const TailEntry>{});
    IndexPass::Cursor at;
    std::int64_t user = 0;
    std::vector<log_rows::InboxEntryRef> entries;
    EXPECT_FALSE(pass.take_inbox_run(at, user, entries));
    EXPECT_TRUE(pass.finished(at));
    EXPECT_FALSE(pass.holds_inbox_entry(entry(1, 1, 2, 1, 1), 1));
}

} // namespace
} // namespace parley::store
