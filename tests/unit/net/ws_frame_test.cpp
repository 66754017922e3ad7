#include "net/ws_frame.hpp"

// The frame reader and writers, case by case in the order of the Autobahn|Testsuite categories:
// 1 framing and lengths, 2 control frames, 3 reserved bits, 4 opcodes, 5 fragmentation, 6 UTF-8,
// 7 close; then partial input, several frames per read, and writer round trips.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using parley::net::ws::append_frame;
using parley::net::ws::append_masked_frame;
using parley::net::ws::close_code;
using parley::net::ws::close_payload;
using parley::net::ws::event_kind;
using parley::net::ws::is_sendable_close_code;
using parley::net::ws::max_header_bytes;
using parley::net::ws::MessageReader;
using parley::net::ws::opcode;
using parley::net::ws::peer;
using parley::net::ws::ReaderLimits;
using parley::net::ws::Violation;
using parley::net::ws::write_header;

constexpr std::array<std::uint8_t, 4> test_key = {0x37, 0xFA, 0x21, 0x3D};

// Autobahn 6.4.1's message: valid, then a code point above U+10FFFF, then valid again.
constexpr std::string_view kosme = "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5";
constexpr std::string_view above_max = "\xF4\x90\x80\x80";
constexpr std::string_view edited = "edited";

// A client frame, masked as browsers send it.
std::string client(opcode op, std::string_view payload, bool fin = true) {
    std::string out;
    append_masked_frame(out, op, payload, test_key, fin);
    return out;
}

// A masked client frame whose first byte (FIN, RSV, opcode) is set by hand, for the frames the
// writers will not produce.
std::string client_with_first_byte(std::uint8_t b0, std::string_view payload) {
    std::string out = client(opcode::binary, payload);
    out[0] = static_cast<char>(b0);
    return out;
}

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int v : values) {
        out.push_back(static_cast<char>(v));
    }
    return out;
}

std::string key_bytes() {
    return std::string(test_key.begin(), test_key.end());
}

std::string patterned(std::size_t n) {
    std::string out(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = static_cast<char>((i * 31 + 7) & 0xFF);
    }
    return out;
}

struct Got {
    event_kind kind;
    std::string payload;
    std::uint16_t code;
};

struct Outcome {
    std::vector<Got> events;
    std::optional<Violation> violation;
    std::size_t left = 0; // bytes of input not consumed
};

// Calls next() until it needs more input or fails; copies each event out before the next call.
Outcome read_all(MessageReader& reader, std::string& wire) {
    Outcome run;
    std::span<char> input(wire);
    for (;;) {
        auto result = reader.next(input);
        if (!result) {
            run.violation = result.error();
            break;
        }
        if (result->kind == event_kind::need_more) {
            break;
        }
        run.events.push_back({result->kind, std::string(result->payload), result->close_code});
    }
    run.left = input.size();
    return run;
}

Outcome read_all(peer from, std::string wire, ReaderLimits limits = {}) {
    MessageReader reader(from, limits);
    return read_all(reader, wire);
}

Outcome read_client(std::string wire, ReaderLimits limits = {}) {
    return read_all(peer::client, std::move(wire), limits);
}

