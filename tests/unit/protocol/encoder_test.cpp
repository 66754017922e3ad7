// Encoder: the exact bytes of every server message (clients and the seed page depend on them),
// string escaping per RFC 8259 §7 proven by round trips through the Decoder, the nested replies
// (history, conversations) read back with a DOM parser, and that encoding allocates nothing beyond
// the output buffer's own growth.
#include "protocol/encoder.hpp"

#include "protocol/decimal.hpp"

#include "protocol/decoder.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

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

// The encoder looks for bytes to escape eight at a time and then in a tail of up to seven: every
// byte value at every place of texts one to twenty bytes long (both parts, and a word's every
// lane), amid bytes that look like the ones that need escaping (0x1f + 1, '"' + 1, '\\' - 1, and
// 0x80..0xff, where a careless word test borrows), against an escaper written byte by byte.
TEST(AppendJsonString, EveryByteAtEveryPlaceMatchesAByteByByteEscaper) {
    const auto reference = [](std::string_view text) {
        std::string out = "\"";
        for (const char ch : text) {
            const auto c = static_cast<unsigned char>(ch);
            if (c == '"' || c == '\\') {
                out += '\\';
                out += ch;
            } else if (c < 0x20) {
                const std::string_view shorts = "\b\t\n\f\r";
                const std::string_view letters = "btnfr";
                if (const auto at = shorts.find(ch); at != std::string_view::npos) {
                    out += '\\';
                    out += letters[at];
                } else {
                    constexpr std::string_view hex = "0123456789abcdef";
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 0x0f];
                }
            } else {
                out += ch;
            }
        }
        return out + '"';
    };
    const std::string fillers[] = {"abcdefghijklmnopqrst", std::string(20, '\x20'), std::string(20, '#'),
                                   std::string(20, '['),   std::string(20, '\x80'), std::string(20, '\xff')};
    for (const std::string& filler : fillers) {
        for (std::size_t length = 1; length <= 20; ++length) {
            for (std::size_t at = 0; at < length; ++at) {
                for (int byte = 0; byte < 256; ++byte) {
                    std::string text = filler.substr(0, length);
                    text[at] = static_cast<char>(byte);
                    ASSERT_EQ(json_string(text), reference(text))
                        << "byte " << byte << " at " << at << " of " << length;
                }
            }
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

// Chats and acks are written through a pointer into room reserved for their longest form: the
// longest fields of every kind must fit exactly, and what was appended before must stay.
TEST(Encode, TheLongestChatAndAckFitTheRoomTheyReserve) {
    const std::string controls(300, '\x01'); // six bytes each once escaped, the most a byte takes
    std::string escaped;
    for (std::size_t i = 0; i < controls.size(); ++i) {
        escaped += R"(\u0001)";
    }
    ChatEvent chat{controls,
                   controls,
                   controls,
                   std::numeric_limits<std::uint64_t>::max(),
                   std::numeric_limits<std::int64_t>::min(),
                   true};
    chat.seq = std::numeric_limits<std::uint64_t>::max();
    std::string out = "before;";
    encode_chat(out, chat);
    EXPECT_EQ(out, R"(before;{"type":"chat","from_user_id":")" + escaped + R"(","to_user_id":")" + escaped +
                       R"(","message":")" + escaped + R"(","msg_id":18446744073709551615,)" +
                       R"("ts":-9223372036854775808,"seq":18446744073709551615,"outgoing":true})");

    out = "before;";
    encode_ack(out, R"("an id")", std::numeric_limits<std::uint64_t>::max(),
               std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::uint64_t>::max(), true);
    EXPECT_EQ(out, R"(before;{"type":"ack","id":"an id","msg_id":18446744073709551615,)"
                   R"("ts":-9223372036854775808,"seq":18446744073709551615,"duplicate":true})");
}

