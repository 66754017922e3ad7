// The opening handshake's key arithmetic (RFC 6455 §4.2.1, §4.2.2), with OpenSSL 3 for SHA-1
// and base64. Pure functions: no I/O, no HTTP parsing (the request reader owns that).
#include "net/ws_handshake.hpp"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

namespace parley::net::ws {
namespace {

// RFC 6455 §1.3: the GUID every server appends to the client's key.
constexpr std::string_view handshake_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// base64 of 16 bytes: 22 significant characters and "==" (RFC 4648 §4).
constexpr std::size_t client_key_chars = 24;

constexpr std::size_t sha1_bytes = 20;
// base64 of 20 bytes: 28 characters; EVP_EncodeBlock also writes a terminating NUL.
constexpr std::size_t accept_key_chars = 28;

bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

} // namespace

bool is_valid_client_key(std::string_view key) {
    // RFC 6455 §4.2.1 item 5: "a base64-encoded value that, when decoded, is 16 bytes in length".
    // The unused low bits of the 22nd character are not checked: every decoder ignores them.
    if (key.size() != client_key_chars || !key.ends_with("==")) {
        return false;
    }
    for (char c : key.substr(0, client_key_chars - 2)) {
        if (!is_base64_char(c)) {
            return false;
        }
    }
    return true;
}

std::string accept_key(std::string_view client_key) {
    // RFC 6455 §4.2.2 item 5.4: base64(SHA-1(key + GUID)); the key is used as sent, not decoded.
    std::string input;
    input.reserve(client_key.size() + handshake_guid.size());
    input.append(client_key);
    input.append(handshake_guid);

    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_bytes = 0;
    if (EVP_Digest(input.data(), input.size(), digest.data(), &digest_bytes, EVP_sha1(), nullptr) != 1 ||
        digest_bytes != sha1_bytes) {
        // Only a crypto library configured without SHA-1 gets here; no input can cause it.
        throw std::runtime_error("OpenSSL could not compute SHA-1 for the WebSocket handshake");
    }

    std::array<unsigned char, accept_key_chars + 1> encoded{};
    const int written = EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(sha1_bytes));
    return std::string(reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(written));
}

} // namespace parley::net::ws