::testing::AssertionResult fails_with(const Outcome& run, close_code code) {
    if (!run.violation) {
        return ::testing::AssertionFailure() << "no violation; " << run.events.size() << " events";
    }
    if (run.violation->code != code) {
        return ::testing::AssertionFailure()
               << "violation " << static_cast<int>(run.violation->code) << " (" << run.violation->reason
               << "), wanted " << static_cast<int>(code);
    }
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult one_event(const Outcome& run, event_kind kind, std::string_view payload) {
    if (run.violation) {
        return ::testing::AssertionFailure() << "violation: " << run.violation->reason;
    }
    if (run.events.size() != 1) {
        return ::testing::AssertionFailure() << run.events.size() << " events";
    }
    if (run.events[0].kind != kind) {
        return ::testing::AssertionFailure() << "kind " << static_cast<int>(run.events[0].kind);
    }
    if (run.events[0].payload != payload) {
        return ::testing::AssertionFailure()
               << "payload of " << run.events[0].payload.size() << " bytes differs";
    }
    return ::testing::AssertionSuccess();
}

// ---- 1. Framing and lengths -------------------------------------------------------------------

TEST(WsFraming, TextAndBinaryAtEveryLengthEncodingBoundary) {
    struct Case {
        std::size_t length;
        std::size_t header_bytes; // 2 + extended length + 4 of mask
    };
    for (const Case c : {Case{0, 6}, Case{1, 6}, Case{125, 6}, Case{126, 8}, Case{127, 8}, Case{65535, 8},
                         Case{65536, 14}, Case{70000, 14}}) {
        SCOPED_TRACE(c.length);
        const std::string text(c.length, 'x');
        const std::string wire = client(opcode::text, text);
        EXPECT_EQ(wire.size(), c.header_bytes + c.length);
        EXPECT_TRUE(one_event(read_client(wire), event_kind::text, text));

        const std::string binary = patterned(c.length);
        EXPECT_TRUE(one_event(read_client(client(opcode::binary, binary)), event_kind::binary, binary));
    }
}

TEST(WsFraming, MessageExactlyAtTheLimitIsAccepted) {
    const ReaderLimits limits{.max_message_bytes = 1000};
    const std::string payload(1000, 'a');
    EXPECT_TRUE(one_event(read_client(client(opcode::text, payload), limits), event_kind::text, payload));
}

TEST(WsFraming, MessageOneByteOverTheLimitFailsWith1009) {
    const ReaderLimits limits{.max_message_bytes = 1000};
    EXPECT_TRUE(fails_with(read_client(client(opcode::text, std::string(1001, 'a')), limits),
                           close_code::message_too_big));
}

// The length alone condemns the frame: no payload byte has to arrive (or be buffered) first.
TEST(WsFraming, OverLimitLengthFailsOnTheHeaderAlone) {
    const ReaderLimits limits{.max_message_bytes = 1000};
    // 16-bit length 1001, mask key, no payload.
    EXPECT_TRUE(fails_with(read_client(bytes({0x82, 0x80 | 126, 0x03, 0xE9}) + key_bytes(), limits),
                           close_code::message_too_big));
    // 64-bit length 2^40 with the default limit.
    EXPECT_TRUE(fails_with(read_client(bytes({0x82, 0x80 | 127, 0, 0, 0x01, 0, 0, 0, 0, 0}) + key_bytes()),
                           close_code::message_too_big));
    // The largest legal 64-bit length.
    EXPECT_TRUE(fails_with(
        read_client(bytes({0x81, 0x80 | 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}) + key_bytes()),
        close_code::message_too_big));
}

TEST(WsFraming, FragmentsOverTheLimitTogetherFailWith1009) {
    const ReaderLimits limits{.max_message_bytes = 10};
    MessageReader reader(peer::client, limits);
    std::string first = client(opcode::text, "123456", false);
    Outcome run = read_all(reader, first);
    EXPECT_FALSE(run.violation);
    EXPECT_TRUE(reader.in_message());
    // Only the header of a 5-byte continuation: 6 + 5 > 10 is known already.
    std::string second_header = bytes({0x80, 0x80 | 5}) + key_bytes();
    EXPECT_TRUE(fails_with(read_all(reader, second_header), close_code::message_too_big));
}

TEST(WsFraming, FragmentsExactlyAtTheLimitAreAccepted) {
    const ReaderLimits limits{.max_message_bytes = 10};
    const std::string wire = client(opcode::text, "123456", false) + client(opcode::continuation, "7890");
    EXPECT_TRUE(one_event(read_client(wire, limits), event_kind::text, "1234567890"));
}

TEST(WsFraming, ControlFramesDoNotCountAgainstTheMessageLimit) {
    const ReaderLimits limits{.max_message_bytes = 10};
    const std::string ping(100, 'p');
    EXPECT_TRUE(one_event(read_client(client(opcode::ping, ping), limits), event_kind::ping, ping));
}

TEST(WsFraming, SixtyFourBitLengthWithTopBitSetFailsWith1002) {
    EXPECT_TRUE(fails_with(read_client(bytes({0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1}) + key_bytes()),
                           close_code::protocol_error));
}

TEST(WsFraming, NonMinimalLengthEncodingIsAccepted) {
    // 5 bytes announced with a 16-bit length: allowed here (RFC 6455 §5.2 minimal form not enforced).
    std::string wire = bytes({0x81, 0x80 | 126, 0x00, 0x05}) + key_bytes() + "hello";
    for (std::size_t i = 0; i < 5; ++i) {
        wire[8 + i] = static_cast<char>(static_cast<std::uint8_t>(wire[8 + i]) ^ test_key[i % 4]);
    }
    EXPECT_TRUE(one_event(read_client(wire), event_kind::text, "hello"));
}

// ---- Masking (RFC 6455 §5.1, §5.3) -----------------------------------------------------------

TEST(WsMasking, UnmaskedClientFrameFailsWith1002) {
    std::string wire;
    append_frame(wire, opcode::text, "hello");
    EXPECT_TRUE(fails_with(read_all(peer::client, wire), close_code::protocol_error));
}

TEST(WsMasking, UnmaskedClientFrameFailsBeforeItsPayloadArrives) {
    EXPECT_TRUE(fails_with(read_client(bytes({0x81, 0x05})), close_code::protocol_error));
}

TEST(WsMasking, MaskedServerFrameFailsWith1002) {
    EXPECT_TRUE(
        fails_with(read_all(peer::server, client(opcode::text, "hello")), close_code::protocol_error));
}

TEST(WsMasking, WriterMasksPayloadWithTheKey) {
    const std::string payload = "Hello, masking!";
    const std::string wire = client(opcode::text, payload);
    ASSERT_EQ(wire.size(), 6 + payload.size());
    EXPECT_EQ(static_cast<std::uint8_t>(wire[1]), 0x80 | payload.size());
    EXPECT_EQ(wire.substr(2, 4), key_bytes());
    for (std::size_t i = 0; i < payload.size(); ++i) {
        EXPECT_EQ(static_cast<std::uint8_t>(wire[6 + i]),
                  static_cast<std::uint8_t>(payload[i]) ^ test_key[i % 4])
            << i;
    }
}

// The unfragmented path neither copies nor allocates: the event points at the input, unmasked.
TEST(WsMasking, PayloadIsUnmaskedInPlaceAndPointsIntoTheInput) {
    const std::string payload = patterned(300); // 16-bit length: 8-byte header with the key
    std::string wire = client(opcode::binary, payload);
    MessageReader reader(peer::client);
    std::span<char> input(wire);
    auto result = reader.next(input);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->payload.data(), wire.data() + 8);
    EXPECT_EQ(result->payload, payload);
    EXPECT_EQ(wire.substr(8), payload);
    EXPECT_TRUE(input.empty());
}

