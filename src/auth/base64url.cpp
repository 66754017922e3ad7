// base64url on libsodium's constant-time codec (it also rejects non-canonical trailing bits).
#include "auth/base64url.hpp"

#include "auth/sodium.hpp"

#include <sodium.h>

#include <algorithm>

namespace parley::auth::detail {

namespace {
constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
} // namespace

bool is_base64url_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

std::string base64url_encode(std::span<const unsigned char> bytes) {
    ensure_sodium();
    // sodium_base64_ENCODED_LEN counts the terminating NUL that sodium_bin2base64 writes.
    std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), variant);
    out.resize(out.size() - 1);
    return out;
}

std::string base64url_encode(std::string_view bytes) {
    // Reading chars as unsigned chars is allowed (the aliasing rules exempt unsigned char).
    return base64url_encode(std::span(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()));
}

std::optional<std::string> base64url_decode(std::string_view text) {
    // libsodium already stops at a foreign character; checking first keeps the rule visible here
    // and does not depend on how it treats '=' in the no-padding variant.
    if (!std::all_of(text.begin(), text.end(), is_base64url_char)) {
        return std::nullopt;
    }
    ensure_sodium();
    std::string out(text.size() / 4 * 3 + 3, '\0');
    std::size_t out_len = 0;
    // With b64_end == nullptr libsodium fails unless it consumed all of `text`.
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(),
                          nullptr, &out_len, nullptr, variant) != 0) {
        return std::nullopt;
    }
    out.resize(out_len);
    return out;
}

} // namespace parley::auth::detail