// ChatEncoding and AckEncoding write encode_chat's and encode_ack's bytes into memory of the
// caller's: each message below is written into a heap block of exactly bound() bytes (ASan
// reports a byte past it) and must equal the string encoder's bytes, the longest ones included.
std::string written(std::size_t bound, const auto& encoding) {
    const auto block = std::make_unique<char[]>(bound);
    char* const end = encoding.write(block.get());
    EXPECT_LE(end - block.get(), static_cast<std::ptrdiff_t>(bound));
    return std::string(block.get(), end);
}

TEST(Encode, ChatAndAckWrittenInPlaceAreTheEncodersBytes) {
    const std::string controls(300, '\x01');
    const std::string quotes(50, '"');
    const std::string both = controls + quotes;
    constexpr auto max_u64 = std::numeric_limits<std::uint64_t>::max();
    constexpr auto min_i64 = std::numeric_limits<std::int64_t>::min();
    std::vector<ChatEvent> chats{
        ChatEvent{"alice", "bob", "hi", 1, 2, false},
        ChatEvent{"alice", "bob", "", 0, 0, true},
        ChatEvent{controls, quotes, both, max_u64, min_i64, true, max_u64},
        ChatEvent{"\xc3\xa9", "a\\b", "line\nbreak\ttab", 77, -1, false, 5},
    };
    for (const ChatEvent& chat : chats) {
        std::string expected;
        encode_chat(expected, chat);
        const ChatEncoding encoding(chat);
        EXPECT_EQ(written(encoding.bound(), encoding), expected);
        if (json_needs_no_escape(chat.from_user_id) && json_needs_no_escape(chat.to_user_id) &&
            json_needs_no_escape(chat.message)) {
            // A caller that knows it says so, and the bytes are the same.
            ChatEvent known = chat;
            known.plain = true;
            const ChatEncoding plain(known);
            EXPECT_EQ(written(plain.bound(), plain), expected);
        }
    }
    EXPECT_TRUE(json_needs_no_escape("plain text, DEL \x7f and caf\xC3\xA9"));
    EXPECT_FALSE(json_needs_no_escape("a \"quote\""));
    EXPECT_FALSE(json_needs_no_escape("back\\slash"));
    EXPECT_FALSE(json_needs_no_escape("tab\t"));
    for (const std::string_view id : {std::string_view{}, std::string_view{R"("c-1")"},
                                      std::string_view{"-42"}, std::string_view{R"("\u0001\"")"}}) {
        for (const bool duplicate : {false, true}) {
            for (const std::uint64_t seq : {std::uint64_t{0}, std::uint64_t{9}, max_u64}) {
                std::string expected;
                encode_ack(expected, id, max_u64, min_i64, seq, duplicate);
                const AckEncoding encoding(id, max_u64, min_i64, seq, duplicate);
                EXPECT_EQ(written(encoding.bound(), encoding), expected) << id;
            }
        }
    }
}

// A batch's ts written out once (DecimalText) gives the same bytes as the ts written each time,
// and is not used for a message whose ts differs (a duplicate's older one): that message's own
// ts is written. Each in a block of exactly bound() bytes: the ts copy takes a fixed 20 bytes.
TEST(Encode, ABatchTsWrittenOnceGivesTheSameBytesAndOnlyWhenItIsTheMessagesTs) {
    constexpr auto min_i64 = std::numeric_limits<std::int64_t>::min();
    constexpr auto max_i64 = std::numeric_limits<std::int64_t>::max();
    for (const std::int64_t ts : {std::int64_t{0}, std::int64_t{7}, std::int64_t{-1},
                                  std::int64_t{1700000000001}, min_i64, max_i64}) {
        const DecimalText same(ts);
        const DecimalText other(ts == 5 ? 6 : 5);
        EXPECT_EQ(same.text(), std::to_string(ts));
        for (const std::uint64_t seq : {std::uint64_t{0}, std::uint64_t{3}}) {
            ChatEvent chat{"alice", "bob", "hi", 12, ts, seq == 3, seq};
            std::string expected;
            encode_chat(expected, chat);
            EXPECT_NE(expected.find(R"("ts":)" + std::to_string(ts)), std::string::npos) << expected;
            for (const DecimalText* text : {&same, &other}) {
                chat.ts_text = text;
                const ChatEncoding encoding(chat);
                EXPECT_EQ(written(encoding.bound(), encoding), expected) << ts;
            }
            std::string ack;
            encode_ack(ack, R"("c-1")", 12, ts, seq, false);
            for (const DecimalText* text : {&same, &other}) {
                const AckEncoding encoding(R"("c-1")", 12, ts, seq, false, text);
                EXPECT_EQ(written(encoding.bound(), encoding), ack) << ts;
            }
        }
    }
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

TEST(Encode, ChatWithSeq) {
    std::string out;
    ChatEvent chat{"a", "b", "hi", 5, 1700000000000, false};
    chat.seq = 12;
    encode_chat(out, chat);
    EXPECT_EQ(out, R"({"type":"chat","from_user_id":"a","to_user_id":"b","message":"hi","msg_id":5,)"
                   R"("ts":1700000000000,"seq":12})");

    // seq sits between ts and outgoing.
    out.clear();
    chat.outgoing = true;
    chat.seq = std::numeric_limits<std::uint64_t>::max();
    encode_chat(out, chat);
    EXPECT_EQ(out, R"({"type":"chat","from_user_id":"a","to_user_id":"b","message":"hi","msg_id":5,)"
                   R"("ts":1700000000000,"seq":18446744073709551615,"outgoing":true})");

    // 0 means "no seq" and is left out, exactly as before seqs existed.
    out.clear();
    chat.seq = 0;
    encode_chat(out, chat);
    EXPECT_EQ(out, R"({"type":"chat","from_user_id":"a","to_user_id":"b","message":"hi","msg_id":5,)"
                   R"("ts":1700000000000,"outgoing":true})");
}

TEST(Encode, AckWithSeq) {
    std::string out;
    encode_ack(out, R"("c-1")", 42, 1700000000001, 7);
    EXPECT_EQ(out, R"({"type":"ack","id":"c-1","msg_id":42,"ts":1700000000001,"seq":7})");

    out.clear();
    encode_ack(out, "", 42, 1700000000001, 1);
    EXPECT_EQ(out, R"({"type":"ack","id":null,"msg_id":42,"ts":1700000000001,"seq":1})");

    out.clear();
    encode_ack(out, "3", 42, 1700000000001, 0);
    EXPECT_EQ(out, R"({"type":"ack","id":3,"msg_id":42,"ts":1700000000001})");

    out.clear();
    encode_ack(out, "3", 42, 1700000000001, 5, true);
    EXPECT_EQ(out, R"({"type":"ack","id":3,"msg_id":42,"ts":1700000000001,"seq":5,"duplicate":true})");
}

TEST(Encode, Synced) {
    std::string out;
    encode_synced(out, 0);
    EXPECT_EQ(out, R"({"type":"synced","seq":0})");
    out.clear();
    encode_synced(out, 4097);
    EXPECT_EQ(out, R"({"type":"synced","seq":4097})");
    out.clear();
    encode_synced(out, std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(out, R"({"type":"synced","seq":18446744073709551615})");
}

TEST(Encode, HistoryEmpty) {
    std::string out;
    encode_history(out, "", "bob", {}, false);
    EXPECT_EQ(out, R"({"type":"history","id":null,"peer":"bob","messages":[],"more":false})");
}

TEST(Encode, HistoryMessagesAreChatsWithoutType) {
    ChatEvent newest{"bob", "alice", "hi \"a\"", 4160, 1700000000002, false};
    newest.seq = 9;
    // `outgoing` describes one pushed copy, not a stored message, so history leaves it out.
    const ChatEvent older{"alice", "bob", "line\nbreak", 4097, 1700000000001, true};
    const std::array messages{newest, older};
    std::string out;
    encode_history(out, R"("h-1")", "bob", messages, true);
    EXPECT_EQ(out, R"({"type":"history","id":"h-1","peer":"bob","messages":[)"
                   R"({"from_user_id":"bob","to_user_id":"alice","message":"hi \"a\"","msg_id":4160,)"
                   R"("ts":1700000000002,"seq":9},)"
                   R"({"from_user_id":"alice","to_user_id":"bob","message":"line\nbreak","msg_id":4097,)"
                   R"("ts":1700000000001}],"more":true})");
}

TEST(Encode, HistoryEscapesThePeer) {
    std::string out;
    encode_history(out, "17", "b\"\\", {}, true);
    EXPECT_EQ(out, R"({"type":"history","id":17,"peer":"b\"\\","messages":[],"more":true})");
}

TEST(Encode, ConversationsEmpty) {
    std::string out;
    encode_conversations(out, "", {});
    EXPECT_EQ(out, R"({"type":"conversations","id":null,"conversations":[]})");
}

TEST(Encode, Conversations) {
    ConversationSummary bob{"bob", ChatEvent{"bob", "alice", "see you", 4160, 1700000000002, false}, 2, 4097,
                            4100};
    bob.last.seq = 31;
    const ConversationSummary carol{"c\tarol", ChatEvent{"alice", "c\tarol", "", 64, 5, true}, 0, 0, 0};
    const std::array items{bob, carol};
    std::string out;
    encode_conversations(out, R"("v-1")", items);
    EXPECT_EQ(out, R"({"type":"conversations","id":"v-1","conversations":[)"
                   R"({"peer":"bob","last":{"from_user_id":"bob","to_user_id":"alice","message":"see you",)"
                   R"("msg_id":4160,"ts":1700000000002,"seq":31},"unread":2,"read_up_to":4097,)"
                   R"("peer_read_up_to":4100},)"
                   R"({"peer":"c\tarol","last":{"from_user_id":"alice","to_user_id":"c\tarol","message":"",)"
                   R"("msg_id":64,"ts":5},"unread":0,"read_up_to":0,"peer_read_up_to":0}]})");
}

TEST(Encode, Receipt) {
    std::string out;
    encode_receipt(out, true, "bob", "alice", 4097);
    EXPECT_EQ(out, R"({"type":"receipt","status":"read","user_id":"bob","peer":"alice","up_to":4097})");
    out.clear();
    encode_receipt(out, false, "b\"", "a\n", 1);
    EXPECT_EQ(out, R"({"type":"receipt","status":"delivered","user_id":"b\"","peer":"a\n","up_to":1})");
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

TEST(Encode, NewRepliesAllocateNothingWhenTheBufferHasRoom) {
    ChatEvent chat{"alice", "bob", "text with \"quotes\" and \x02", 4097, 8, true};
    chat.seq = 3;
    const std::array messages{chat, chat, chat};
    const std::array items{ConversationSummary{"bob", chat, 1, 2, 3},
                           ConversationSummary{"carol", chat, 4, 5, 6}};
    std::string out;
    out.reserve(4096);
    const auto* data = out.data();
    const auto before = test::allocation_count();
    encode_chat(out, chat);
    encode_ack(out, R"("c-1")", 7, 8, 9);
    encode_synced(out, 10);
    encode_history(out, R"("h-1")", "bob", messages, true);
    encode_conversations(out, "", items);
    encode_receipt(out, false, "alice", "bob", 4097);
    EXPECT_EQ(test::allocation_count() - before, 0U);
    EXPECT_EQ(out.data(), data);
}

// --- round trips ------------------------------------------------------------------------------

// The string at `key` of a DOM object, or a recorded failure.
std::string dom_string(simdjson::dom::element element, std::string_view key) {
    std::string_view text;
    if (auto error = element[key].get_string().get(text)) {
        ADD_FAILURE() << key << ": " << simdjson::error_message(error);
    }
    return std::string(text);
}

std::uint64_t dom_uint(simdjson::dom::element element, std::string_view key) {
    std::uint64_t number = 0;
    if (auto error = element[key].get_uint64().get(number)) {
        ADD_FAILURE() << key << ": " << simdjson::error_message(error);
    }
    return number;
}

// Checks that a nested chat object in a history or conversations reply says what `chat` said.
void expect_chat_object(simdjson::dom::element object, const ChatEvent& chat) {
    EXPECT_EQ(object["type"].error(), simdjson::NO_SUCH_FIELD) << "nested chats carry no type";
    EXPECT_EQ(object["outgoing"].error(), simdjson::NO_SUCH_FIELD);
    EXPECT_EQ(dom_string(object, "from_user_id"), chat.from_user_id);
    EXPECT_EQ(dom_string(object, "to_user_id"), chat.to_user_id);
    EXPECT_EQ(dom_string(object, "message"), chat.message);
    EXPECT_EQ(dom_uint(object, "msg_id"), chat.msg_id);
    std::int64_t ts = 0;
    EXPECT_EQ(object["ts"].get_int64().get(ts), simdjson::SUCCESS);
    EXPECT_EQ(ts, chat.ts_ms);
    if (chat.seq == 0) {
        EXPECT_EQ(object["seq"].error(), simdjson::NO_SUCH_FIELD);
    } else {
        EXPECT_EQ(dom_uint(object, "seq"), chat.seq);
    }
}

TEST(RoundTrip, ChatWithSeqStillDecodesAsAChat) {
    // A client that knows only the seed's fields ignores seq and outgoing, as the decoder does.
    Decoder decoder;
    ChatEvent event{"a", "b", "x\"\n", 1, 2, true};
    event.seq = 44;
    std::string frame;
    encode_chat(frame, event);
    const auto chat = decoder.decode(frame);
    ASSERT_TRUE(chat.has_value()) << frame << ": " << chat.error().message;
    EXPECT_EQ(std::get<ChatRequest>(*chat).message, event.message);
    EXPECT_EQ(std::get<ChatRequest>(*chat).to_user_id, "b");
}

TEST(RoundTrip, ReceiptRequestToReceiptAndBack) {
    // What a client reports is what the server relays: decode a receipt request, encode the
    // receipt for the peer, and decode that again (it has the request's shape plus user_id).
    Decoder decoder;
    for (const std::string_view frame :
         {R"({"type":"receipt","status":"read","peer":"al\"ice","up_to":4097,"id":"r-1"})",
          R"({"type":"receipt","status":"delivered","peer":1001,"up_to":18446744073709551615})",
          R"({"type":"receipt","status":"read","peer":"\u00e9\\","up_to":1})"}) {
        const auto request = decoder.decode(frame);
        ASSERT_TRUE(request.has_value()) << frame << ": " << request.error().message;
        const auto sent = std::get<ReceiptRequest>(*request);
        const std::string peer(sent.peer);

        std::string out;
        encode_receipt(out, sent.status == receipt_status::read, "bob", peer, sent.up_to);
        const auto relayed = decoder.decode(out);
        ASSERT_TRUE(relayed.has_value()) << out << ": " << relayed.error().message;
        const auto& receipt = std::get<ReceiptRequest>(*relayed);
        EXPECT_EQ(receipt.status, sent.status) << out;
        EXPECT_EQ(receipt.peer, peer) << out;
        EXPECT_EQ(receipt.up_to, sent.up_to) << out;
        EXPECT_TRUE(receipt.id_json.empty()) << "a relayed receipt answers no request";
    }
}

