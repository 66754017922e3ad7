// Private to auth/: base64url without padding (RFC 4648 §5), the alphabet of session tokens and
// JWTs (RFC 7515 §2). Strict on input: no '=', no whitespace, no non-canonical trailing bits.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace parley::auth::detail {

// True for A-Z, a-z, 0-9, '-' and '_'.
bool is_base64url_char(char c);

std::string base64url_encode(std::span<const unsigned char> bytes);
std::string base64url_encode(std::string_view bytes);

// The decoded bytes, or nullopt if `text` is not canonical unpadded base64url: a character
// outside the alphabet (including '='), a length of 4n+1, or unused trailing bits that are not
// zero (so each byte string has exactly one encoding and a token cannot be varied by its tail).
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace parley::auth::detail
