// The chat frame as clients write it, recognised by scanning instead of parsing: the seed page's
// {"type":"chat","to_user_id":"…","message":"…"}, optionally with ,"id":"…" or ,"id":<integer>
// last, no whitespace, every string printable ASCII without escapes. Such a frame is valid JSON
// whose fields a full parse reads exactly as written, so the decoder takes them from here and
// skips simdjson (~0.15 µs a chat, ADR 015); any other frame, however valid, is for the parser.
// Pure.
#pragma once

#include <optional>
#include <string_view>

namespace parley::protocol {

struct PlainChat {
    std::string_view to_user_id;
    std::string_view message;
    std::string_view id_json; // the id's JSON token (a string with its quotes); empty if absent
};

// The frame's fields if it has exactly that shape, nullopt otherwise. Views into `frame`.
std::optional<PlainChat> scan_plain_chat(std::string_view frame);

} // namespace parley::protocol