TEST(RoundTrip, HistoryReplyCarriesTheRequestsIdAndPeer) {
    Decoder decoder;
    ChatEvent first{"b\"ob", "alice", "tab\there \x01 and 世界", 4160, 1700000000002, true};
    first.seq = 5;
    const ChatEvent second{"alice", "b\"ob", "", 4097, -1, false};
    const std::array messages{first, second};
    for (const std::string_view id : {R"("h-1")", R"("h\u002d\"2")", "17", "-3"}) {
        const auto request =
            decoder.decode(R"({"type":"history","peer":"b\"ob","limit":2,"id":)" + std::string(id) + "}");
        ASSERT_TRUE(request.has_value()) << id;
        const auto history = std::get<HistoryRequest>(*request);
        const std::string id_json(history.id_json);
        const std::string peer(history.peer);

        std::string out;
        encode_history(out, id_json, peer, messages, true);
        // The reply has a history request's fields (and more); the validating decoder reads it
        // back with the same id and peer, which also proves the whole frame is well-formed JSON.
        const auto back = decoder.decode(out);
        ASSERT_TRUE(back.has_value()) << out << ": " << back.error().message;
        EXPECT_EQ(std::get<HistoryRequest>(*back).id_json, id) << out;
        EXPECT_EQ(std::get<HistoryRequest>(*back).peer, peer) << out;

        simdjson::dom::parser parser;
        simdjson::dom::element root;
        ASSERT_EQ(parser.parse(out).get(root), simdjson::SUCCESS) << out;
        EXPECT_EQ(dom_string(root, "type"), "history");
        bool more = false;
        EXPECT_EQ(root["more"].get_bool().get(more), simdjson::SUCCESS);
        EXPECT_TRUE(more);
        simdjson::dom::array array;
        ASSERT_EQ(root["messages"].get_array().get(array), simdjson::SUCCESS) << out;
        ASSERT_EQ(array.size(), messages.size());
        std::size_t i = 0;
        for (simdjson::dom::element element : array) {
            expect_chat_object(element, messages[i++]);
        }
    }
}

