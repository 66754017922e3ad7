// RFC 6455 framing: the message reader (frame rules, defragmentation, UTF-8 of text) and the
// frame writers. Pure code over caller-owned bytes: no I/O, and no allocation on the path of an
// unfragmented frame, which is nearly every frame a browser sends. Fragmented messages are the
// only thing the reader copies.
#include "net/ws_frame.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace parley::net::ws {
namespace {

// RFC 6455 §5.2, the base framing protocol.
constexpr std::uint8_t fin_bit = 0x80;
constexpr std::uint8_t rsv_bits = 0x70;
constexpr std::uint8_t opcode_bits = 0x0F;
constexpr std::uint8_t mask_bit = 0x80;
constexpr std::uint8_t length_bits = 0x7F;
constexpr std::uint8_t length_is_16_bit = 126;
constexpr std::uint8_t length_is_64_bit = 127;
constexpr std::size_t mask_key_bytes = 4;
// RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
constexpr std::size_t max_control_payload_bytes = 125;
// RFC 6455 §5.5.1: the close body starts with a 2-byte code.
constexpr std::size_t close_code_bytes = 2;

using MaskKey = std::array<std::uint8_t, mask_key_bytes>;

std::uint8_t byte_at(const char* p) {
    return static_cast<std::uint8_t>(*p);
}

// Big-endian ("network byte order", RFC 6455 §5.2) unsigned integer of `n` bytes.
std::uint64_t read_big_endian(const char* p, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        v = (v << 8) | byte_at(p + i);
    }
    return v;
}

bool is_control(std::uint8_t op) {
    return (op & 0x08) != 0;
}

bool is_known_opcode(std::uint8_t op) {
    switch (static_cast<opcode>(op)) {
    case opcode::continuation:
    case opcode::text:
    case opcode::binary:
    case opcode::close:
    case opcode::ping:
    case opcode::pong:
        return true;
    }
    return false;
}

// XORs `n` bytes with the mask key, key phase 0 at p[0] (RFC 6455 §5.3); true if no unmasked byte
// is 0x80 or more (the payload is ASCII). memcpy keeps the bytes in memory order, so the words'
// endianness does not matter.
bool apply_mask(char* p, std::size_t n, const MaskKey& key) {
    std::uint32_t key32 = 0;
    std::memcpy(&key32, key.data(), sizeof key32);
    constexpr std::uint64_t high_bits = 0x8080'8080'8080'8080ULL;
    std::uint64_t high = 0; // the high bits of every unmasked byte, or'ed together
    std::size_t i = 0;
    // Sixteen, eight and four are multiples of the key's four bytes: each step starts at key[0].
#if defined(__SSE2__)
    const __m128i key_block = _mm_set1_epi32(static_cast<int>(key32));
    __m128i seen = _mm_setzero_si128();
    for (; n - i >= 16; i += 16) {
        auto* at = reinterpret_cast<__m128i*>(p + i);
        const __m128i unmasked = _mm_xor_si128(_mm_loadu_si128(at), key_block);
        _mm_storeu_si128(at, unmasked);
        seen = _mm_or_si128(seen, unmasked);
    }
    high = static_cast<unsigned>(_mm_movemask_epi8(seen));
#endif
    const std::uint64_t key_word = (std::uint64_t{key32} << 32) | key32;
    for (; n - i >= 8; i += 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, p + i, sizeof word);
        word ^= key_word;
        std::memcpy(p + i, &word, sizeof word);
        high |= word & high_bits;
    }
    if (n - i >= 4) {
        std::uint32_t half = 0;
        std::memcpy(&half, p + i, sizeof half);
        half ^= key32;
        std::memcpy(p + i, &half, sizeof half);
        high |= half & static_cast<std::uint32_t>(high_bits);
        i += 4;
    }
    for (; i < n; ++i) {
        const auto byte = static_cast<std::uint8_t>(byte_at(p + i) ^ key[i % mask_key_bytes]);
        p[i] = static_cast<char>(byte);
        high |= byte & 0x80U;
    }
    return high == 0;
}