// ---- 2. Control frames (RFC 6455 §5.5) ---------------------------------------------------------

TEST(WsControl, PingReturnsItsPayloadForThePong) {
    EXPECT_TRUE(one_event(read_client(client(opcode::ping, "")), event_kind::ping, ""));
    EXPECT_TRUE(
        one_event(read_client(client(opcode::ping, "Hello, world!")), event_kind::ping, "Hello, world!"));
    const std::string binary = bytes({0x00, 0xFF, 0xFE, 0xFD, 0xFC, 0xFB, 0x00, 0xFF});
    EXPECT_TRUE(one_event(read_client(client(opcode::ping, binary)), event_kind::ping, binary));
}

TEST(WsControl, PingWith125BytesIsAccepted) {
    const std::string payload(125, '\xFE');
    EXPECT_TRUE(one_event(read_client(client(opcode::ping, payload)), event_kind::ping, payload));
}

TEST(WsControl, PingWith126BytesFailsWith1002) {
    std::string wire = bytes({0x89, 0x80 | 126, 0x00, 126}) + key_bytes() + std::string(126, 'x');
    EXPECT_TRUE(fails_with(read_client(wire), close_code::protocol_error));
    // Known from the first two bytes: the rest need not arrive.
    EXPECT_TRUE(fails_with(read_client(bytes({0x89, 0x80 | 126})), close_code::protocol_error));
}

TEST(WsControl, UnsolicitedPongIsReported) {
    EXPECT_TRUE(one_event(read_client(client(opcode::pong, "unsolicited")), event_kind::pong, "unsolicited"));
}

TEST(WsControl, FragmentedControlFramesFailWith1002) {
    EXPECT_TRUE(fails_with(read_client(client_with_first_byte(0x09, "ping")), close_code::protocol_error));
    EXPECT_TRUE(fails_with(read_client(client_with_first_byte(0x0A, "pong")), close_code::protocol_error));
    EXPECT_TRUE(fails_with(read_client(client_with_first_byte(0x08, bytes({0x03, 0xE8}))),
                           close_code::protocol_error));
}

TEST(WsControl, TenPingsInOneReadAreReportedInOrder) {
    std::string wire;
    for (int i = 0; i < 10; ++i) {
        wire += client(opcode::ping, "ping " + std::to_string(i));
    }
    const Outcome run = read_client(wire);
    ASSERT_FALSE(run.violation);
    ASSERT_EQ(run.events.size(), 10u);
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(run.events[i].kind, event_kind::ping);
        EXPECT_EQ(run.events[i].payload, "ping " + std::to_string(i));
    }
    EXPECT_EQ(run.left, 0u);
}

// ---- 3. Reserved bits (RFC 6455 §5.2) ----------------------------------------------------------

TEST(WsReservedBits, AnyRsvBitFailsWith1002) {
    for (int rsv : {0x40, 0x20, 0x10, 0x60, 0x70}) {
        SCOPED_TRACE(rsv);
        EXPECT_TRUE(
            fails_with(read_client(client_with_first_byte(static_cast<std::uint8_t>(0x81 | rsv), "Hello")),
                       close_code::protocol_error));
        EXPECT_TRUE(
            fails_with(read_client(client_with_first_byte(static_cast<std::uint8_t>(0x89 | rsv), "ping")),
                       close_code::protocol_error));
    }
}

TEST(WsReservedBits, GoodFrameBeforeABadOneIsStillReported) {
    const Outcome run = read_client(client(opcode::text, "Hello") + client_with_first_byte(0xC1, "bad") +
                                    client(opcode::ping, ""));
    ASSERT_EQ(run.events.size(), 1u);
    EXPECT_EQ(run.events[0].payload, "Hello");
    EXPECT_TRUE(fails_with(run, close_code::protocol_error));
}

// ---- 4. Opcodes (RFC 6455 §5.2) ----------------------------------------------------------------

TEST(WsOpcodes, ReservedOpcodesFailWith1002) {
    for (int op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        SCOPED_TRACE(op);
        const auto b0 = static_cast<std::uint8_t>(0x80 | op);
        EXPECT_TRUE(fails_with(read_client(client_with_first_byte(b0, "")), close_code::protocol_error));
        const Outcome after_good = read_client(client(opcode::text, "ok") + client_with_first_byte(b0, "x"));
        EXPECT_EQ(after_good.events.size(), 1u);
        EXPECT_TRUE(fails_with(after_good, close_code::protocol_error));
    }
}

// ---- 5. Fragmentation (RFC 6455 §5.4) ----------------------------------------------------------

TEST(WsFragmentation, TextInTwoFragments) {
    MessageReader reader(peer::client);
    std::string first = client(opcode::text, "fragment1", false);
    const Outcome a = read_all(reader, first);
    EXPECT_TRUE(a.events.empty());
    EXPECT_FALSE(a.violation);
    EXPECT_EQ(a.left, 0u) << "a complete fragment is consumed";
    EXPECT_TRUE(reader.in_message());

    std::string second = client(opcode::continuation, "fragment2");
    EXPECT_TRUE(one_event(read_all(reader, second), event_kind::text, "fragment1fragment2"));
    EXPECT_FALSE(reader.in_message());
}

TEST(WsFragmentation, BinaryInThreeFragments) {
    const std::string wire = client(opcode::binary, bytes({0, 1}), false) +
                             client(opcode::continuation, bytes({2, 3}), false) +
                             client(opcode::continuation, bytes({4}));
    EXPECT_TRUE(one_event(read_client(wire), event_kind::binary, bytes({0, 1, 2, 3, 4})));
}

