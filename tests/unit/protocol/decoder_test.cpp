// Decoder: every accepted shape, every error code it can return, the limits at and one past their
// boundaries, ref_json on errors, and the lifetime of the views it returns. Simple one-line cases
// live in tests/protocol/decode_cases.jsonl; this file holds what needs C++ to say.
// This file also replaces global operator new for the unit_protocol binary, to count allocations.
#include "protocol/decoder.hpp"

#include "protocol/errc.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>

namespace {
thread_local std::size_t allocations = 0;
} // namespace

// Counting operator new: "decode does not allocate in steady state" and "encoding allocates
// nothing beyond the output's growth" are contracts, so the tests measure them. Every replaceable
// form is replaced, because ASan's own nothrow and array forms would not pair with our delete.
namespace {
void* counted_malloc(std::size_t size) noexcept {
    ++allocations;
    return std::malloc(size == 0 ? 1 : size);
}
} // namespace
void* operator new(std::size_t size) {
    if (void* p = counted_malloc(size)) {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    return ::operator new(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    return counted_malloc(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    return counted_malloc(size);
}
// Out of line, so GCC does not inline free() into callers and then warn that it frees memory
// from operator new (-Wmismatched-new-delete), which here is exactly the intent.
[[gnu::noinline]] void operator delete(void* p) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}

namespace parley::protocol::test {
// Allocations made by this thread so far; encoder_test.cpp uses it too.
std::size_t allocation_count() {
    return allocations;
}
} // namespace parley::protocol::test

namespace parley::protocol {
namespace {

std::string describe(const DecodeError& e) {
    return std::string(wire_name(e.code)) + ": " + e.message + " (ref " + e.ref_json + ")";
}

// Decodes `frame` and returns the message if it is a T; otherwise records a failure.
template <typename T> std::optional<T> decode_as(Decoder& decoder, std::string_view frame) {
    auto result = decoder.decode(frame);
    if (!result) {
        ADD_FAILURE() << frame << " -> " << describe(result.error());
        return std::nullopt;
    }
    if (!std::holds_alternative<T>(*result)) {
        ADD_FAILURE() << frame << " decoded as alternative " << result->index();
        return std::nullopt;
    }
    return std::get<T>(*result);
}

// Decodes `frame` expecting an error; a success is recorded as a failure.
DecodeError decode_error(Decoder& decoder, std::string_view frame) {
    auto result = decoder.decode(frame);
    if (result) {
        ADD_FAILURE() << frame << " decoded, but an error was expected";
        return DecodeError{errc::server_busy, "decoded", {}};
    }
    return result.error();
}

std::string chat_with_message(std::string_view message_json) {
    return R"({"type":"chat","to_user_id":"bob","message":)" + std::string(message_json) + "}";
}

// --- accepted shapes ------------------------------------------------------------------------

TEST(Decoder, SeedLogin) {
    Decoder decoder;
    const auto login = decode_as<LoginRequest>(decoder, R"({"type":"login","user_id":"alice"})");
    ASSERT_TRUE(login);
    EXPECT_EQ(login->user_id, "alice");
    EXPECT_FALSE(login->since.has_value());
}

TEST(Decoder, LoginSince) {
    Decoder decoder;
    auto login = decode_as<LoginRequest>(decoder, R"({"type":"login","user_id":"a","since":42})");
    ASSERT_TRUE(login);
    EXPECT_EQ(login->since, std::optional<std::uint64_t>(42));

    login =
        decode_as<LoginRequest>(decoder, R"({"type":"login","user_id":"a","since":18446744073709551615})");
    ASSERT_TRUE(login);
    EXPECT_EQ(login->since, std::optional<std::uint64_t>(UINT64_MAX));
}

TEST(Decoder, NumericUserIdsBecomeTheirDigits) {
    Decoder decoder;
    auto login = decode_as<LoginRequest>(decoder, R"({"type":"login","user_id":1234567890123})");
    ASSERT_TRUE(login);
    EXPECT_EQ(login->user_id, "1234567890123");

    login = decode_as<LoginRequest>(decoder, R"({"type":"login","user_id":0 })");
    ASSERT_TRUE(login);
    EXPECT_EQ(login->user_id, "0");

    // Larger than any 64-bit integer is still just digits: ids are names, not numbers.
    const std::string digits(40, '9');
    login = decode_as<LoginRequest>(decoder, R"({"type":"login","user_id":)" + digits + "}");
    ASSERT_TRUE(login);
    EXPECT_EQ(login->user_id, digits);

    const auto chat = decode_as<ChatRequest>(decoder, R"({"type":"chat","to_user_id":7,"message":"x"})");
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->to_user_id, "7");
}

TEST(Decoder, SeedChatHasNoId) {
    Decoder decoder;
    const auto chat = decode_as<ChatRequest>(decoder, R"({"type":"chat","to_user_id":"bob","message":"hi"})");
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->to_user_id, "bob");
    EXPECT_EQ(chat->message, "hi");
    EXPECT_TRUE(chat->id_json.empty());
}

TEST(Decoder, ChatIdIsKeptExactlyAsSent) {
    Decoder decoder;
    auto chat =
        decode_as<ChatRequest>(decoder, R"({"type":"chat","to_user_id":"b","message":"m","id":"c-1"})");
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->id_json, R"("c-1")");

    // Escapes stay escaped: the ack must echo the client's own bytes.
    chat = decode_as<ChatRequest>(decoder,
                                  R"({"type":"chat","to_user_id":"b","message":"m","id":"c\u002d1\""})");
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->id_json, R"("c\u002d1\"")");

    // Whitespace around the token is not part of it.
    chat = decode_as<ChatRequest>(
        decoder, "{\"type\":\"chat\",\"to_user_id\":\"b\",\"message\":\"m\",\"id\" :\n 17 \t}");
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->id_json, "17");

    chat = decode_as<ChatRequest>(decoder, R"({"type":"chat","to_user_id":"b","message":"m","id":-5})");
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->id_json, "-5");

    const std::string big = "123456789012345678901234567890";
    chat =
        decode_as<ChatRequest>(decoder, R"({"type":"chat","to_user_id":"b","message":"m","id":)" + big + "}");
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->id_json, big);
}

