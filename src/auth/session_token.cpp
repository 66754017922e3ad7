// Session tokens: random bytes from libsodium, base64url for transport, BLAKE2b for storage.
#include "auth/session_token.hpp"

#include "auth/base64url.hpp"
#include "auth/sodium.hpp"

#include <sodium.h>

#include <array>

namespace parley::auth {

static_assert(session_token_length == session_token_prefix.size() + (session_token_random_bytes * 4 + 2) / 3);

IssuedToken issue_session_token() {
    detail::ensure_sodium();
    std::array<unsigned char, session_token_random_bytes> random{};
    randombytes_buf(random.data(), random.size());
    IssuedToken issued;
    issued.token = std::string(session_token_prefix) + detail::base64url_encode(random);
    sodium_memzero(random.data(), random.size());
    issued.hash = hash_session_token(issued.token);
    return issued;
}

std::string hash_session_token(std::string_view token) {
    detail::ensure_sodium();
    std::array<unsigned char, crypto_generichash_BYTES> digest{};
    static_assert(crypto_generichash_BYTES == 32, "BLAKE2b-256");
    crypto_generichash(digest.data(), digest.size(), reinterpret_cast<const unsigned char*>(token.data()),
                       token.size(), nullptr, 0);
    // sodium_bin2hex writes lowercase hex and a terminating NUL.
    std::string hex(digest.size() * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
    hex.resize(digest.size() * 2);
    return hex;
}

bool looks_like_session_token(std::string_view text) {
    if (text.size() != session_token_length || !text.starts_with(session_token_prefix)) {
        return false;
    }
    // The decoder checks the alphabet and that the 2 spare bits of the last character are zero,
    // so exactly one spelling of each token passes.
    const auto bytes = detail::base64url_decode(text.substr(session_token_prefix.size()));
    return bytes && bytes->size() == session_token_random_bytes;
}

} // namespace parley::auth