TEST(WsFragmentation, PingBetweenFragmentsIsReturnedAtOnce) {
    std::string wire = client(opcode::text, "frag1", false) + client(opcode::ping, "are you there") +
                       client(opcode::continuation, "frag2");
    MessageReader reader(peer::client);
    std::span<char> input(wire);

    auto ping = reader.next(input);
    ASSERT_TRUE(ping);
    EXPECT_EQ(ping->kind, event_kind::ping);
    EXPECT_EQ(ping->payload, "are you there");
    EXPECT_TRUE(reader.in_message());

    auto text = reader.next(input);
    ASSERT_TRUE(text);
    EXPECT_EQ(text->kind, event_kind::text);
    EXPECT_EQ(text->payload, "frag1frag2");
    EXPECT_TRUE(input.empty());
}

TEST(WsFragmentation, PongAndCloseBetweenFragmentsAreReturned) {
    const Outcome run = read_client(client(opcode::text, "a", false) + client(opcode::pong, "p") +
                                    client(opcode::continuation, "b", false) +
                                    client(opcode::close, close_payload(close_code::normal, "")));
    ASSERT_FALSE(run.violation);
    ASSERT_EQ(run.events.size(), 2u);
    EXPECT_EQ(run.events[0].kind, event_kind::pong);
    EXPECT_EQ(run.events[1].kind, event_kind::close);
    EXPECT_EQ(run.events[1].code, 1000);
}

TEST(WsFragmentation, ManyOneByteFragments) {
    std::string wire = client(opcode::text, "0", false);
    std::string expected = "0";
    for (int i = 1; i < 1000; ++i) {
        const std::string piece(1, static_cast<char>('0' + i % 10));
        wire += client(opcode::continuation, piece, i == 999);
        expected += piece;
    }
    EXPECT_TRUE(one_event(read_client(wire), event_kind::text, expected));
}

TEST(WsFragmentation, EmptyFragments) {
    EXPECT_TRUE(
        one_event(read_client(client(opcode::text, "", false) + client(opcode::continuation, "", false) +
                              client(opcode::continuation, "")),
                  event_kind::text, ""));
    EXPECT_TRUE(
        one_event(read_client(client(opcode::text, "", false) + client(opcode::continuation, "mid", false) +
                              client(opcode::continuation, "")),
                  event_kind::text, "mid"));
}

TEST(WsFragmentation, ContinuationWithoutAMessageFailsWith1002) {
    EXPECT_TRUE(fails_with(read_client(client(opcode::continuation, "x")), close_code::protocol_error));
    EXPECT_TRUE(
        fails_with(read_client(client(opcode::continuation, "x", false)), close_code::protocol_error));
    // After a complete message, too.
    EXPECT_TRUE(fails_with(read_client(client(opcode::text, "done") + client(opcode::continuation, "x")),
                           close_code::protocol_error));
}

TEST(WsFragmentation, NewDataFrameInsideAMessageFailsWith1002) {
    EXPECT_TRUE(fails_with(read_client(client(opcode::text, "a", false) + client(opcode::text, "b")),
                           close_code::protocol_error));
    EXPECT_TRUE(fails_with(read_client(client(opcode::text, "a", false) + client(opcode::binary, "b")),
                           close_code::protocol_error));
}

TEST(WsFragmentation, ReaderIsReusableAfterAFragmentedMessage) {
    const Outcome run = read_client(client(opcode::text, "one ", false) +
                                    client(opcode::continuation, "two") + client(opcode::binary, "three") +
                                    client(opcode::text, "fo", false) + client(opcode::continuation, "ur"));
    ASSERT_FALSE(run.violation);
    ASSERT_EQ(run.events.size(), 3u);
    EXPECT_EQ(run.events[0].payload, "one two");
    EXPECT_EQ(run.events[1].kind, event_kind::binary);
    EXPECT_EQ(run.events[1].payload, "three");
    EXPECT_EQ(run.events[2].payload, "four");
}

// ---- 6. UTF-8 of text (RFC 6455 §8.1) ----------------------------------------------------------

TEST(WsUtf8, ValidMultiByteTextIsAccepted) {
    const std::string text = std::string(kosme) + " \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
    EXPECT_TRUE(one_event(read_client(client(opcode::text, text)), event_kind::text, text));
}

TEST(WsUtf8, InvalidTextFailsWith1007) {
    for (std::string_view bad : {"\xC0\xAF", "\xE0\x80\xAF", "\xF0\x80\x80\xAF", // overlong
                                 "\xED\xA0\x80", "\xED\xBF\xBF",                 // surrogates
                                 "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",         // above U+10FFFF
                                 "\xCE", "\xE2\x82", "\xF0\x9F\x98",             // truncated
                                 "\x80", "\xFF"}) {
        SCOPED_TRACE(::testing::PrintToString(std::string(bad)));
        EXPECT_TRUE(fails_with(read_client(client(opcode::text, "ok " + std::string(bad))),
                               close_code::invalid_payload));
    }
}