TEST(Decoder, MessageIsUnescaped) {
    Decoder decoder;
    const auto chat = decode_as<ChatRequest>(
        decoder, chat_with_message(R"("line\nbreak \"q\" \\ \/ \t\u00e9 \ud83d\ude00 \u0000end")"));
    ASSERT_TRUE(chat);
    constexpr char expected[] = "line\nbreak \"q\" \\ / \t\xc3\xa9 \xf0\x9f\x98\x80 \0end";
    EXPECT_EQ(chat->message, std::string_view(expected, sizeof expected - 1));
}

TEST(Decoder, RawUtf8PassesThrough) {
    Decoder decoder;
    const auto chat =
        decode_as<ChatRequest>(decoder, R"({"type":"chat","to_user_id":"zoë","message":"héllo, 世界 🌍"})");
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->to_user_id, "zoë");
    EXPECT_EQ(chat->message, "héllo, 世界 🌍");
}

TEST(Decoder, Ping) {
    Decoder decoder;
    auto ping = decode_as<PingRequest>(decoder, R"({"type":"ping"})");
    ASSERT_TRUE(ping);
    EXPECT_TRUE(ping->id_json.empty());

    ping = decode_as<PingRequest>(decoder, R"({"type":"ping","id":"p-9"})");
    ASSERT_TRUE(ping);
    EXPECT_EQ(ping->id_json, R"("p-9")");
}

TEST(Decoder, FieldOrderDoesNotMatter) {
    Decoder decoder;
    const auto chat =
        decode_as<ChatRequest>(decoder, R"({"id":3,"message":"m","to_user_id":"b","type":"chat"})");
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->to_user_id, "b");
    EXPECT_EQ(chat->message, "m");
    EXPECT_EQ(chat->id_json, "3");
}

TEST(Decoder, UnknownAndIrrelevantFieldsAreIgnored) {
    Decoder decoder;
    // `since` belongs to login; on a chat it is just another unknown field, valid or not.
    const auto chat = decode_as<ChatRequest>(
        decoder, R"({"type":"chat","v":2,"meta":{"a":[1,-2.5e3,true,false,null,{"b":"c"}],"d":{}},)"
                 R"("since":"x","user_id":[],"to_user_id":"b","message":"m"})");
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->to_user_id, "b");

    // Likewise a bad `id` on a login, or a bad message on a ping.
    EXPECT_TRUE(decode_as<LoginRequest>(decoder, R"({"type":"login","user_id":"a","id":{}})"));
    EXPECT_TRUE(decode_as<PingRequest>(decoder, R"({"type":"ping","message":7,"to_user_id":""})"));
    // The fields of history and receipt mean nothing to other requests, whatever their values.
    EXPECT_TRUE(decode_as<ChatRequest>(
        decoder, R"({"type":"chat","to_user_id":"b","message":"m","peer":"","limit":0,"before":-1,)"
                 R"("status":"seen","up_to":0})"));
    EXPECT_TRUE(decode_as<LoginRequest>(decoder, R"({"type":"login","user_id":"a","peer":{},"up_to":"x"})"));
    EXPECT_TRUE(decode_as<ConversationsRequest>(
        decoder, R"({"type":"conversations","peer":[],"limit":1000,"status":1,"user_id":""})"));
    // And the other way round: since, user_id and message are not part of a history or receipt.
    EXPECT_TRUE(decode_as<HistoryRequest>(
        decoder, R"({"type":"history","peer":"b","since":-1,"to_user_id":"","message":null,"up_to":0})"));
    EXPECT_TRUE(decode_as<ReceiptRequest>(
        decoder, R"({"type":"receipt","status":"read","peer":"b","up_to":1,"limit":0,"before":"x"})"));
}

TEST(Decoder, RepeatedFieldKeepsTheLastValue) {
    Decoder decoder;
    const auto chat = decode_as<ChatRequest>(
        decoder,
        R"({"type":"chat","to_user_id":"first","message":"one","message":"two","to_user_id":"last"})");
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->to_user_id, "last");
    EXPECT_EQ(chat->message, "two");

    EXPECT_TRUE(decode_as<PingRequest>(decoder, R"({"type":"chat","type":"ping"})"));

    // An invalid first value is forgotten once a valid one follows...
    auto ping = decode_as<PingRequest>(decoder, R"({"type":"ping","id":null,"id":1})");
    ASSERT_TRUE(ping);
    EXPECT_EQ(ping->id_json, "1");
    // ...and a valid first value does not rescue an invalid last one.
    const auto error = decode_error(decoder, R"({"type":"ping","id":1,"id":null})");
    EXPECT_EQ(error.code, errc::bad_field);
    EXPECT_TRUE(error.ref_json.empty());
}

TEST(Decoder, EscapedKeysAreMatched) {
    Decoder decoder;
    const auto login = decode_as<LoginRequest>(decoder, R"({"\u0074ype":"log\u0069n","user\u005fid":"a"})");
    ASSERT_TRUE(login);
    EXPECT_EQ(login->user_id, "a");
}

TEST(Decoder, WhitespaceAroundTheObject) {
    Decoder decoder;
    EXPECT_TRUE(decode_as<PingRequest>(decoder, " \t\r\n{ \"type\" : \"ping\" } \n"));
}

TEST(Decoder, NestingUpToTheLimitIsAccepted) {
    Decoder decoder;
    // The root object is level 1, so 63 arrays inside it make 64 levels: the deepest allowed.
    const std::string frame = R"({"type":"ping","x":)" + std::string(63, '[') + std::string(63, ']') + "}";
    EXPECT_TRUE(decode_as<PingRequest>(decoder, frame));
}

// --- bad_json ---------------------------------------------------------------------------------

TEST(Decoder, BadJson) {
    Decoder decoder;
    const std::string_view frames[] = {
        "",
        "   ",
        "hello",
        R"({"type":"ping")",
        R"({"type":"ping"} x)",
        R"({"type":"ping"}})",
        R"({"type":"ping"}{"type":"ping"})",
        R"({"type":"ping",})",
        R"({"type" "ping"})",
        R"({type:"ping"})",
        R"({"type":"ping","x":nul})",
        R"({"type":"ping","x":truex})",
        R"({"type":"ping","x":[1 2]})",
        R"({"type":"ping","x":{"a"}})",
        R"({"type":"ping","x":01})",
        R"({"type":"ping","x":1.})",
        R"({"type":"ping","x":-})",
        R"({"type":"ping","x":.5})",
        R"({"type":"ping","x":1e})",
        R"({"type":"ping","x":"\x"})",
        R"({"type":"ping","x":"\ud800"})",
        R"({"type":"p\ing"})",
        R"({"type":"login","user_id":007})",
        R"({"type":"ping","id":1.2.3})",
        R"({"type":"login","user_id":"a","since":1e})",
        "{\"type\":\"ping\",\"x\":\"raw\ttab\"}",
        "{\"type\":\"ping\",\"x\":\"\xff\"}",
        R"([1,2)",
        R"(12 34)",
        R"("a" "b")",
        R"([1] 2)",
        R"(nul)",
    };
    for (const auto frame : frames) {
        const auto error = decode_error(decoder, frame);
        EXPECT_EQ(error.code, errc::bad_json) << frame << " -> " << describe(error);
        EXPECT_NE(error.message.find("not valid JSON"), std::string::npos) << error.message;
    }
}

