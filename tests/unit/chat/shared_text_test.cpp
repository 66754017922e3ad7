// SharedText: one allocation holding the size and the bytes of a message every queue shares.
#include "chat/session_sink.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace parley::chat {
namespace {

TEST(SharedText, HoldsACopyOfTheBytes) {
    std::string source = R"({"type":"chat","message":"hi"})";
    const SharedText text = make_text(source);
    source.assign(source.size(), 'x'); // the text does not point into its source
    EXPECT_EQ(text.view(), R"({"type":"chat","message":"hi"})");
    EXPECT_EQ(text.size(), source.size());
    EXPECT_TRUE(text);
}

TEST(SharedText, CopiesShareOneBlock) {
    const SharedText text = make_text("shared");
    const SharedText copy = text; // NOLINT(performance-unnecessary-copy-initialization): the point
    EXPECT_EQ(copy.data(), text.data());
    EXPECT_EQ(copy.view(), "shared");
}

TEST(SharedText, EmptyAndNone) {
    const SharedText none;
    EXPECT_FALSE(none);
    EXPECT_EQ(none.size(), 0u);
    EXPECT_TRUE(none.view().empty());

    const SharedText empty = make_text("");
    EXPECT_TRUE(empty);
    EXPECT_EQ(empty.size(), 0u);
}

TEST(SharedText, BytesOfEveryValueAndLargeSizes) {
    std::string bytes(70'000, '\0'); // past 64 KiB, the largest message a client may send
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = static_cast<char>(i * 31);
    }
    const SharedText text = make_text(bytes);
    EXPECT_EQ(text.size(), bytes.size());
    EXPECT_EQ(text.view(), bytes);
}

TEST(SharedText, WrittenInPlaceHoldsWhatWasWrittenNotTheBound) {
    const SharedText text = SharedText::written(64, [](char* out) {
        const std::string_view bytes = R"({"type":"ack"})";
        return std::copy(bytes.begin(), bytes.end(), out);
    });
    EXPECT_EQ(text.view(), R"({"type":"ack"})");
    EXPECT_EQ(text.size(), 14u);
    const SharedText copy = text; // NOLINT(performance-unnecessary-copy-initialization): the point
    EXPECT_EQ(copy.data(), text.data());

    const SharedText nothing = SharedText::written(0, [](char* out) { return out; });
    EXPECT_TRUE(nothing);
    EXPECT_EQ(nothing.size(), 0u);
}

// The block is freed by its last owner, whichever that is: every copy, move and assignment keeps
// the count right (ASan reports a block freed twice, used after its free, or never freed).
TEST(SharedText, CopiesMovesAndAssignmentsKeepTheCount) {
    SharedText a = make_text("first");
    SharedText b = a;
    SharedText c = std::move(b);
    EXPECT_FALSE(b); // NOLINT(bugprone-use-after-move): a moved-from text is empty
    EXPECT_EQ(c.data(), a.data());
    SharedText d = make_text("second");
    d = a; // "second" freed here, "first" now has three owners
    EXPECT_EQ(d.view(), "first");
    const SharedText& same = d;
    d = same; // self-assignment
    EXPECT_EQ(d.view(), "first");
    a = std::move(c);
    EXPECT_EQ(a.view(), "first");
    a = SharedText();
    EXPECT_FALSE(a);
    EXPECT_EQ(d.view(), "first");
    SharedText e;
    e = std::move(d);
    EXPECT_EQ(e.view(), "first");
}

TEST(SharedText, OwnersOnTwoThreadsReleaseItOnce) {
    const SharedText text = make_text(std::string(100, 'x'));
    std::vector<SharedText> kept;
    std::thread other([&] {
        for (int i = 0; i < 100'000; ++i) {
            SharedText copy = text;
            ASSERT_EQ(copy.size(), 100u);
        }
    });
    for (int i = 0; i < 100'000; ++i) {
        kept.push_back(text);
        if (kept.size() > 64) {
            kept.clear();
        }
    }
    other.join();
    kept.clear();
    EXPECT_EQ(text.view(), std::string(100, 'x'));
}

} // namespace
} // namespace parley::chat