// The reader learns while unmasking whether a payload is ASCII and then skips the UTF-8 check:
// a non-ASCII byte at any place of any length (each unmasking step: 16, 8, 4 and single bytes)
// must still be unmasked right and checked.
TEST(WsUtf8, ANonAsciiByteAnywhereInAFrameOfAnyLengthIsChecked) {
    for (std::size_t n = 1; n <= 40; ++n) {
        const std::string ascii = patterned(n).replace(0, n, n, 'a');
        EXPECT_TRUE(one_event(read_client(client(opcode::text, ascii)), event_kind::text, ascii)) << n;
        for (std::size_t at = 0; at < n; ++at) {
            std::string invalid = ascii;
            invalid[at] = '\xFF';
            EXPECT_TRUE(fails_with(read_client(client(opcode::text, invalid)), close_code::invalid_payload))
                << n << " " << at;
            if (at + 1 < n) {
                std::string valid = ascii;
                valid.replace(at, 2, "\xC3\xA9"); // é
                EXPECT_TRUE(one_event(read_client(client(opcode::text, valid)), event_kind::text, valid))
                    << n << " " << at;
            }
        }
    }
}

// An ASCII fragment is no proof on its own: after a fragment that ended inside a code point it
// is invalid, and fails at once, not only when the message ends.
TEST(WsUtf8, AnAsciiFragmentAfterAnUnfinishedCodePointFails) {
    MessageReader reader(peer::client);
    std::string part1 = client(opcode::text, "caf\xC3", false);
    EXPECT_FALSE(read_all(reader, part1).violation);
    std::string part2 = client(opcode::continuation, "e and more plain text to pass sixteen bytes", false);
    EXPECT_TRUE(fails_with(read_all(reader, part2), close_code::invalid_payload));
}

TEST(WsUtf8, BinaryIsNotValidated) {
    const std::string payload = bytes({0xFF, 0xED, 0xA0, 0x80, 0xC0});
    EXPECT_TRUE(one_event(read_client(client(opcode::binary, payload)), event_kind::binary, payload));
}

TEST(WsUtf8, CodePointSplitAcrossFragmentsIsAccepted) {
    const std::string wire = client(opcode::text, "smile \xF0\x9F", false) +
                             client(opcode::continuation, "\x98", false) +
                             client(opcode::continuation, "\x80!");
    EXPECT_TRUE(one_event(read_client(wire), event_kind::text, "smile \xF0\x9F\x98\x80!"));
}

// Autobahn 6.4.1: the fragment that makes the text impossible fails the connection; the reader
// does not wait for the final fragment.
TEST(WsUtf8, InvalidFragmentFailsBeforeTheMessageEnds) {
    MessageReader reader(peer::client);
    std::string part1 = client(opcode::text, kosme, false);
    const Outcome a = read_all(reader, part1);
    EXPECT_FALSE(a.violation);
    EXPECT_TRUE(a.events.empty());

    std::string part2 = client(opcode::continuation, above_max, false);
    EXPECT_TRUE(fails_with(read_all(reader, part2), close_code::invalid_payload));
}

// The impossible sequence itself straddles fragments: F4 | 90 80 80.
TEST(WsUtf8, InvalidSequenceSplitAcrossFragmentsFailsAtTheFirstBadByte) {
    MessageReader reader(peer::client);
    std::string part1 = client(opcode::text, std::string(kosme) + "\xF4", false);
    EXPECT_FALSE(read_all(reader, part1).violation);
    std::string part2 = client(opcode::continuation, "\x90", false);
    EXPECT_TRUE(fails_with(read_all(reader, part2), close_code::invalid_payload));
}

TEST(WsUtf8, MessageEndingInsideACodePointFailsAtTheFinalFragment) {
    MessageReader reader(peer::client);
    std::string part1 = client(opcode::text, "\xCE", false);
    EXPECT_FALSE(read_all(reader, part1).violation);
    std::string part2 = client(opcode::continuation, "");
    EXPECT_TRUE(fails_with(read_all(reader, part2), close_code::invalid_payload));
}

// Autobahn 6.4.3: one frame arriving in chops; the bad chop fails it before the frame is whole.
TEST(WsUtf8, InvalidChopOfOneFrameFailsBeforeTheFrameEnds) {
    for (const peer from : {peer::client, peer::server}) {
        SCOPED_TRACE(from == peer::client ? "masked" : "unmasked");
        const std::string payload = std::string(kosme) + std::string(above_max) + std::string(edited);
        std::string frame;
        if (from == peer::client) {
            append_masked_frame(frame, opcode::text, payload, test_key);
        } else {
            append_frame(frame, opcode::text, payload);
        }
        const std::size_t header = frame.size() - payload.size();
        MessageReader reader(from);

        std::string chop1 = frame.substr(0, header + kosme.size());
        const std::string before = chop1;
        std::span<char> input(chop1);
        auto first = reader.next(input);
        ASSERT_TRUE(first);
        EXPECT_EQ(first->kind, event_kind::need_more);
        EXPECT_EQ(input.size(), chop1.size()) << "nothing consumed";
        EXPECT_EQ(chop1, before) << "the partial frame's bytes are untouched";

        std::string chop2 = frame.substr(0, header + kosme.size() + above_max.size());
        std::span<char> more(chop2);
        auto second = reader.next(more);
        ASSERT_FALSE(second);
        EXPECT_EQ(second.error().code, close_code::invalid_payload);
    }
}

// ---- 7. Close (RFC 6455 §5.5.1, §7.4) -----------------------------------------------------------

TEST(WsClose, EmptyBodyReportsNoStatus) {
    const Outcome run = read_client(client(opcode::close, ""));
    ASSERT_TRUE(one_event(run, event_kind::close, ""));
    EXPECT_EQ(run.events[0].code, 1005);
}

TEST(WsClose, CodeAndReasonAreReported) {
    const Outcome run = read_client(client(opcode::close, bytes({0x03, 0xE8}) + "bye \xE2\x82\xAC"));
    ASSERT_TRUE(one_event(run, event_kind::close, "bye \xE2\x82\xAC"));
    EXPECT_EQ(run.events[0].code, 1000);
}

