// scan_plain_chat: the one shape it takes, and every way out of it; and the decoder's answer for
// a plain chat matching the full parser's (the same frame with a trailing space, which the scan
// refuses and JSON ignores).
#include "protocol/plain_chat.hpp"

#include "protocol/decoder.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace parley::protocol {
namespace {

TEST(PlainChat, TakesTheSeedPagesChatWithOrWithoutAnId) {
    const auto bare = scan_plain_chat(R"({"type":"chat","to_user_id":"bob","message":"hi there"})");
    ASSERT_TRUE(bare);
    EXPECT_EQ(bare->to_user_id, "bob");
    EXPECT_EQ(bare->message, "hi there");
    EXPECT_EQ(bare->id_json, "");

    const auto with_string_id =
        scan_plain_chat(R"({"type":"chat","to_user_id":"b","message":"","id":"c-1"})");
    ASSERT_TRUE(with_string_id);
    EXPECT_EQ(with_string_id->message, "");
    EXPECT_EQ(with_string_id->id_json, R"("c-1")");

    for (const std::string id : {"0", "7", "-12", "123456789012345678901234"}) {
        const std::string frame = R"({"type":"chat","to_user_id":"b","message":"m","id":)" + id + "}";
        const auto with_integer_id = scan_plain_chat(frame); // views into `frame`
        ASSERT_TRUE(with_integer_id) << id;
        EXPECT_EQ(with_integer_id->id_json, id);
    }
    // Every printable ASCII byte but the quote and the backslash, DEL included (JSON allows it raw).
    std::string printable;
    for (int c = 0x20; c <= 0x7f; ++c) {
        if (c != '"' && c != '\\') {
            printable += static_cast<char>(c);
        }
    }
    const std::string frame = R"({"type":"chat","to_user_id":"b","message":")" + printable + "\"}";
    const auto all = scan_plain_chat(frame);
    ASSERT_TRUE(all);
    EXPECT_EQ(all->message, printable);
}

TEST(PlainChat, LeavesEveryOtherFrameToTheParser) {
    const std::vector<std::string> others = {
        "",
        R"({"type":"chat","to_user_id":"b","message":"m")",                     // no closing brace
        R"({"type":"chat","to_user_id":"b","message":"m"} )",                   // trailing whitespace
        R"({"type":"chat","to_user_id":"b","message":"m"}})",                   // trailing content
        R"({"type":"chat", "to_user_id":"b","message":"m"})",                   // whitespace inside
        R"({"to_user_id":"b","type":"chat","message":"m"})",                    // another order
        R"({"type":"chat","message":"m","to_user_id":"b"})",                    // another order
        R"({"type":"chat","to_user_id":"b","message":"m","id":"c","x":1})",     // another field
        R"({"type":"chat","to_user_id":"b","id":"c","message":"m"})",           // id not last
        R"({"type":"chat","to_user_id":7,"message":"m"})",                      // a numeric user id
        R"({"type":"chat","to_user_id":"b","message":"a\"b"})",                 // an escape
        R"({"type":"chat","to_user_id":"b","message":"a\u0041"})",              // an escape
        R"({"type":"chat","to_user_id":"b\\","message":"m"})",                  // an escape in the id
        "{\"type\":\"chat\",\"to_user_id\":\"b\",\"message\":\"a\tb\"}",        // a raw control byte
        "{\"type\":\"chat\",\"to_user_id\":\"b\",\"message\":\"a\x01\"}",       // a raw control byte
        "{\"type\":\"chat\",\"to_user_id\":\"b\",\"message\":\"caf\xc3\xa9\"}", // not ASCII
        "{\"type\":\"chat\",\"to_user_id\":\"b\",\"message\":\"\xff\"}",        // not UTF-8 either
        R"({"type":"chat","to_user_id":"b","message":"m","id":1.5})",           // not an integer
        R"({"type":"chat","to_user_id":"b","message":"m","id":1e3})",           // not an integer
        R"({"type":"chat","to_user_id":"b","message":"m","id":01})",            // leading zero
        R"({"type":"chat","to_user_id":"b","message":"m","id":-})",             // a sign alone
        R"({"type":"chat","to_user_id":"b","message":"m","id":null})",          // not a string or integer
        R"({"type":"chat","to_user_id":"b","message":"m","id":"a\"b"})",        // an escaped id
        R"({"type":"chat","to_user_id":"b","message":"m","id":"c})",            // an id never closed
        R"({"type":"chat","to_user_id":"b","message":"m)",                      // a text never closed
        R"({"type":"ping","to_user_id":"b","message":"m"})",                    // not a chat
        R"({"type":"chat","to_user_id":"b"})",                                  // no message
    };
    for (const std::string& frame : others) {
        EXPECT_FALSE(scan_plain_chat(frame)) << frame;
    }
}