TEST(Decoder, NestingPastTheLimitIsBadJson) {
    Decoder decoder;
    const std::string arrays = R"({"type":"ping","x":)" + std::string(64, '[') + std::string(64, ']') + "}";
    auto error = decode_error(decoder, arrays);
    EXPECT_EQ(error.code, errc::bad_json);
    EXPECT_NE(error.message.find("64 levels"), std::string::npos) << error.message;

    std::string objects = R"({"type":"ping")";
    for (int i = 0; i < 64; ++i) {
        objects += R"(,"x":{"y":1)";
    }
    objects += std::string(65, '}');
    error = decode_error(decoder, objects);
    EXPECT_EQ(error.code, errc::bad_json);
}

// --- not_an_object ----------------------------------------------------------------------------

TEST(Decoder, NotAnObject) {
    Decoder decoder;
    for (const std::string_view frame : {"[]", R"([{"type":"ping"}])", R"("ping")", "42", " -1.5e3 ", "true",
                                         "false", "null", R"("\u00e9")"}) {
        const auto error = decode_error(decoder, frame);
        EXPECT_EQ(error.code, errc::not_an_object) << frame << " -> " << describe(error);
        EXPECT_TRUE(error.ref_json.empty());
    }
}

// --- missing_field ----------------------------------------------------------------------------

TEST(Decoder, MissingFieldsAreNamed) {
    Decoder decoder;
    struct Case {
        std::string_view frame;
        std::string_view message;
    };
    const Case cases[] = {
        {"{}", "field 'type' is missing"},
        {R"({"user_id":"a"})", "field 'type' is missing"},
        {R"({"type":"login"})", "field 'user_id' is missing"},
        {R"({"type":"login","to_user_id":"a"})", "field 'user_id' is missing"},
        {R"({"type":"chat","message":"hi"})", "field 'to_user_id' is missing"},
        {R"({"type":"chat","to_user_id":"bob"})", "field 'message' is missing"},
        {R"({"type":"history"})", "field 'peer' is missing"},
        {R"({"type":"history","to_user_id":"bob","limit":10})", "field 'peer' is missing"},
        {R"({"type":"receipt","peer":"a","up_to":1})", "field 'status' is missing"},
        {R"({"type":"receipt","status":"read","up_to":1})", "field 'peer' is missing"},
        {R"({"type":"receipt","status":"read","user_id":"a","up_to":1})", "field 'peer' is missing"},
        {R"({"type":"receipt","status":"delivered","peer":"a"})", "field 'up_to' is missing"},
    };
    for (const auto& c : cases) {
        const auto error = decode_error(decoder, c.frame);
        EXPECT_EQ(error.code, errc::missing_field) << c.frame;
        EXPECT_EQ(error.message, c.message) << c.frame;
    }
}

// --- bad_field --------------------------------------------------------------------------------

