// UTF-8 validation (RFC 3629), whole or incremental across arbitrary splits.
// Owns only the decoder state; used by the WebSocket reader for text messages and close reasons.
#pragma once

#include <cstdint>
#include <string_view>

namespace parley::net {

// True if `bytes` is complete, well-formed UTF-8: no overlong forms, no surrogates (U+D800..DFFF),
// nothing above U+10FFFF, no truncated sequence at the end.
bool is_valid_utf8(std::string_view bytes);

// Validates a byte stream fed in pieces that may split a code point anywhere.
class Utf8Validator {
public:
    // Feeds the next piece; false as soon as the bytes so far cannot begin valid UTF-8
    // (fail fast, as Autobahn's 6.x cases expect). Once false, stays false until reset().
    bool feed(std::string_view bytes);
    // True if everything fed ends on a code point boundary.
    bool complete() const { return state_ == 0; }
    void reset() { state_ = 0; }

private:
    std::uint32_t state_ = 0; // 0 = accept; the reject state is sticky
};

} // namespace parley::net