TEST(WsClose, OneByteBodyFailsWith1002) {
    EXPECT_TRUE(fails_with(read_client(client(opcode::close, bytes({0x03}))), close_code::protocol_error));
    // The byte after the body must not be taken for the code's second byte (0x03E8 = 1000).
    EXPECT_TRUE(fails_with(read_client(client(opcode::close, bytes({0x03})) + bytes({0xE8})),
                           close_code::protocol_error));
}

TEST(WsClose, ValidCodesAreAccepted) {
    // Autobahn 7.7.x, plus the IANA-registered 1012-1014.
    for (int code :
         {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}) {
        SCOPED_TRACE(code);
        EXPECT_TRUE(is_sendable_close_code(static_cast<std::uint16_t>(code)));
        const Outcome run = read_client(client(opcode::close, bytes({code >> 8, code & 0xFF})));
        ASSERT_TRUE(one_event(run, event_kind::close, ""));
        EXPECT_EQ(run.events[0].code, code);
    }
}

TEST(WsClose, InvalidCodesFailWith1002) {
    // Autobahn 7.9.x, plus the edges of each forbidden range.
    for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
        SCOPED_TRACE(code);
        EXPECT_FALSE(is_sendable_close_code(static_cast<std::uint16_t>(code)));
        EXPECT_TRUE(fails_with(read_client(client(opcode::close, bytes({code >> 8, code & 0xFF}))),
                               close_code::protocol_error));
    }
}

TEST(WsClose, NonUtf8ReasonFailsWith1007) {
    // Autobahn 7.5.1: code 1000, then "κόσμε" with a surrogate inside.
    const std::string body = bytes({0x03, 0xE8}) + "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80"
                                                   "edited";
    EXPECT_TRUE(fails_with(read_client(client(opcode::close, body)), close_code::invalid_payload));
}

TEST(WsClose, BodyOf125BytesIsAcceptedAnd126Fails) {
    const std::string reason(123, '*');
    const Outcome ok = read_client(client(opcode::close, bytes({0x03, 0xE8}) + reason));
    EXPECT_TRUE(one_event(ok, event_kind::close, reason));

    // Autobahn 7.3.6: 126 bytes, which needs the 16-bit length form the writer refuses for control frames.
    std::string wire =
        bytes({0x88, 0x80 | 126, 0x00, 126}) + key_bytes() + bytes({0x03, 0xE8}) + std::string(124, '*');
    EXPECT_TRUE(fails_with(read_client(wire), close_code::protocol_error));
}

TEST(WsClose, ClosePayloadStartsWithTheCodeInNetworkOrder) {
    const std::string body = close_payload(close_code::going_away, "shutting down");
    EXPECT_EQ(body, bytes({0x03, 0xE9}) + "shutting down");
    EXPECT_EQ(close_payload(close_code::message_too_big, ""), bytes({0x03, 0xF1}));
}

TEST(WsClose, ClosePayloadCutsLongReasonsTo125Bytes) {
    const std::string body = close_payload(close_code::policy_violation, std::string(300, 'r'));
    EXPECT_EQ(body.size(), 125u);
    EXPECT_EQ(body.substr(2), std::string(123, 'r'));
}

TEST(WsClose, ClosePayloadCutsOnAUtf8Boundary) {
    // "a" then 41 euro signs (3 bytes each): 124 bytes; byte 123 is inside the last sign.
    std::string reason = "a";
    for (int i = 0; i < 41; ++i) {
        reason += "\xE2\x82\xAC";
    }
    const std::string body = close_payload(close_code::normal, reason);
    EXPECT_EQ(body.size(), 2u + 1 + 40 * 3);
    EXPECT_TRUE(parley::net::is_valid_utf8(std::string_view(body).substr(2)));

    // 62 two-byte letters: 124 bytes; 123 falls mid-letter, so 122 remain.
    std::string greek;
    for (int i = 0; i < 62; ++i) {
        greek += "\xCE\xBA";
    }
    const std::string cut = close_payload(close_code::normal, greek);
    EXPECT_EQ(cut.size(), 2u + 122);
    EXPECT_TRUE(parley::net::is_valid_utf8(std::string_view(cut).substr(2)));

    // A reason that already fits is left whole.
    EXPECT_EQ(close_payload(close_code::normal, greek.substr(0, 122)).size(), 124u);
}

TEST(WsClose, ClosePayloadRoundTripsThroughTheReader) {
    const Outcome run =
        read_client(client(opcode::close, close_payload(close_code::try_again_later, "busy")));
    ASSERT_TRUE(one_event(run, event_kind::close, "busy"));
    EXPECT_EQ(run.events[0].code, 1013);
}

// ---- Partial input ------------------------------------------------------------------------------

// Presents the first k bytes of `wire` for every k: need_more, with the span and the bytes
// untouched, until the last byte arrives.
void expect_need_more_until_complete(peer from, const std::string& wire, event_kind kind,
                                     std::string_view payload, std::size_t step = 1) {
    MessageReader reader(from);
    for (std::size_t k = 0; k < wire.size(); k += step) {
        std::string prefix = wire.substr(0, k);
        std::span<char> input(prefix);
        auto result = reader.next(input);
        ASSERT_TRUE(result) << "at " << k << ": " << result.error().reason;
        ASSERT_EQ(result->kind, event_kind::need_more) << "at " << k;
        ASSERT_EQ(input.data(), prefix.data()) << "consumed early at " << k;
        ASSERT_EQ(input.size(), k) << "consumed early at " << k;
        ASSERT_EQ(prefix, wire.substr(0, k)) << "bytes changed at " << k;
    }
    std::string whole = wire;
    std::span<char> input(whole);
    auto result = reader.next(input);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->kind, kind);
    EXPECT_EQ(result->payload, payload);
    EXPECT_TRUE(input.empty());
}