TEST(Decoder, BadFieldTypes) {
    Decoder decoder;
    struct Case {
        std::string_view frame;
        std::string_view field;
    };
    const Case cases[] = {
        {R"({"type":1})", "'type'"},
        {R"({"type":null})", "'type'"},
        {R"({"type":["chat"]})", "'type'"},
        {R"({"type":{"chat":1}})", "'type'"},
        {R"({"type":"login","user_id":true})", "'user_id'"},
        {R"({"type":"login","user_id":null})", "'user_id'"},
        {R"({"type":"login","user_id":{"id":"a"}})", "'user_id'"},
        {R"({"type":"login","user_id":["a"]})", "'user_id'"},
        {R"({"type":"login","user_id":-1})", "'user_id'"},
        {R"({"type":"login","user_id":1.5})", "'user_id'"},
        {R"({"type":"login","user_id":1e3})", "'user_id'"},
        {R"({"type":"login","user_id":"a","since":"5"})", "'since'"},
        {R"({"type":"login","user_id":"a","since":-1})", "'since'"},
        {R"({"type":"login","user_id":"a","since":2.0})", "'since'"},
        {R"({"type":"login","user_id":"a","since":null})", "'since'"},
        {R"({"type":"login","user_id":"a","since":18446744073709551616})", "'since'"},
        {R"({"type":"chat","to_user_id":false,"message":"m"})", "'to_user_id'"},
        {R"({"type":"chat","to_user_id":"b","message":5})", "'message'"},
        {R"({"type":"chat","to_user_id":"b","message":null})", "'message'"},
        {R"({"type":"chat","to_user_id":"b","message":["m"]})", "'message'"},
        {R"({"type":"chat","to_user_id":"b","message":"m","id":{}})", "'id'"},
        {R"({"type":"chat","to_user_id":"b","message":"m","id":[1]})", "'id'"},
        {R"({"type":"chat","to_user_id":"b","message":"m","id":true})", "'id'"},
        {R"({"type":"chat","to_user_id":"b","message":"m","id":null})", "'id'"},
        {R"({"type":"chat","to_user_id":"b","message":"m","id":1.5})", "'id'"},
        {R"({"type":"chat","to_user_id":"b","message":"m","id":1e2})", "'id'"},
        {R"({"type":"ping","id":-0.0})", "'id'"},
        {R"({"type":"ping","id":false})", "'id'"},
        {R"({"type":"history","peer":true})", "'peer'"},
        {R"({"type":"history","peer":null})", "'peer'"},
        {R"({"type":"history","peer":["bob"]})", "'peer'"},
        {R"({"type":"history","peer":-1})", "'peer'"},
        {R"({"type":"history","peer":1.5})", "'peer'"},
        {R"({"type":"history","peer":"b","before":-1})", "'before'"},
        {R"({"type":"history","peer":"b","before":"5"})", "'before'"},
        {R"({"type":"history","peer":"b","before":1.5})", "'before'"},
        {R"({"type":"history","peer":"b","before":1e3})", "'before'"},
        {R"({"type":"history","peer":"b","before":null})", "'before'"},
        {R"({"type":"history","peer":"b","before":18446744073709551616})", "'before'"},
        {R"({"type":"history","peer":"b","limit":0})", "'limit'"},
        {R"({"type":"history","peer":"b","limit":101})", "'limit'"},
        {R"({"type":"history","peer":"b","limit":-1})", "'limit'"},
        {R"({"type":"history","peer":"b","limit":-50})", "'limit'"},
        {R"({"type":"history","peer":"b","limit":50.0})", "'limit'"},
        {R"({"type":"history","peer":"b","limit":5e1})", "'limit'"},
        {R"({"type":"history","peer":"b","limit":"50"})", "'limit'"},
        {R"({"type":"history","peer":"b","limit":null})", "'limit'"},
        {R"({"type":"history","peer":"b","limit":[50]})", "'limit'"},
        {R"({"type":"history","peer":"b","limit":4294967346})", "'limit'"},
        {R"({"type":"history","peer":"b","limit":18446744073709551616})", "'limit'"},
        {R"({"type":"history","peer":"b","id":{}})", "'id'"},
        {R"({"type":"history","peer":"b","id":1.5})", "'id'"},
        {R"({"type":"conversations","id":null})", "'id'"},
        {R"({"type":"conversations","id":["c"]})", "'id'"},
        {R"({"type":"receipt","status":"Read","peer":"a","up_to":1})", "'status'"},
        {R"({"type":"receipt","status":"seen","peer":"a","up_to":1})", "'status'"},
        {R"({"type":"receipt","status":"","peer":"a","up_to":1})", "'status'"},
        {R"({"type":"receipt","status":"read ","peer":"a","up_to":1})", "'status'"},
        {R"({"type":"receipt","status":1,"peer":"a","up_to":1})", "'status'"},
        {R"({"type":"receipt","status":true,"peer":"a","up_to":1})", "'status'"},
        {R"({"type":"receipt","status":null,"peer":"a","up_to":1})", "'status'"},
        {R"({"type":"receipt","status":["read"],"peer":"a","up_to":1})", "'status'"},
        {R"({"type":"receipt","status":"read","peer":false,"up_to":1})", "'peer'"},
        {R"({"type":"receipt","status":"read","peer":{},"up_to":1})", "'peer'"},
        {R"({"type":"receipt","status":"read","peer":"a","up_to":0})", "'up_to'"},
        {R"({"type":"receipt","status":"read","peer":"a","up_to":-1})", "'up_to'"},
        {R"({"type":"receipt","status":"read","peer":"a","up_to":1.5})", "'up_to'"},
        {R"({"type":"receipt","status":"read","peer":"a","up_to":1.0})", "'up_to'"},
        {R"({"type":"receipt","status":"read","peer":"a","up_to":"7"})", "'up_to'"},
        {R"({"type":"receipt","status":"read","peer":"a","up_to":null})", "'up_to'"},
        {R"({"type":"receipt","status":"read","peer":"a","up_to":18446744073709551616})", "'up_to'"},
        {R"({"type":"receipt","status":"read","peer":"a","up_to":1,"id":true})", "'id'"},
    };
    for (const auto& c : cases) {
        const auto error = decode_error(decoder, c.frame);
        EXPECT_EQ(error.code, errc::bad_field) << c.frame << " -> " << describe(error);
        EXPECT_NE(error.message.find(c.field), std::string::npos) << c.frame << ": " << error.message;
        EXPECT_TRUE(error.ref_json.empty()) << c.frame;
    }
}

// --- unknown_type -----------------------------------------------------------------------------

TEST(Decoder, UnknownType) {
    Decoder decoder;
    for (const std::string_view frame :
         {R"({"type":"logout"})", R"({"type":""})", R"({"type":"Chat"})", R"({"type":"ping "})"}) {
        const auto error = decode_error(decoder, frame);
        EXPECT_EQ(error.code, errc::unknown_type) << frame << " -> " << describe(error);
    }
    const auto error = decode_error(decoder, R"({"type":"logout"})");
    EXPECT_NE(error.message.find("'logout'"), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("history, conversations or receipt"), std::string::npos) << error.message;
    for (const std::string_view frame : {R"({"type":"History","peer":"b"})", R"({"type":"conversation"})",
                                         R"({"type":"receipts","status":"read","peer":"b","up_to":1})"}) {
        EXPECT_EQ(decode_error(decoder, frame).code, errc::unknown_type) << frame;
    }
}

TEST(Decoder, UnknownTypeEchoIsCutOnACharacterBoundary) {
    Decoder decoder;
    // 31 ASCII bytes then a 2-byte character straddling the 32-byte cut.
    const std::string type = std::string(31, 't') + "é" + std::string(100, 'z');
    const auto error = decode_error(decoder, R"({"type":")" + type + R"("})");
    EXPECT_EQ(error.code, errc::unknown_type);
    EXPECT_NE(error.message.find("'" + std::string(31, 't') + "...'"), std::string::npos) << error.message;
    EXPECT_EQ(error.message.find('z'), std::string::npos) << error.message;
}

// --- bad_user_id ------------------------------------------------------------------------------

TEST(Decoder, BadUserIds) {
    Decoder decoder;
    const std::string_view frames[] = {
        R"({"type":"login","user_id":""})",
        R"({"type":"login","user_id":"a\u0000b"})",
        R"({"type":"login","user_id":"a\nb"})",
        R"({"type":"login","user_id":"\u001f"})",
        R"({"type":"login","user_id":"a\u007f"})",
        R"({"type":"chat","to_user_id":"","message":"m"})",
        R"({"type":"chat","to_user_id":"\t","message":"m"})",
        R"({"type":"history","peer":""})",
        R"({"type":"history","peer":"a\u0000"})",
        R"({"type":"receipt","status":"read","peer":"","up_to":1})",
        R"({"type":"receipt","status":"read","peer":"\u007f","up_to":1})",
    };
    for (const auto frame : frames) {
        const auto error = decode_error(decoder, frame);
        EXPECT_EQ(error.code, errc::bad_user_id) << frame << " -> " << describe(error);
        const bool names_the_field = error.message.find("user_id'") != std::string::npos ||
                                     error.message.find("'peer'") != std::string::npos;
        EXPECT_TRUE(names_the_field) << error.message;
    }
}

