// Fuzzes the RFC 6455 message reader with a byte stream that arrives in pieces, as from a socket.
// Input layout: byte 0 = options (bit 0: read server frames instead of client frames; bit 1: after
// the split, deliver the rest one byte at a time), bytes 1-2 = where the first piece ends
// (little-endian, modulo the stream's length + 1), then the stream itself.
// Beyond "no crash":
// - no text/binary payload is over the message limit, no control payload over 125 bytes;
// - text payloads and close reasons are valid UTF-8; a close code is sendable or "no status";
// - a violation carries a reason short enough for a close frame;
// - how the stream is cut does not change what is read: the events and the violation (its close
//   code) equal those of the same stream given whole.
#include "net/utf8.hpp"
#include "net/ws_frame.hpp"

#include "check.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using parley::fuzz::check;
namespace ws = parley::net::ws;

// Small, so that short inputs reach "message too big"; over 125 so a control frame's own limit
// is reachable too.
constexpr ws::ReaderLimits limits{.max_message_bytes = 200};
constexpr std::size_t max_control_payload_bytes = 125;

// What the reader produced, copied out of the buffers its views point into.
struct Reading {
    struct Event {
        ws::event_kind kind;
        std::string payload;
        std::uint16_t close_code;
        bool operator==(const Event&) const = default;
    };
    std::vector<Event> events;
    // The close code of the violation the stream ended with; 0 when it ended with need_more or close.
    std::uint16_t violation = 0;
    bool operator==(const Reading&) const = default;
};

void check_event(const ws::Event& e) {
    switch (e.kind) {
    case ws::event_kind::text:
        check(parley::net::is_valid_utf8(e.payload), "text is UTF-8");
        [[fallthrough]];
    case ws::event_kind::binary:
        check(e.payload.size() <= limits.max_message_bytes, "message within its limit");
        break;
    case ws::event_kind::ping:
    case ws::event_kind::pong:
        check(e.payload.size() <= max_control_payload_bytes, "control payload <= 125 bytes");
        break;
    case ws::event_kind::close:
        check(e.payload.size() <= max_control_payload_bytes - 2, "close reason fits a close frame");
        check(parley::net::is_valid_utf8(e.payload), "close reason is UTF-8");
        check(e.close_code == static_cast<std::uint16_t>(ws::close_code::no_status) ||
                  ws::is_sendable_close_code(e.close_code),
              "close code is sendable or no_status");
        break;
    case ws::event_kind::need_more:
        check(false, "need_more is not an event");
    }
}

// Feeds `pieces` as Connection does: unconsumed bytes stay at the front of the buffer and the
// next piece is appended; events are read until need_more, a violation or a close.
Reading read_stream(ws::peer from, const std::vector<std::string_view>& pieces) {
    ws::MessageReader reader(from, limits);
    Reading reading;
    std::string buffer;
    for (const auto piece : pieces) {
        buffer.append(piece);
        std::span<char> input(buffer.data(), buffer.size());
        for (;;) {
            const auto result = reader.next(input);
            if (!result) {
                const ws::Violation& v = result.error();
                check(!v.reason.empty() && v.reason.size() <= max_control_payload_bytes - 2,
                      "a violation's reason fits a close frame");
                check(ws::is_sendable_close_code(static_cast<std::uint16_t>(v.code)),
                      "a violation's code is sendable");
                reading.violation = static_cast<std::uint16_t>(v.code);
                return reading;
            }
            const ws::Event& e = *result;
            if (e.kind == ws::event_kind::need_more) {
                break;
            }
            check_event(e);
            reading.events.push_back({e.kind, std::string(e.payload), e.close_code});
            if (e.kind == ws::event_kind::close) {
                return reading;
            }
        }
        buffer.erase(0, buffer.size() - input.size());
    }
    return reading;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr std::size_t header_bytes = 3;
    if (size < header_bytes) {
        return 0;
    }
    const std::uint8_t options = data[0];
    const ws::peer from = (options & 1) != 0 ? ws::peer::server : ws::peer::client;
    const bool byte_by_byte = (options & 2) != 0;
    const std::string_view stream(reinterpret_cast<const char*>(data + header_bytes), size - header_bytes);
    const std::size_t split = (std::size_t{data[1]} | std::size_t{data[2]} << 8) % (stream.size() + 1);

    std::vector<std::string_view> pieces{stream.substr(0, split)};
    if (byte_by_byte) {
        for (std::size_t i = split; i < stream.size(); ++i) {
            pieces.push_back(stream.substr(i, 1));
        }
    } else {
        pieces.push_back(stream.substr(split));
    }

    const Reading whole = read_stream(from, {stream});
    check(read_stream(from, pieces) == whole, "the same stream cut differently reads the same");
    return 0;
}