// Feeds payload bytes [from, to) of a frame that has not fully arrived to `utf8`, unmasking
// copies rather than the input itself: the input stays exactly as received until the whole frame
// is there (the caller keeps and re-presents those bytes). Autobahn 6.4.3/6.4.4 send invalid text
// in chops of one frame and expect the connection failed at the bad chop, not at the frame's end.
bool feed_partial_text(Utf8Validator& utf8, const char* payload, std::size_t from, std::size_t to,
                       const MaskKey* key) {
    if (key == nullptr) {
        return utf8.feed({payload + from, to - from});
    }
    std::array<char, 256> scratch{};
    while (from < to) {
        const std::size_t n = std::min(scratch.size(), to - from);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t at = from + i;
            scratch[i] = static_cast<char>(byte_at(payload + at) ^ (*key)[at % mask_key_bytes]);
        }
        if (!utf8.feed({scratch.data(), n})) {
            return false;
        }
        from += n;
    }
    return true;
}

Event need_more() {
    return Event{};
}

} // namespace

bool is_sendable_close_code(std::uint16_t code) {
    // RFC 6455 §7.4.1 defines 1000-1011 (1004-1006 must never be sent); IANA's registry adds
    // 1012-1014 (§7.4.2 lets it); 1015 is never sent; 3000-3999 are registered by libraries and
    // 4000-4999 are private: both may be sent. Everything else (0-999, 1016-2999, 5000+) may not.
    if (code >= 1000 && code <= 1003) {
        return true;
    }
    if (code >= 1007 && code <= 1014) {
        return true;
    }
    return code >= 3000 && code <= 4999;
}

void throw_exception_from_error(const Violation& v, const boost::source_location&) {
    throw std::runtime_error("websocket protocol violation: " + std::string(v.reason));
}

MessageReader::MessageReader(peer from, ReaderLimits limits) : from_(from), limits_(limits) {}

