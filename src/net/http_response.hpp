// HTTP/1.1 responses as bytes: the few shapes Parley sends (files, small JSON or text, errors,
// the WebSocket 101). Pure.
#pragma once

#include <string>
#include <string_view>

namespace parley::net {

// A complete response with Content-Length. `head_only` leaves the body out (for HEAD).
std::string http_response(int status, std::string_view content_type, std::string_view body, bool keep_alive,
                          bool head_only = false, std::string_view extra_headers = {});

// The 101 that completes a WebSocket upgrade (RFC 6455 §4.2.2).
std::string websocket_accept_response(std::string_view accept_key);

// The reason phrase for the statuses Parley uses.
std::string_view status_reason(int status);

} // namespace parley::net
