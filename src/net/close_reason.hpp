// Why a connection ended: one enum, logged by name and counted, so operators can tell a slow
// consumer from a protocol violation from a timeout.
#pragma once

#include <cstdint>

#include <string_view>

namespace parley::net {

enum class close_reason : std::uint8_t {
    none,
    peer_closed,        // the client sent a close frame or closed TCP
    io_error,           // the socket failed (reset, broken pipe)
    protocol_violation, // RFC 6455 broken: bad frame, bad UTF-8, too big
    slow_consumer,      // the send queue overflowed its byte limit
    flood,              // kept sending after being rate limited
    handshake_timeout,  // no complete HTTP request / upgrade in time
    idle_timeout,       // nothing received for idle_timeout
    close_timeout,      // the peer never answered our close frame
    http_done,          // an HTTP (not WebSocket) exchange finished
    bad_request,        // unparseable HTTP
    tls_failed,         // TLS handshake or record error (e.g. plain HTTP on a TLS port)
    shutdown,           // the server is stopping
    revoked, // the login was revoked (logout, account disabled) or the user kept sending over its limit
};

std::string_view to_string(close_reason why);

} // namespace parley::net