// The scan reads sixteen bytes at a time: every byte value at every place of texts of 1 to 20
// bytes (both sides of each block's edge) must be judged as a byte-by-byte rule judges it.
TEST(PlainChat, EveryByteAtEveryPlaceIsJudgedAsAByteByByteRuleWould) {
    const auto plain = [](int c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; };
    for (std::size_t size = 1; size <= 20; ++size) {
        for (std::size_t at = 0; at < size; ++at) {
            for (int c = 0; c < 256; ++c) {
                std::string text(size, 'a');
                text[at] = static_cast<char>(c);
                const std::string frame = R"({"type":"chat","to_user_id":"b","message":")" + text + "\"}";
                const auto scanned = scan_plain_chat(frame);
                if (c == '"') {
                    // The text ends early: what follows the quote is not the frame's end.
                    EXPECT_FALSE(scanned && scanned->message == text) << size << " " << at;
                    continue;
                }
                ASSERT_EQ(scanned.has_value(), plain(c)) << "size " << size << ", byte " << c << " at " << at;
                if (scanned) {
                    EXPECT_EQ(scanned->message, text);
                }
            }
        }
    }
}

// The decoder marks a chat plain (its to_user_id and message are their own JSON) only when the
// scan took it; the same chat in any other form is parsed and not marked.
TEST(PlainChat, OnlyAScannedChatIsMarkedPlain) {
    Decoder decoder;
    const auto marked = [&](const std::string& frame) {
        const auto decoded = decoder.decode(frame);
        EXPECT_TRUE(decoded) << frame;
        const auto* chat = decoded ? std::get_if<ChatRequest>(&*decoded) : nullptr;
        EXPECT_NE(chat, nullptr) << frame;
        return chat != nullptr && chat->plain;
    };
    EXPECT_TRUE(marked(R"({"type":"chat","to_user_id":"bob","message":"hi","id":"c-1"})"));
    EXPECT_FALSE(marked(R"({"type":"chat","to_user_id":"bob","message":"say \"hi\""})"));
    EXPECT_FALSE(marked(R"({"type":"chat","to_user_id":"b\u006fb","message":"hi"})"));
    EXPECT_FALSE(marked("{\"type\":\"chat\",\"to_user_id\":\"bob\",\"message\":\"caf\xC3\xA9\"}"));
    EXPECT_FALSE(marked(R"({"type": "chat","to_user_id":"bob","message":"hi"})"));
    EXPECT_FALSE(marked(R"({"message":"hi","type":"chat","to_user_id":"bob"})"));
}

// What the decoder answers, as plain values: the chat's fields or the error.
struct Answer {
    std::optional<std::vector<std::string>> chat;
    std::optional<std::vector<std::string>> error;
    bool operator==(const Answer&) const = default;
};

Answer answer(Decoder& decoder, const std::string& frame) {
    const auto decoded = decoder.decode(frame);
    if (!decoded) {
        const auto& e = decoded.error();
        return {std::nullopt,
                std::vector<std::string>{std::string(wire_name(e.code)), e.message, e.ref_json}};
    }
    const auto* chat = std::get_if<ChatRequest>(&*decoded);
    if (chat == nullptr) {
        return {std::vector<std::string>{"not a chat"}, std::nullopt};
    }
    return {std::vector<std::string>{std::string(chat->to_user_id), std::string(chat->message),
                                     std::string(chat->id_json)},
            std::nullopt};
}

// The scan's frames, accepted and refused by the request rules (limits, user id rules), decode
// exactly as the full parser decodes them.
TEST(PlainChat, TheDecoderAnswersAsTheParserWould) {
    const Limits limits{.max_user_id_bytes = 8, .max_message_bytes = 16, .max_client_id_bytes = 6};
    Decoder decoder(limits);
    const std::vector<std::string> frames = {
        R"({"type":"chat","to_user_id":"bob","message":"hi"})",
        R"({"type":"chat","to_user_id":"bob","message":"hi","id":"c1"})",
        R"({"type":"chat","to_user_id":"bob","message":"hi","id":-42})",
        R"({"type":"chat","to_user_id":"bob","message":"hi","id":"c123456"})",          // id over the limit
        R"({"type":"chat","to_user_id":"bob","message":"hi","id":1234567})",            // id over the limit
        R"({"type":"chat","to_user_id":"bob","message":"0123456789abcdef"})",           // text at the limit
        R"({"type":"chat","to_user_id":"bob","message":"0123456789abcdefg","id":"c"})", // past it
        R"({"type":"chat","to_user_id":"","message":"hi"})",                            // empty user id
        R"({"type":"chat","to_user_id":"ninechars","message":"hi"})",                   // user id too long
        "{\"type\":\"chat\",\"to_user_id\":\"a\x7f\",\"message\":\"hi\"}",              // DEL in a user id
        R"({"type":"chat","to_user_id":"b","message":""})",
    };
    for (const std::string& frame : frames) {
        ASSERT_TRUE(scan_plain_chat(frame)) << frame;
        const Answer scanned = answer(decoder, frame);
        const Answer parsed = answer(decoder, frame + " ");
        EXPECT_EQ(scanned, parsed) << frame;
    }
}

} // namespace
} // namespace parley::protocol
