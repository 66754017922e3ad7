// RFC 6455 framing, as pure code: parse frames from a byte span, append frames to a buffer.
// Owns: opcodes, close codes, the message reader (defragmentation, masking rules, control-frame
// rules, UTF-8 of text) and the frame writers. Must not do I/O, allocate per frame on the
// unfragmented path, or know about JSON.
#pragma once

#include "net/held_bytes.hpp"
#include "net/utf8.hpp"

#include <boost/system/result.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace parley::net::ws {

// RFC 6455 §5.2
enum class opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

// RFC 6455 §7.4.1
enum class close_code : std::uint16_t {
    normal = 1000,
    going_away = 1001,
    protocol_error = 1002,
    unsupported_data = 1003,
    no_status = 1005, // never sent: "the close frame had no body"
    abnormal = 1006,  // never sent: "the connection dropped without a close frame"
    invalid_payload = 1007,
    policy_violation = 1008,
    message_too_big = 1009,
    mandatory_extension = 1010,
    internal_error = 1011,
    try_again_later = 1013,
};

// True for codes a peer may put on the wire (RFC 6455 §7.4.1, §7.4.2; IANA registry):
// 1000-1003, 1007-1011, 1012-1014, 3000-4999.
bool is_sendable_close_code(std::uint16_t code);

// Why a connection must be failed (RFC 6455 §7.1.7): the close code to send and a short reason.
struct Violation {
    close_code code;
    std::string_view reason; // static text, fits a close frame (< 123 bytes)
};

// Boost.System's result<T, E>::value() throws through this on error; we never call value() on an
// error, but the template needs it to exist.
[[noreturn]] void throw_exception_from_error(const Violation& v, const boost::source_location& loc);

// Which side's frames the reader parses: a server reads masked client frames (RFC 6455 §5.1),
// a client (tests, parley-bench) reads unmasked server frames.
enum class peer : std::uint8_t { client, server };

struct ReaderLimits {
    // A whole message (all fragments) larger than this fails the connection with 1009.
    std::size_t max_message_bytes = 256 * 1024;
};

enum class event_kind {
    need_more, // input ends inside a frame: keep the unconsumed bytes, call again with more
    text,      // a complete, UTF-8-valid text message
    binary,    // a complete binary message
    ping,      // the caller answers with a pong carrying the same payload (RFC 6455 §5.5.2)
    pong,
    close, // the peer started or answered the close handshake
};

struct Event {
    event_kind kind = event_kind::need_more;
    // For text/binary/ping/pong: the payload; for close: the reason text. Points into the caller's
    // input (unfragmented messages) or into the reader (fragmented ones); valid until the next
    // call to next() and while the input bytes live.
    std::string_view payload;
    // For close: the received code, no_status if the close frame had no body.
    std::uint16_t close_code = static_cast<std::uint16_t>(close_code::no_status);
};

// Reads messages from one connection's byte stream. One per connection; keeps state only while a
// fragmented message is in progress (the fragments so far and the UTF-8 decoder state).
class MessageReader {
public:
    explicit MessageReader(peer from, ReaderLimits limits = {});

    // Parses frames from the front of `input` until one yields an event or the input ends inside a
    // frame. Advances `input` past every byte consumed (whole frames only); unmasks payloads in
    // place, so `input` must be writable. On need_more the incomplete frame's bytes are left as
    // received: present them again, followed by more, on the next call. Control frames may arrive
    // between the fragments of a message (RFC 6455 §5.4) and are returned at once.
    // Fails (and the caller must close with the returned code) on: reserved bits set (no
    // extension is negotiated), reserved opcodes, a mask missing from a client frame or present on a
    // server frame, control frames that are fragmented or longer than 125 bytes, a continuation with
    // no message in progress or a new data frame inside one, a 64-bit length with the top bit set,
    // messages over the limit (1009), text that is not UTF-8 (1007, also when split across
    // fragments, detected as early as the bytes show it), a close frame with a 1-byte body,
    // an unsendable close code or a non-UTF-8 reason.
    boost::system::result<Event, Violation> next(std::span<char>& input);

    // True while a fragmented message is in progress.
    bool in_message() const { return in_message_; }

private:
    // Ordered small first: one reader lives in every connection.
    peer from_;
    bool in_message_ = false;
    opcode message_opcode_ = opcode::text;
    Utf8Validator utf8_;
    ReaderLimits limits_;
    HeldBytes fragments_;
    // Payload bytes of the incomplete text frame at the front of the input already fed to utf8_,
    // so invalid text fails before the rest of its frame arrives and no byte is checked twice.
    std::size_t text_checked_ = 0;
};

// The largest frame header: 2 bytes + 8 bytes of extended length + 4 bytes of mask.
inline constexpr std::size_t max_header_bytes = 14;

// Writes the header of an unmasked (server) frame into `out`; returns its length (2, 4 or 10).
// Used to gather-write a shared payload without copying it.
std::size_t write_header(std::array<std::uint8_t, max_header_bytes>& out, opcode op,
                         std::size_t payload_bytes, bool fin = true);

// Appends a whole unmasked (server) frame to `out`.
void append_frame(std::string& out, opcode op, std::string_view payload, bool fin = true);

// Appends a whole masked (client) frame to `out`, masking with `mask_key` (RFC 6455 §5.3).
void append_masked_frame(std::string& out, opcode op, std::string_view payload,
                         std::array<std::uint8_t, 4> mask_key, bool fin = true);

// Builds a close frame body: 2-byte code then the reason, cut to fit 125 bytes on a UTF-8 boundary.
std::string close_payload(close_code code, std::string_view reason);

} // namespace parley::net::ws
