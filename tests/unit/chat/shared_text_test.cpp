// SharedText: one allocation holding the size and the bytes of a message every queue shares.
#include "chat/session_sink.hpp"

#include <gtest/gtest.h>

#include <string>

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

} // namespace
} // namespace parley::chat