TEST(RoundTrip, ConversationsReply) {
    Decoder decoder;
    ConversationSummary first{"b\\ob", ChatEvent{"b\\ob", "alice", "a\nb", 4160, 3, false}, 7, 4097, 4100};
    first.last.seq = 12;
    const ConversationSummary second{"99", ChatEvent{"alice", "99", "\x1f", 64, 4, true}, 0, 0, 64};
    const std::array items{first, second};

    std::string out;
    encode_conversations(out, R"("v-1")", items);
    const auto back = decoder.decode(out);
    ASSERT_TRUE(back.has_value()) << out << ": " << back.error().message;
    EXPECT_EQ(std::get<ConversationsRequest>(*back).id_json, R"("v-1")");

    simdjson::dom::parser parser;
    simdjson::dom::element root;
    ASSERT_EQ(parser.parse(out).get(root), simdjson::SUCCESS) << out;
    simdjson::dom::array array;
    ASSERT_EQ(root["conversations"].get_array().get(array), simdjson::SUCCESS) << out;
    ASSERT_EQ(array.size(), items.size());
    std::size_t i = 0;
    for (simdjson::dom::element element : array) {
        const ConversationSummary& item = items[i++];
        EXPECT_EQ(dom_string(element, "peer"), item.peer);
        expect_chat_object(element["last"].value_unsafe(), item.last);
        EXPECT_EQ(dom_uint(element, "unread"), item.unread);
        EXPECT_EQ(dom_uint(element, "read_up_to"), item.read_up_to);
        EXPECT_EQ(dom_uint(element, "peer_read_up_to"), item.peer_read_up_to);
    }

    // Without a request id the reply says null, which no request may carry: the decoder refuses
    // it as a bad id (not as bad JSON).
    out.clear();
    encode_conversations(out, "", items);
    const auto refused = decoder.decode(out);
    ASSERT_FALSE(refused.has_value()) << out;
    EXPECT_EQ(refused.error().code, errc::bad_field) << refused.error().message;
    EXPECT_NE(refused.error().message.find("'id'"), std::string::npos) << refused.error().message;
}

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
        std::string ack_with_seq;
        std::string pong;
        encode_ack(ack, id_json, 1, 2);
        encode_ack(ack_with_seq, id_json, 1, 2, 3);
        encode_pong(pong, id_json);
        for (const auto& frame : {ack, ack_with_seq, pong}) {
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