TEST(WsPartialInput, SmallTextFrameByteByByte) {
    const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
    expect_need_more_until_complete(peer::client, client(opcode::text, text), event_kind::text, text);
    std::string server_frame;
    append_frame(server_frame, opcode::text, text);
    expect_need_more_until_complete(peer::server, server_frame, event_kind::text, text);
}

TEST(WsPartialInput, SixteenBitLengthFrameByteByByte) {
    std::string text;
    while (text.size() < 300) {
        text += "\xCE\xBA\xE1\xBD\xB9 ";
    }
    expect_need_more_until_complete(peer::client, client(opcode::text, text), event_kind::text, text);
}

TEST(WsPartialInput, SixtyFourBitLengthFrameInChunks) {
    const std::string payload = patterned(70000);
    expect_need_more_until_complete(peer::client, client(opcode::binary, payload), event_kind::binary,
                                    payload, 997);
}

TEST(WsPartialInput, EveryPrefixOfALongHeaderNeedsMore) {
    const std::string wire = client(opcode::binary, patterned(70000));
    MessageReader reader(peer::client);
    for (std::size_t k = 0; k <= 14; ++k) {
        std::string prefix = wire.substr(0, k);
        std::span<char> input(prefix);
        auto result = reader.next(input);
        ASSERT_TRUE(result) << k;
        EXPECT_EQ(result->kind, event_kind::need_more) << k;
        EXPECT_EQ(input.size(), k);
    }
}

// A continuation frame of a text message arriving byte by byte: its UTF-8 is checked as it
// arrives, continuing from where the earlier fragment left the decoder, and no byte twice.
TEST(WsPartialInput, TextContinuationByteByByte) {
    MessageReader reader(peer::client);
    std::string first = client(opcode::text, "\xE2\x82", false); // a euro sign begun
    ASSERT_FALSE(read_all(reader, first).violation);

    const std::string rest = "\xAC and \xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5";
    const std::string wire = client(opcode::continuation, rest);
    for (std::size_t k = 0; k < wire.size(); ++k) {
        std::string prefix = wire.substr(0, k);
        std::span<char> input(prefix);
        auto result = reader.next(input);
        ASSERT_TRUE(result) << "at " << k << ": " << result.error().reason;
        ASSERT_EQ(result->kind, event_kind::need_more) << k;
        ASSERT_EQ(input.size(), k);
    }
    std::string whole = wire;
    std::span<char> input(whole);
    auto result = reader.next(input);
    ASSERT_TRUE(result) << result.error().reason;
    EXPECT_EQ(result->kind, event_kind::text);
    EXPECT_EQ(result->payload, "\xE2\x82" + rest);
}

TEST(WsPartialInput, ControlFramesByteByByte) {
    expect_need_more_until_complete(peer::client, client(opcode::ping, "ping!"), event_kind::ping, "ping!");
    expect_need_more_until_complete(peer::client,
                                    client(opcode::close, close_payload(close_code::normal, "bye")),
                                    event_kind::close, "bye");
}

// The way a session reads: chunks of 7 bytes appended to a buffer, consumed bytes erased from
// its front after each call.
TEST(WsPartialInput, StreamInOddChunksYieldsEveryMessage) {
    const std::string wire = client(opcode::text, "hello") + client(opcode::text, std::string(kosme), false) +
                             client(opcode::ping, "p") + client(opcode::continuation, " world") +
                             client(opcode::binary, patterned(300)) +
                             client(opcode::close, close_payload(close_code::normal, "done"));
    MessageReader reader(peer::client);
    std::string buffer;
    std::vector<Got> got;
    for (std::size_t at = 0; at < wire.size(); at += 7) {
        buffer += wire.substr(at, 7);
        std::span<char> input(buffer);
        for (;;) {
            auto result = reader.next(input);
            ASSERT_TRUE(result) << result.error().reason;
            if (result->kind == event_kind::need_more) {
                break;
            }
            got.push_back({result->kind, std::string(result->payload), result->close_code});
        }
        buffer.erase(0, buffer.size() - input.size());
    }
    EXPECT_TRUE(buffer.empty());
    ASSERT_EQ(got.size(), 5u);
    EXPECT_EQ(got[0].payload, "hello");
    EXPECT_EQ(got[1].kind, event_kind::ping);
    EXPECT_EQ(got[2].kind, event_kind::text);
    EXPECT_EQ(got[2].payload, std::string(kosme) + " world");
    EXPECT_EQ(got[3].payload, patterned(300));
    EXPECT_EQ(got[4].kind, event_kind::close);
    EXPECT_EQ(got[4].code, 1000);
}

TEST(WsPartialInput, EmptyInputNeedsMore) {
    MessageReader reader(peer::client);
    std::span<char> input;
    auto result = reader.next(input);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->kind, event_kind::need_more);
}

// ---- Several frames in one input ----------------------------------------------------------------