boost::system::result<Event, Violation> MessageReader::next(std::span<char>& input) {
    if (!in_message_ && !fragments_.empty()) {
        // The last fragmented message was only promised to live until this call; give its memory
        // back so an idle connection holds no buffer (fragmented messages are rare).
        fragments_.release();
    }

    for (;;) {
        // The first two bytes carry every rule that does not depend on the length, so a bad
        // frame fails before its extended length, mask or payload arrive.
        if (input.size() < 2) {
            return need_more();
        }
        const std::uint8_t b0 = byte_at(input.data());
        const std::uint8_t b1 = byte_at(input.data() + 1);
        const bool fin = (b0 & fin_bit) != 0;
        const std::uint8_t op = b0 & opcode_bits;
        const bool masked = (b1 & mask_bit) != 0;
        const std::uint8_t length7 = b1 & length_bits;

        // RFC 6455 §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated"; we negotiate none.
        if ((b0 & rsv_bits) != 0) {
            return Violation{close_code::protocol_error, "reserved bits set"};
        }
        // RFC 6455 §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved.
        if (!is_known_opcode(op)) {
            return Violation{close_code::protocol_error, "reserved opcode"};
        }
        const bool control = is_control(op);
        if (control) {
            // RFC 6455 §5.5: control frames are never fragmented and carry at most 125 bytes.
            if (!fin) {
                return Violation{close_code::protocol_error, "fragmented control frame"};
            }
            if (length7 > max_control_payload_bytes) {
                return Violation{close_code::protocol_error, "control frame longer than 125 bytes"};
            }
        } else if (static_cast<opcode>(op) == opcode::continuation) {
            // RFC 6455 §5.4: a continuation only continues a message that was started.
            if (!in_message_) {
                return Violation{close_code::protocol_error, "continuation without a message"};
            }
        } else if (in_message_) {
            // RFC 6455 §5.4: fragments of one message are not interleaved with another.
            return Violation{close_code::protocol_error, "new message inside a fragmented one"};
        }
        // RFC 6455 §5.1: clients mask every frame, servers mask none.
        if (from_ == peer::client && !masked) {
            return Violation{close_code::protocol_error, "client frame not masked"};
        }
        if (from_ == peer::server && masked) {
            return Violation{close_code::protocol_error, "server frame masked"};
        }

        std::size_t header_bytes = 2;
        if (length7 == length_is_16_bit) {
            header_bytes += 2;
        } else if (length7 == length_is_64_bit) {
            header_bytes += 8;
        }
        if (masked) {
            header_bytes += mask_key_bytes;
        }
        if (input.size() < header_bytes) {
            return need_more();
        }

        std::uint64_t length = length7;
        if (length7 == length_is_16_bit) {
            length = read_big_endian(input.data() + 2, 2);
        } else if (length7 == length_is_64_bit) {
            length = read_big_endian(input.data() + 2, 8);
            // RFC 6455 §5.2: "the most significant bit MUST be 0".
            if ((length >> 63) != 0) {
                return Violation{close_code::protocol_error, "64-bit length with the top bit set"};
            }
        }
        if (!control) {
            // Refuse on the header alone: waiting for an oversized payload would let a peer make
            // us buffer it. fragments_ never exceeds the limit, so the subtraction cannot wrap.
            const std::size_t held = in_message_ ? fragments_.size() : 0;
            if (length > limits_.max_message_bytes - held) {
                return Violation{close_code::message_too_big, "message too big"};
            }
        }
        // Control payloads are <= 125 and data payloads <= max_message_bytes: fits a size_t.
        const auto payload_bytes = static_cast<std::size_t>(length);

        MaskKey key{};
        if (masked) {
            std::memcpy(key.data(), input.data() + header_bytes - mask_key_bytes, mask_key_bytes);
        }

        const auto type = static_cast<opcode>(op);
        const bool text =
            type == opcode::text || (type == opcode::continuation && message_opcode_ == opcode::text);
        if (type == opcode::text && text_checked_ == 0) {
            utf8_.reset(); // a new text message starts at a code point boundary
        }

        char* payload = input.data() + header_bytes;
        const std::size_t arrived = input.size() - header_bytes;
        if (arrived < payload_bytes) {
            if (text && arrived > text_checked_) {
                if (!feed_partial_text(utf8_, payload, text_checked_, arrived, masked ? &key : nullptr)) {
                    return Violation{close_code::invalid_payload, "text is not UTF-8"};
                }
                text_checked_ = arrived;
            }
            return need_more();
        }

        // The whole frame is here: unmask in place and consume it.
        const bool ascii = masked && apply_mask(payload, payload_bytes, key);
        input = input.subspan(header_bytes + payload_bytes);
        const std::string_view body(payload, payload_bytes);

        if (text) {
            const std::size_t checked = text_checked_;
            text_checked_ = 0;
            // ASCII after a code point boundary is UTF-8 and ends on a boundary: no need to look
            // at the bytes again (most chat frames).
            const bool valid = (ascii && utf8_.complete()) || utf8_.feed(body.substr(checked));
            if (!valid) {
                return Violation{close_code::invalid_payload, "text is not UTF-8"};
            }
            // RFC 6455 §8.1: a text message ending inside a code point is invalid as a whole.
            if (fin && !utf8_.complete()) {
                return Violation{close_code::invalid_payload, "text ends inside a UTF-8 sequence"};
            }
        }

        switch (type) {
        case opcode::ping:
            return Event{event_kind::ping, body};
        case opcode::pong:
            return Event{event_kind::pong, body};
        case opcode::close: {
            Event closed{event_kind::close, {}};
            if (body.empty()) {
                return closed; // close_code stays no_status (RFC 6455 §7.1.5)
            }
            // RFC 6455 §5.5.1: a body, if any, starts with a 2-byte code.
            if (body.size() < close_code_bytes) {
                return Violation{close_code::protocol_error, "close frame with a 1-byte body"};
            }
            const auto code = static_cast<std::uint16_t>(read_big_endian(body.data(), close_code_bytes));
            if (!is_sendable_close_code(code)) {
                return Violation{close_code::protocol_error, "close code not allowed on the wire"};
            }
            // RFC 6455 §5.5.1: the reason "is not guaranteed to be human readable" but is UTF-8.
            const std::string_view reason = body.substr(close_code_bytes);
            if (!is_valid_utf8(reason)) {
                return Violation{close_code::invalid_payload, "close reason is not UTF-8"};
            }
            closed.payload = reason;
            closed.close_code = code;
            return closed;
        }
        case opcode::text:
        case opcode::binary:
        case opcode::continuation:
            break;
        }

        const auto kind_of = [](opcode first) {
            return first == opcode::text ? event_kind::text : event_kind::binary;
        };
        if (!in_message_) {
            if (fin) {
                return Event{kind_of(type), body}; // the common case: points into the input
            }
            in_message_ = true;
            message_opcode_ = type;
            fragments_.assign(body);
            continue;
        }
        fragments_.append(body);
        if (!fin) {
            continue;
        }
        in_message_ = false;
        return Event{kind_of(message_opcode_), fragments_.view()};
    }
}