TEST(Decoder, UserIdLengthBoundary) {
    Decoder decoder; // default limit: 64 bytes
    const std::string at_limit(64, 'u');
    const auto login =
        decode_as<LoginRequest>(decoder, R"({"type":"login","user_id":")" + at_limit + R"("})");
    ASSERT_TRUE(login);
    EXPECT_EQ(login->user_id, at_limit);

    auto error = decode_error(decoder, R"({"type":"login","user_id":")" + at_limit + R"(u"})");
    EXPECT_EQ(error.code, errc::bad_user_id);
    EXPECT_NE(error.message.find("65 bytes"), std::string::npos) << error.message;

    // The limit counts bytes after unescaping: 32 two-byte characters are 64 bytes.
    std::string escaped;
    for (int i = 0; i < 32; ++i) {
        escaped += "\\u00e9";
    }
    EXPECT_TRUE(decode_as<LoginRequest>(decoder, R"({"type":"login","user_id":")" + escaped + R"("})"));
    error = decode_error(decoder, R"({"type":"login","user_id":")" + escaped + R"(x"})");
    EXPECT_EQ(error.code, errc::bad_user_id);

    // Numeric ids obey the same limit, counted in digits.
    const auto digits =
        decode_as<LoginRequest>(decoder, R"({"type":"login","user_id":)" + std::string(64, '7') + "}");
    ASSERT_TRUE(digits);
    EXPECT_EQ(digits->user_id.size(), 64U);
    error = decode_error(decoder,
                         R"({"type":"chat","to_user_id":)" + std::string(65, '7') + R"(,"message":"m"})");
    EXPECT_EQ(error.code, errc::bad_user_id);
    EXPECT_NE(error.message.find("'to_user_id'"), std::string::npos) << error.message;
}

TEST(Decoder, UserIdLimitComesFromLimits) {
    Limits limits;
    limits.max_user_id_bytes = 3;
    Decoder decoder(limits);
    EXPECT_TRUE(decode_as<LoginRequest>(decoder, R"({"type":"login","user_id":"abc"})"));
    EXPECT_EQ(decode_error(decoder, R"({"type":"login","user_id":"abcd"})").code, errc::bad_user_id);
    EXPECT_EQ(decode_error(decoder, R"({"type":"login","user_id":1000})").code, errc::bad_user_id);
}

// --- message_too_long -------------------------------------------------------------------------

TEST(Decoder, MessageLengthBoundaryAtTheDefault) {
    Decoder decoder; // default limit: 64 KiB
    const std::string at_limit(64 * 1024, 'm');
    const auto chat = decode_as<ChatRequest>(decoder, chat_with_message('"' + at_limit + '"'));
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->message.size(), at_limit.size());

    const auto error = decode_error(decoder, chat_with_message('"' + at_limit + "m\""));
    EXPECT_EQ(error.code, errc::message_too_long);
    EXPECT_EQ(error.message, "field 'message' is 65537 bytes; the limit is 65536");
}

TEST(Decoder, MessageLimitCountsUnescapedBytes) {
    Limits limits;
    limits.max_message_bytes = 4;
    Decoder decoder(limits);
    // Eighteen bytes of JSON, four bytes of text: \n, the two bytes of é, and "x".
    auto chat = decode_as<ChatRequest>(decoder, chat_with_message(R"("\n\u00e9x")"));
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->message, "\n\xc3\xa9x");
    EXPECT_EQ(decode_error(decoder, chat_with_message(R"("\n\u00e9xy")")).code, errc::message_too_long);
    // A short escape-free message of five bytes is still too long.
    EXPECT_EQ(decode_error(decoder, chat_with_message(R"("abcde")")).code, errc::message_too_long);
    chat = decode_as<ChatRequest>(decoder, chat_with_message(R"("")"));
    ASSERT_TRUE(chat);
    EXPECT_TRUE(chat->message.empty());
}

// --- client ids -------------------------------------------------------------------------------

TEST(Decoder, ClientIdLengthBoundary) {
    Decoder decoder; // default limit: 64 bytes of raw token, quotes included
    const std::string at_limit = '"' + std::string(62, 'i') + '"';
    const auto ping = decode_as<PingRequest>(decoder, R"({"type":"ping","id":)" + at_limit + "}");
    ASSERT_TRUE(ping);
    EXPECT_EQ(ping->id_json, at_limit);

    const std::string over = '"' + std::string(63, 'i') + '"';
    auto error = decode_error(decoder, R"({"type":"ping","id":)" + over + "}");
    EXPECT_EQ(error.code, errc::bad_field);
    EXPECT_EQ(error.message, "field 'id' is 65 bytes; the limit is 64");
    EXPECT_TRUE(error.ref_json.empty()) << "an id too long to echo is not echoed";

    const std::string digits(64, '1');
    EXPECT_TRUE(decode_as<PingRequest>(decoder, R"({"type":"ping","id":)" + digits + "}"));
    error = decode_error(decoder, R"({"type":"chat","to_user_id":"b","message":"m","id":)" + digits + "1}");
    EXPECT_EQ(error.code, errc::bad_field);
}

TEST(Decoder, ClientIdLimitComesFromLimits) {
    Limits limits;
    limits.max_client_id_bytes = 3;
    Decoder decoder(limits);
    EXPECT_TRUE(decode_as<PingRequest>(decoder, R"({"type":"ping","id":"a"})"));
    EXPECT_TRUE(decode_as<PingRequest>(decoder, R"({"type":"ping","id":-12})"));
    EXPECT_EQ(decode_error(decoder, R"({"type":"ping","id":"ab"})").code, errc::bad_field);
    EXPECT_EQ(decode_error(decoder, R"({"type":"ping","id":1234})").code, errc::bad_field);
}

// --- ref_json ---------------------------------------------------------------------------------

