// Encoder: the exact bytes of every server message (clients and the seed page depend on them),
// string escaping per RFC 8259 §7 proven by round trips through the Decoder, and that encoding
// allocates nothing beyond the output buffer's own growth.
#include "protocol/encoder.hpp"

#include "protocol/decoder.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <variant>

namespace parley::protocol::test {
// Defined in decoder_test.cpp, which counts allocations for this test binary.
std::size_t allocation_count();
} // namespace parley::protocol::test

namespace parley::protocol {
namespace {

std::string json_string(std::string_view text) {
    std::string out;
    append_json_string(out, text);
    return out;
}

// Sends `text` out as a chat message and back in as a client frame; returns what came back.
std::string round_trip(Decoder& decoder, std::string_view text) {
    std::string frame;
    encode_chat(frame, ChatEvent{"a", "b", text, 1, 2, false});
    const auto result = decoder.decode(frame);
    if (!result) {
        ADD_FAILURE() << frame << " -> " << wire_name(result.error().code) << ": " << result.error().message;
        return {};
    }
    return std::string(std::get<ChatRequest>(*result).message);
}

// --- append_json_string -----------------------------------------------------------------------

TEST(AppendJsonString, PlainTextIsQuoted) {
    EXPECT_EQ(json_string(""), R"("")");
    EXPECT_EQ(json_string("hello, world"), R"("hello, world")");
    EXPECT_EQ(json_string("/ ' ~"), R"("/ ' ~")");
}

TEST(AppendJsonString, QuoteAndBackslash) {
    EXPECT_EQ(json_string(R"(say "hi")"), R"("say \"hi\"")");
    EXPECT_EQ(json_string(R"(C:\dir\)"), R"("C:\\dir\\")");
    EXPECT_EQ(json_string(R"(\")"), R"("\\\"")");
}

TEST(AppendJsonString, ShortEscapes) {
    EXPECT_EQ(json_string("a\nb\rc\td\be\ff"), R"("a\nb\rc\td\be\ff")");
}

TEST(AppendJsonString, OtherControlCharactersUseUnicodeEscapes) {
    EXPECT_EQ(json_string(std::string_view("\0", 1)), R"("\u0000")");
    EXPECT_EQ(json_string("\x01"), R"("\u0001")");
    EXPECT_EQ(json_string("\x0b"), R"("\u000b")");
    EXPECT_EQ(json_string("\x1b[0m"), R"("\u001b[0m")");
    EXPECT_EQ(json_string("\x1f"), R"("\u001f")");
}

TEST(AppendJsonString, EveryControlCharacterIsEscaped) {
    for (int c = 0; c < 0x20; ++c) {
        const std::string text(1, static_cast<char>(c));
        const auto out = json_string(text);
        EXPECT_EQ(out.front(), '"');
        EXPECT_EQ(out[1], '\\') << "byte " << c;
        for (char byte : out) {
            EXPECT_GE(static_cast<unsigned char>(byte), 0x20) << "raw control byte left for " << c;
        }
    }
}

TEST(AppendJsonString, DelAndUtf8PassThrough) {
    EXPECT_EQ(json_string("\x7f"), "\"\x7f\"");
    EXPECT_EQ(json_string("zoë 世界 🌍"), "\"zoë 世界 🌍\"");
}

TEST(AppendJsonString, Appends) {
    std::string out = "prefix:";
    append_json_string(out, "a\"b");
    append_json_string(out, "c");
    EXPECT_EQ(out, R"(prefix:"a\"b""c")");
}

// --- message shapes ---------------------------------------------------------------------------

TEST(Encode, LoginOk) {
    std::string out;
    encode_login_ok(out, "alice", 3);
    EXPECT_EQ(out, R"({"type":"login_ok","user_id":"alice","shard":3})");
}

TEST(Encode, Chat) {
    std::string out;
    encode_chat(out, ChatEvent{"a", "b", "hi", 5, 1700000000000, false});
    EXPECT_EQ(
        out,
        R"({"type":"chat","from_user_id":"a","to_user_id":"b","message":"hi","msg_id":5,"ts":1700000000000})");
}

TEST(Encode, ChatOutgoing) {
    std::string out;
    encode_chat(out, ChatEvent{"a", "b", "hi", 5, 1700000000000, true});
    EXPECT_EQ(out, R"({"type":"chat","from_user_id":"a","to_user_id":"b","message":"hi","msg_id":5,)"
                   R"("ts":1700000000000,"outgoing":true})");
}

TEST(Encode, ChatEscapesEveryText) {
    std::string out;
    encode_chat(out, ChatEvent{"a\"", "b\\", "x\ny", 0, 0, false});
    EXPECT_EQ(
        out, R"({"type":"chat","from_user_id":"a\"","to_user_id":"b\\","message":"x\ny","msg_id":0,"ts":0})");
}

TEST(Encode, ChatNumbersAtTheirExtremes) {
    std::string out;
    encode_chat(out, ChatEvent{"a", "b", "", std::numeric_limits<std::uint64_t>::max(),
                               std::numeric_limits<std::int64_t>::min(), false});
    EXPECT_EQ(out, R"({"type":"chat","from_user_id":"a","to_user_id":"b","message":"",)"
                   R"("msg_id":18446744073709551615,"ts":-9223372036854775808})");
}

TEST(Encode, AckEchoesTheIdVerbatim) {
    std::string out;
    encode_ack(out, R"("c\u002d1")", 42, 1700000000001);
    EXPECT_EQ(out, R"({"type":"ack","id":"c\u002d1","msg_id":42,"ts":1700000000001})");

    out.clear();
    encode_ack(out, "-7", 1, 2);
    EXPECT_EQ(out, R"({"type":"ack","id":-7,"msg_id":1,"ts":2})");
}

TEST(Encode, AckWithoutIdSaysNull) {
    std::string out;
    encode_ack(out, "", 9, 10);
    EXPECT_EQ(out, R"({"type":"ack","id":null,"msg_id":9,"ts":10})");
}

TEST(Encode, ErrorWithMessageAndRef) {
    std::string out;
    encode_error(out, errc::missing_field, "field 'to_user_id' is missing", R"("c-1")");
    EXPECT_EQ(
        out,
        R"({"type":"error","code":"missing_field","message":"field 'to_user_id' is missing","ref":"c-1"})");
}

TEST(Encode, ErrorWithoutRefOmitsIt) {
    std::string out;
    encode_error(out, errc::bad_json, "not valid JSON: \"x\"", "");
    EXPECT_EQ(out, R"({"type":"error","code":"bad_json","message":"not valid JSON: \"x\""})");
}

TEST(Encode, ErrorWithoutMessageUsesTheMeaning) {
    std::string out;
    encode_error(out, errc::rate_limited, "", "17");
    const std::string expected = R"({"type":"error","code":"rate_limited","message":)" +
                                 json_string(meaning(errc::rate_limited)) + R"(,"ref":17})";
    EXPECT_EQ(out, expected);
}

TEST(Encode, Pong) {
    std::string out;
    encode_pong(out, "");
    EXPECT_EQ(out, R"({"type":"pong"})");
    out.clear();
    encode_pong(out, R"("p-1")");
    EXPECT_EQ(out, R"({"type":"pong","id":"p-1"})");
}

TEST(Encode, AppendsToWhatIsThere) {
    std::string out = "[";
    encode_pong(out, "1");
    out += ',';
    encode_login_ok(out, "u", 0);
    EXPECT_EQ(out, R"([{"type":"pong","id":1},{"type":"login_ok","user_id":"u","shard":0})");
}

TEST(Encode, AllocatesNothingWhenTheBufferHasRoom) {
    std::string out;
    out.reserve(1024);
    const auto* data = out.data();
    const auto before = test::allocation_count();
    encode_chat(out, ChatEvent{"alice", "bob", "a message with \"quotes\", \x01 and \n", 7, 8, true});
    encode_ack(out, R"("c-1")", 7, 8);
    encode_error(out, errc::bad_field, "", "3");
    encode_pong(out, "4");
    encode_login_ok(out, "alice", 1);
    EXPECT_EQ(test::allocation_count() - before, 0U);
    EXPECT_EQ(out.data(), data);
}

// --- round trips ------------------------------------------------------------------------------

TEST(RoundTrip, EveryAsciiByteAndNul) {
    Decoder decoder;
    std::string text;
    for (int c = 0; c < 0x80; ++c) {
        text.push_back(static_cast<char>(c));
    }
    EXPECT_EQ(round_trip(decoder, text), text);
}

TEST(RoundTrip, NonAscii) {
    Decoder decoder;
    for (const std::string_view text :
         {"zoë", "日本語のテキスト", "emoji 🌍🚀 and \"quotes\"", "\xc2\x80\xc2\x9f", "\xef\xbf\xbf",
          "\xf4\x8f\xbf\xbf", "tab\tin \\ middle\r\n"}) {
        EXPECT_EQ(round_trip(decoder, text), text);
    }
}

TEST(RoundTrip, RandomUtf8) {
    // Fixed seed: the same strings every run, chosen to mix escapes, ASCII and every UTF-8 length.
    std::mt19937 rng(20240601);
    std::uniform_int_distribution<int> pick(0, 9);
    std::uniform_int_distribution<std::uint32_t> control(0, 0x1f);
    std::uniform_int_distribution<std::uint32_t> ascii(0x20, 0x7f);
    std::uniform_int_distribution<std::uint32_t> bmp(0x80, 0xd7ff);
    std::uniform_int_distribution<std::uint32_t> astral(0x10000, 0x10ffff);
    const auto append_utf8 = [](std::string& s, std::uint32_t cp) {
        if (cp < 0x80) {
            s.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            s.push_back(static_cast<char>(0xc0 | (cp >> 6)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else if (cp < 0x10000) {
            s.push_back(static_cast<char>(0xe0 | (cp >> 12)));
            s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else {
            s.push_back(static_cast<char>(0xf0 | (cp >> 18)));
            s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
            s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        }
    };
    Decoder decoder;
    for (int i = 0; i < 200; ++i) {
        std::string text;
        const int length = i % 50;
        for (int n = 0; n < length; ++n) {
            const int kind = pick(rng);
            append_utf8(text, kind < 2   ? control(rng)
                              : kind < 6 ? ascii(rng)
                              : kind < 8 ? bmp(rng)
                                         : astral(rng));
        }
        ASSERT_EQ(round_trip(decoder, text), text) << "case " << i;
    }
}

TEST(RoundTrip, IdsComeBackFromAckPongAndError) {
    // A client id goes in with a chat and out in an ack, a pong or an error's `ref`. Feeding those
    // frames back to the (fully validating) decoder proves they are valid JSON: their types are
    // unknown to it, and for ack and pong its unknown_type error reports the id it read.
    Decoder decoder;
    for (const std::string_view id : {R"("c-1")", R"("c\"1")", R"("\u00e9\n")", "17", "-3"}) {
        const auto chat =
            decoder.decode(R"({"type":"chat","to_user_id":"b","message":"m","id":)" + std::string(id) + "}");
        ASSERT_TRUE(chat.has_value()) << id;
        const std::string id_json(std::get<ChatRequest>(*chat).id_json);
        ASSERT_EQ(id_json, id);

        std::string ack;
        std::string pong;
        encode_ack(ack, id_json, 1, 2);
        encode_pong(pong, id_json);
        for (const auto& frame : {ack, pong}) {
            const auto result = decoder.decode(frame);
            ASSERT_FALSE(result.has_value()) << frame;
            EXPECT_EQ(result.error().code, errc::unknown_type) << frame << ": " << result.error().message;
            EXPECT_EQ(result.error().ref_json, id) << frame;
        }

        std::string error;
        encode_error(error, errc::bad_field, "odd \"text\"\n\x01", id_json);
        const auto result = decoder.decode(error);
        ASSERT_FALSE(result.has_value()) << error;
        EXPECT_EQ(result.error().code, errc::unknown_type) << error << ": " << result.error().message;
        EXPECT_EQ(error.substr(error.size() - id.size() - 8), R"(,"ref":)" + std::string(id) + "}");
    }
}

} // namespace
} // namespace parley::protocol