std::size_t write_header(std::array<std::uint8_t, max_header_bytes>& out, opcode op,
                         std::size_t payload_bytes, bool fin) {
    // RFC 6455 §5.5: a caller sending a fragmented or oversized control frame is a bug.
    assert(!is_control(static_cast<std::uint8_t>(op)) || (fin && payload_bytes <= max_control_payload_bytes));
    out[0] = static_cast<std::uint8_t>((fin ? fin_bit : 0) | static_cast<std::uint8_t>(op));
    if (payload_bytes < length_is_16_bit) {
        out[1] = static_cast<std::uint8_t>(payload_bytes);
        return 2;
    }
    if (payload_bytes <= 0xFFFF) {
        out[1] = length_is_16_bit;
        out[2] = static_cast<std::uint8_t>(payload_bytes >> 8);
        out[3] = static_cast<std::uint8_t>(payload_bytes);
        return 4;
    }
    out[1] = length_is_64_bit;
    const auto length = static_cast<std::uint64_t>(payload_bytes);
    for (std::size_t i = 0; i < 8; ++i) {
        out[2 + i] = static_cast<std::uint8_t>(length >> (56 - 8 * i));
    }
    return 10;
}

void append_frame(std::string& out, opcode op, std::string_view payload, bool fin) {
    std::array<std::uint8_t, max_header_bytes> header{};
    const std::size_t header_bytes = write_header(header, op, payload.size(), fin);
    out.append(reinterpret_cast<const char*>(header.data()), header_bytes);
    out.append(payload);
}

void append_masked_frame(std::string& out, opcode op, std::string_view payload, MaskKey mask_key, bool fin) {
    std::array<std::uint8_t, max_header_bytes> header{};
    std::size_t header_bytes = write_header(header, op, payload.size(), fin);
    header[1] |= mask_bit;
    std::memcpy(header.data() + header_bytes, mask_key.data(), mask_key_bytes);
    header_bytes += mask_key_bytes;
    out.append(reinterpret_cast<const char*>(header.data()), header_bytes);
    const std::size_t payload_at = out.size();
    out.append(payload);
    apply_mask(out.data() + payload_at, payload.size(), mask_key);
}

std::string close_payload(close_code code, std::string_view reason) {
    assert(is_sendable_close_code(static_cast<std::uint16_t>(code)));
    constexpr std::size_t max_reason_bytes = max_control_payload_bytes - close_code_bytes;
    if (reason.size() > max_reason_bytes) {
        // Cut before the lead byte of the code point that would straddle the limit: a reason cut
        // mid-sequence is invalid UTF-8 and the peer must fail the connection on it (§5.5.1).
        std::size_t cut = max_reason_bytes;
        while (cut > 0 && (byte_at(reason.data() + cut) & 0xC0) == 0x80) {
            --cut;
        }
        reason = reason.substr(0, cut);
    }
    const auto value = static_cast<std::uint16_t>(code);
    std::string body;
    body.reserve(close_code_bytes + reason.size());
    body.push_back(static_cast<char>(value >> 8));
    body.push_back(static_cast<char>(value & 0xFF));
    body.append(reason);
    return body;
}

} // namespace parley::net::ws