TEST(Decoder, ErrorsCarryAValidId) {
    Decoder decoder;
    struct Case {
        std::string_view frame;
        errc code;
        std::string_view ref;
    };
    const Case cases[] = {
        {R"({"type":"chat","id":"c-7","message":"m"})", errc::missing_field, R"("c-7")"},
        {R"({"type":"chat","to_user_id":"","message":"m","id":8})", errc::bad_user_id, "8"},
        {R"({"id":"c-9","type":"chat","to_user_id":"b","message":false})", errc::bad_field, R"("c-9")"},
        {R"({"type":"nope","id":"n"})", errc::unknown_type, R"("n")"},
        {R"({"id":1,"type":2})", errc::bad_field, "1"},
        {R"({"type":"login","id":"l-1"})", errc::missing_field, R"("l-1")"},
        // The id was read before the syntax error, so the client can still match the reply.
        {R"({"type":"ping","id":"p-1","x":nul})", errc::bad_json, R"("p-1")"},
        {R"({"type":"ping","id":"p-3"}})", errc::bad_json, R"("p-3")"},
        {R"({"type":"ping","x":nul,"id":"p-4"})", errc::bad_json, ""},
        {R"({"type":"chat","to_user_id":"b","message":1,"id":1.5})", errc::bad_field, ""},
        {R"({"type":"history","id":"h-1"})", errc::missing_field, R"("h-1")"},
        {R"({"type":"history","peer":"","id":"h-2"})", errc::bad_user_id, R"("h-2")"},
        {R"({"type":"history","peer":"b","limit":0,"id":3})", errc::bad_field, "3"},
        {R"({"id":-4,"type":"history","peer":"b","before":"x"})", errc::bad_field, "-4"},
        {R"({"type":"history","peer":"b","limit":0,"id":[]})", errc::bad_field, ""},
        {R"({"type":"receipt","peer":"a","up_to":1,"id":"r-1"})", errc::missing_field, R"("r-1")"},
        {R"({"type":"receipt","status":"x","peer":"a","up_to":1,"id":"r-2"})", errc::bad_field, R"("r-2")"},
        {R"({"type":"receipt","status":"read","peer":7,"up_to":0,"id":"r-3"})", errc::bad_field, R"("r-3")"},
        {R"({"type":"receipt","status":"read","peer":"a","up_to":1,"id":{"a":1}})", errc::bad_field, ""},
    };
    for (const auto& c : cases) {
        const auto error = decode_error(decoder, c.frame);
        EXPECT_EQ(error.code, c.code) << c.frame << " -> " << describe(error);
        EXPECT_EQ(error.ref_json, c.ref) << c.frame;
    }
}

// --- history ----------------------------------------------------------------------------------

TEST(Decoder, HistoryWithOnlyAPeer) {
    Decoder decoder;
    const auto history = decode_as<HistoryRequest>(decoder, R"({"type":"history","peer":"bob"})");
    ASSERT_TRUE(history);
    EXPECT_EQ(history->peer, "bob");
    EXPECT_EQ(history->before, 0U) << "no bound";
    EXPECT_EQ(history->limit, 50U) << "the default page";
    EXPECT_TRUE(history->id_json.empty());
}

TEST(Decoder, HistoryWithEveryField) {
    Decoder decoder;
    auto history = decode_as<HistoryRequest>(
        decoder, R"({"type":"history","peer":"bob","before":4097,"limit":20,"id":"h-1"})");
    ASSERT_TRUE(history);
    EXPECT_EQ(history->peer, "bob");
    EXPECT_EQ(history->before, 4097U);
    EXPECT_EQ(history->limit, 20U);
    EXPECT_EQ(history->id_json, R"("h-1")");

    // Order does not matter, and the peer follows the user id rules: numbers are their digits.
    history = decode_as<HistoryRequest>(decoder, R"({"id":-9,"limit":3,"before":18446744073709551615,)"
                                                 R"("peer":1001,"type":"history"})");
    ASSERT_TRUE(history);
    EXPECT_EQ(history->peer, "1001");
    EXPECT_EQ(history->before, UINT64_MAX);
    EXPECT_EQ(history->limit, 3U);
    EXPECT_EQ(history->id_json, "-9");
}

TEST(Decoder, HistoryBeforeZeroIsNoBound) {
    Decoder decoder;
    const auto history = decode_as<HistoryRequest>(decoder, R"({"type":"history","peer":"b","before":0})");
    ASSERT_TRUE(history);
    EXPECT_EQ(history->before, 0U);
}

TEST(Decoder, HistoryLimitBoundaries) {
    Decoder decoder;
    for (const std::uint32_t limit : {1U, 2U, 50U, 99U, 100U}) {
        const auto history = decode_as<HistoryRequest>(decoder, R"({"type":"history","peer":"b","limit":)" +
                                                                    std::to_string(limit) + "}");
        ASSERT_TRUE(history) << limit;
        EXPECT_EQ(history->limit, limit);
    }
    for (const std::string_view limit : {"0", "101", "-1", "1000", "4294967297"}) {
        const auto error =
            decode_error(decoder, R"({"type":"history","peer":"b","limit":)" + std::string(limit) + "}");
        EXPECT_EQ(error.code, errc::bad_field) << limit;
        EXPECT_EQ(error.message, "field 'limit' must be an integer from 1 to 100") << limit;
    }
}

TEST(Decoder, HistoryPeerLengthBoundary) {
    Decoder decoder;
    const std::string at_limit(64, 'p');
    const auto history =
        decode_as<HistoryRequest>(decoder, R"({"type":"history","peer":")" + at_limit + R"("})");
    ASSERT_TRUE(history);
    EXPECT_EQ(history->peer, at_limit);
    const auto error = decode_error(decoder, R"({"type":"history","peer":")" + at_limit + R"(p"})");
    EXPECT_EQ(error.code, errc::bad_user_id);
    EXPECT_NE(error.message.find("field 'peer'"), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("65 bytes"), std::string::npos) << error.message;
}

TEST(Decoder, HistoryRepeatedFieldsKeepTheLastValue) {
    Decoder decoder;
    const auto history = decode_as<HistoryRequest>(
        decoder, R"({"type":"history","peer":"a","limit":0,"before":-1,"peer":"b","limit":7,"before":9})");
    ASSERT_TRUE(history);
    EXPECT_EQ(history->peer, "b");
    EXPECT_EQ(history->limit, 7U);
    EXPECT_EQ(history->before, 9U);
    EXPECT_EQ(decode_error(decoder, R"({"type":"history","peer":"b","limit":7,"limit":0})").code,
              errc::bad_field);
}