TEST(WsSeveralFrames, AllFramesOfOneReadAreReportedInOrder) {
    const Outcome run = read_client(client(opcode::text, "one") + client(opcode::binary, "two") +
                                    client(opcode::ping, "three") + client(opcode::close, ""));
    ASSERT_FALSE(run.violation);
    ASSERT_EQ(run.events.size(), 4u);
    EXPECT_EQ(run.events[0].kind, event_kind::text);
    EXPECT_EQ(run.events[0].payload, "one");
    EXPECT_EQ(run.events[1].kind, event_kind::binary);
    EXPECT_EQ(run.events[1].payload, "two");
    EXPECT_EQ(run.events[2].kind, event_kind::ping);
    EXPECT_EQ(run.events[2].payload, "three");
    EXPECT_EQ(run.events[3].kind, event_kind::close);
    EXPECT_EQ(run.left, 0u);
}

TEST(WsSeveralFrames, TrailingPartialFrameIsLeftInTheInput) {
    const std::string next = client(opcode::text, "the next one");
    const Outcome run = read_client(client(opcode::text, "first") + next.substr(0, 9));
    ASSERT_TRUE(one_event(run, event_kind::text, "first"));
    EXPECT_EQ(run.left, 9u);
}

// ---- Writers -----------------------------------------------------------------------------------

TEST(WsWriter, WriteHeaderUsesTwoFourOrTenBytes) {
    std::array<std::uint8_t, max_header_bytes> h{};
    auto header = [&h](std::size_t n) { return std::vector<std::uint8_t>(h.begin(), h.begin() + n); };

    EXPECT_EQ(write_header(h, opcode::text, 0), 2u);
    EXPECT_EQ(header(2), (std::vector<std::uint8_t>{0x81, 0x00}));
    EXPECT_EQ(write_header(h, opcode::text, 125), 2u);
    EXPECT_EQ(header(2), (std::vector<std::uint8_t>{0x81, 125}));
    EXPECT_EQ(write_header(h, opcode::binary, 126), 4u);
    EXPECT_EQ(header(4), (std::vector<std::uint8_t>{0x82, 126, 0x00, 126}));
    EXPECT_EQ(write_header(h, opcode::binary, 65535), 4u);
    EXPECT_EQ(header(4), (std::vector<std::uint8_t>{0x82, 126, 0xFF, 0xFF}));
    EXPECT_EQ(write_header(h, opcode::text, 65536), 10u);
    EXPECT_EQ(header(10), (std::vector<std::uint8_t>{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}));
    EXPECT_EQ(write_header(h, opcode::text, 0x0102030405ULL), 10u);
    EXPECT_EQ(header(10), (std::vector<std::uint8_t>{0x81, 127, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05}));
}

TEST(WsWriter, WriteHeaderSetsFinAndOpcode) {
    std::array<std::uint8_t, max_header_bytes> h{};
    write_header(h, opcode::text, 3, false);
    EXPECT_EQ(h[0], 0x01);
    write_header(h, opcode::continuation, 3, true);
    EXPECT_EQ(h[0], 0x80);
    write_header(h, opcode::ping, 3);
    EXPECT_EQ(h[0], 0x89);
    write_header(h, opcode::pong, 3);
    EXPECT_EQ(h[0], 0x8A);
    write_header(h, opcode::close, 2);
    EXPECT_EQ(h[0], 0x88);
}

TEST(WsWriter, MaskedFramesRoundTripThroughAServerReader) {
    for (std::size_t n : {0, 1, 7, 8, 9, 125, 126, 65535, 65536}) {
        SCOPED_TRACE(n);
        const std::string payload = patterned(n);
        EXPECT_TRUE(
            one_event(read_all(peer::client, client(opcode::binary, payload)), event_kind::binary, payload));
        const std::string text(n, 'T');
        EXPECT_TRUE(one_event(read_all(peer::client, client(opcode::text, text)), event_kind::text, text));
    }
}

TEST(WsWriter, UnmaskedFramesRoundTripThroughAClientReader) {
    for (std::size_t n : {0, 1, 125, 126, 65535, 65536}) {
        SCOPED_TRACE(n);
        const std::string payload = patterned(n);
        std::string wire;
        append_frame(wire, opcode::binary, payload);
        EXPECT_EQ(wire.size() - n, n < 126 ? 2u : n < 65536 ? 4u : 10u);
        EXPECT_TRUE(one_event(read_all(peer::server, wire), event_kind::binary, payload));
    }
    std::string ping;
    append_frame(ping, opcode::ping, "keepalive");
    EXPECT_TRUE(one_event(read_all(peer::server, ping), event_kind::ping, "keepalive"));
}

TEST(WsWriter, FragmentedWritesRoundTrip) {
    std::string wire;
    append_frame(wire, opcode::text, "Hel", false);
    append_frame(wire, opcode::continuation, "lo, ", false);
    append_frame(wire, opcode::ping, "");
    append_frame(wire, opcode::continuation, "world");
    const Outcome run = read_all(peer::server, wire);
    ASSERT_FALSE(run.violation);
    ASSERT_EQ(run.events.size(), 2u);
    EXPECT_EQ(run.events[0].kind, event_kind::ping);
    EXPECT_EQ(run.events[1].payload, "Hello, world");
}

TEST(WsWriter, AppendKeepsWhatTheBufferHeld) {
    std::string out = "prefix";
    append_frame(out, opcode::text, "x");
    EXPECT_EQ(out, "prefix" + bytes({0x81, 0x01}) + "x");
    append_masked_frame(out, opcode::text, "", test_key);
    EXPECT_EQ(out.size(), 6u + 3 + 6);
}

} // namespace
