// The WebSocket opening handshake's key arithmetic (RFC 6455 §4.2.2): pure functions.
#pragma once

#include <string>
#include <string_view>

namespace parley::net::ws {

// True if `key` is a Sec-WebSocket-Key: base64 of 16 bytes (24 characters ending in "==").
bool is_valid_client_key(std::string_view key);

// Sec-WebSocket-Accept for a client key: base64(SHA-1(key + the RFC's GUID)).
std::string accept_key(std::string_view client_key);

} // namespace parley::net::ws