TEST(Decoder, HistoryIdFollowsTheClientIdRules) {
    Limits limits;
    limits.max_client_id_bytes = 3;
    Decoder decoder(limits);
    const auto history = decode_as<HistoryRequest>(decoder, R"({"type":"history","peer":"b","id":"h"})");
    ASSERT_TRUE(history);
    EXPECT_EQ(history->id_json, R"("h")");
    const auto error = decode_error(decoder, R"({"type":"history","peer":"b","id":"hh"})");
    EXPECT_EQ(error.code, errc::bad_field);
    EXPECT_EQ(error.message, "field 'id' is 4 bytes; the limit is 3");
}

// --- conversations ----------------------------------------------------------------------------

TEST(Decoder, Conversations) {
    Decoder decoder;
    auto conversations = decode_as<ConversationsRequest>(decoder, R"({"type":"conversations"})");
    ASSERT_TRUE(conversations);
    EXPECT_TRUE(conversations->id_json.empty());

    conversations = decode_as<ConversationsRequest>(decoder, R"({"type":"conversations","id":"v\"1"})");
    ASSERT_TRUE(conversations);
    EXPECT_EQ(conversations->id_json, R"("v\"1")");

    conversations = decode_as<ConversationsRequest>(decoder, R"({"id":12,"type":"conversations"})");
    ASSERT_TRUE(conversations);
    EXPECT_EQ(conversations->id_json, "12");
}

TEST(Decoder, ConversationsIdFollowsTheClientIdRules) {
    Decoder decoder;
    const std::string too_long = '"' + std::string(63, 'i') + '"';
    const auto error = decode_error(decoder, R"({"type":"conversations","id":)" + too_long + "}");
    EXPECT_EQ(error.code, errc::bad_field);
    EXPECT_EQ(error.message, "field 'id' is 65 bytes; the limit is 64");
    EXPECT_TRUE(error.ref_json.empty());
}

// --- receipt ----------------------------------------------------------------------------------

TEST(Decoder, ReceiptRead) {
    Decoder decoder;
    const auto receipt = decode_as<ReceiptRequest>(
        decoder, R"({"type":"receipt","status":"read","peer":"alice","up_to":4097,"id":"r-1"})");
    ASSERT_TRUE(receipt);
    EXPECT_EQ(receipt->status, receipt_status::read);
    EXPECT_EQ(receipt->peer, "alice");
    EXPECT_EQ(receipt->up_to, 4097U);
    EXPECT_EQ(receipt->id_json, R"("r-1")");
}

TEST(Decoder, ReceiptDelivered) {
    Decoder decoder;
    // `read` is the struct's default, so a delivered receipt proves the status was really read.
    const auto receipt =
        decode_as<ReceiptRequest>(decoder, R"({"up_to":9,"peer":77,"status":"delivered","type":"receipt"})");
    ASSERT_TRUE(receipt);
    EXPECT_EQ(receipt->status, receipt_status::delivered);
    EXPECT_EQ(receipt->peer, "77");
    EXPECT_EQ(receipt->up_to, 9U);
    EXPECT_TRUE(receipt->id_json.empty());
}

TEST(Decoder, ReceiptStatusIsUnescaped) {
    Decoder decoder;
    const auto receipt = decode_as<ReceiptRequest>(
        decoder, R"({"type":"receipt","status":"d\u0065livered","peer":"a","up\u005fto":2})");
    ASSERT_TRUE(receipt);
    EXPECT_EQ(receipt->status, receipt_status::delivered);
    EXPECT_EQ(receipt->up_to, 2U);
}

TEST(Decoder, ReceiptUpToBoundaries) {
    Decoder decoder;
    auto receipt =
        decode_as<ReceiptRequest>(decoder, R"({"type":"receipt","status":"read","peer":"a","up_to":1})");
    ASSERT_TRUE(receipt);
    EXPECT_EQ(receipt->up_to, 1U);
    receipt = decode_as<ReceiptRequest>(
        decoder, R"({"type":"receipt","status":"read","peer":"a","up_to":18446744073709551615})");
    ASSERT_TRUE(receipt);
    EXPECT_EQ(receipt->up_to, UINT64_MAX);

    auto error = decode_error(decoder, R"({"type":"receipt","status":"read","peer":"a","up_to":0})");
    EXPECT_EQ(error.code, errc::bad_field);
    EXPECT_NE(error.message.find("'up_to' must be a positive integer"), std::string::npos) << error.message;
    error = decode_error(decoder,
                         R"({"type":"receipt","status":"read","peer":"a","up_to":18446744073709551616})");
    EXPECT_EQ(error.code, errc::bad_field);
}

TEST(Decoder, ReceiptRepeatedStatusKeepsTheLastValue) {
    Decoder decoder;
    const auto receipt = decode_as<ReceiptRequest>(
        decoder, R"({"type":"receipt","status":"seen","status":"delivered","peer":"a","up_to":1})");
    ASSERT_TRUE(receipt);
    EXPECT_EQ(receipt->status, receipt_status::delivered);
    const auto error =
        decode_error(decoder, R"({"type":"receipt","status":"read","status":"seen","peer":"a","up_to":1})");
    EXPECT_EQ(error.code, errc::bad_field);
    EXPECT_EQ(error.message, R"(field 'status' must be "delivered" or "read")");
}

// --- views ------------------------------------------------------------------------------------

TEST(Decoder, ViewsOutliveTheInput) {
    Decoder decoder;
    std::optional<ChatRequest> chat;
    {
        // The input is gone (and its memory reused) before the views are read; under ASan a view
        // into it would be caught as a use after free.
        auto frame = std::make_unique<std::string>(
            R"({"type":"chat","to_user_id":"b\u00f8b","message":"\"hi\"\n","id":"c\"1"})");
        chat = decode_as<ChatRequest>(decoder, *frame);
        frame->assign(frame->size(), '#');
    }
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->to_user_id, "b\xc3\xb8"
                                "b");
    EXPECT_EQ(chat->message, "\"hi\"\n");
    EXPECT_EQ(chat->id_json, R"("c\"1")");

    std::optional<LoginRequest> login;
    {
        std::string frame = R"({"type":"login","user_id":4242})";
        login = decode_as<LoginRequest>(decoder, frame);
        frame.assign(frame.size(), '#');
    }
    ASSERT_TRUE(login);
    EXPECT_EQ(login->user_id, "4242");

    std::optional<HistoryRequest> history;
    {
        auto frame = std::make_unique<std::string>(R"({"type":"history","peer":"p\u00e9","id":"h\"1"})");
        history = decode_as<HistoryRequest>(decoder, *frame);
        frame->assign(frame->size(), '#');
    }
    ASSERT_TRUE(history);
    EXPECT_EQ(history->peer, "p\xc3\xa9");
    EXPECT_EQ(history->id_json, R"("h\"1")");

    std::optional<ReceiptRequest> receipt;
    {
        auto frame = std::make_unique<std::string>(
            R"({"type":"receipt","status":"delivered","peer":31337,"up_to":5,"id":"r-1"})");
        receipt = decode_as<ReceiptRequest>(decoder, *frame);
        frame->assign(frame->size(), '#');
    }
    ASSERT_TRUE(receipt);
    EXPECT_EQ(receipt->peer, "31337");
    EXPECT_EQ(receipt->id_json, R"("r-1")");
}

TEST(Decoder, ReuseDoesNotLeakTheLastFrame) {
    Decoder decoder;
    const std::string long_text(10000, 'L');
    auto chat = decode_as<ChatRequest>(decoder, chat_with_message('"' + long_text + '"'));
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->message, long_text);

    // Shorter frames after a longer one: stale bytes past the new end must not be read.
    auto ping = decode_as<PingRequest>(decoder, R"({"type":"ping","id":123456789})");
    ASSERT_TRUE(ping);
    EXPECT_EQ(ping->id_json, "123456789");
    ping = decode_as<PingRequest>(decoder, R"({"type":"ping","id":1})");
    ASSERT_TRUE(ping);
    EXPECT_EQ(ping->id_json, "1");
    EXPECT_EQ(decode_error(decoder, "12").code, errc::not_an_object);
    EXPECT_EQ(decode_error(decoder, "1").code, errc::not_an_object);
    EXPECT_TRUE(decode_as<PingRequest>(decoder, "{\"type\":\"ping\"}                "));
}

// The decoder copies each frame over what the last one left and does not clear the padding after
// it (simdjson reads past the end, and what it finds there must not matter). So every prefix of
// these frames (cut inside a string, a number, a key, after an escape) is decoded right after the
// whole frame, whose bytes then follow the cut, and must give what a fresh decoder gives, where
// zeros follow it.
TEST(Decoder, LeftoversOfALongerFrameChangeNothing) {
    const std::string frames[] = {
        R"({"type":"ping","id":1234567890123})",
        R"({"type":"chat","to_user_id":"bob","message":"he said \"hi\"","id":"c-7"})",
        R"({"type":"chat","to_user_id":12345,"message":"x","id":-1.5e300})",
        R"(123456789)",
        R"("a string at the root")",
        R"([1,2,{"type":"ping"}])",
    };
    Decoder reused;
    for (const std::string& frame : frames) {
        for (std::size_t cut = 0; cut <= frame.size(); ++cut) {
            const std::string_view prefix(frame.data(), cut);
            // Its own copy, so that nothing of `frame` follows the prefix in memory here.
            const std::string alone(prefix);
            Decoder fresh;
            const auto expected = fresh.decode(alone);
            (void)reused.decode(frame); // valid or not: it is there for the bytes it leaves
            const auto got = reused.decode(alone);
            ASSERT_EQ(got.has_value(), expected.has_value()) << prefix;
            if (!expected) {
                EXPECT_EQ(describe(got.error()), describe(expected.error())) << prefix;
                continue;
            }
            ASSERT_EQ(got->index(), expected->index()) << prefix;
            if (const auto* chat = std::get_if<ChatRequest>(&*expected)) {
                const auto& other = std::get<ChatRequest>(*got);
                EXPECT_EQ(other.to_user_id, chat->to_user_id) << prefix;
                EXPECT_EQ(other.message, chat->message) << prefix;
                EXPECT_EQ(other.id_json, chat->id_json) << prefix;
            } else if (const auto* ping = std::get_if<PingRequest>(&*expected)) {
                EXPECT_EQ(std::get<PingRequest>(*got).id_json, ping->id_json) << prefix;
            }
        }
    }
}

TEST(Decoder, SteadyStateDecodingDoesNotAllocate) {
    Decoder decoder;
    const std::string big = chat_with_message('"' + std::string(5000, 'x') + "\\n\"");
    const std::string frames[] = {
        R"({"type":"login","user_id":"alice","since":7})",
        R"({"type":"chat","to_user_id":"bob","message":"h\u00e9llo","id":"c-1","extra":[1,{"a":null}]})",
        R"({"type":"ping","id":5})",
        R"({"type":"history","peer":"bob","before":4097,"limit":100,"id":"h-1"})",
        R"({"type":"conversations","id":6})",
        R"({"type":"receipt","status":"delivered","peer":1001,"up_to":4097,"id":"r-1"})",
        big,
    };
    for (const auto& frame : frames) {
        ASSERT_TRUE(decoder.decode(frame).has_value()) << frame;
    }
    const auto before = test::allocation_count();
    for (int round = 0; round < 3; ++round) {
        for (const auto& frame : frames) {
            const auto result = decoder.decode(frame);
            EXPECT_TRUE(result.has_value());
        }
    }
    EXPECT_EQ(test::allocation_count() - before, 0U);
}

TEST(Decoder, ValueOfAnErrorThrows) {
    Decoder decoder;
    const auto result = decoder.decode("nope");
    ASSERT_FALSE(result.has_value());
    EXPECT_THROW((void)result.value(), std::invalid_argument);
    try {
        (void)result.value();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("bad_json"), std::string::npos) << e.what();
    }
}

// --- check_user_id ----------------------------------------------------------------------------

TEST(CheckUserId, Rules) {
    const Limits limits;
    EXPECT_TRUE(check_user_id("alice", limits).empty());
    EXPECT_TRUE(check_user_id("a", limits).empty());
    EXPECT_TRUE(check_user_id("zoë 世界", limits).empty()) << "non-ASCII and spaces are fine";
    EXPECT_TRUE(check_user_id(std::string(64, 'x'), limits).empty());
    EXPECT_FALSE(check_user_id(std::string(65, 'x'), limits).empty());
    EXPECT_FALSE(check_user_id("", limits).empty());
    EXPECT_FALSE(check_user_id(std::string_view("a\0b", 3), limits).empty());
    EXPECT_FALSE(check_user_id("a\x1f", limits).empty());
    EXPECT_FALSE(check_user_id("\x7f", limits).empty());
    EXPECT_TRUE(check_user_id("a\x20z~", limits).empty()) << "0x20 and 0x7e are printable";
}

} // namespace
} // namespace parley::protocol
