// One HTTP/1.1 request parsed from the bytes a connection has received so far. Wraps Beast's
// parser so its heavy headers stay in one .cpp. Pure: no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::net {

struct HttpRequest {
    std::string method; // "GET", "POST", …
    std::string target; // as sent, query string included
    unsigned version = 11;
    bool keep_alive = false;
    // Upgrade: websocket together with Connection: upgrade (RFC 6455 §4.2.1 items 3 and 4).
    bool wants_websocket = false;
    std::string ws_key;     // Sec-WebSocket-Key
    std::string ws_version; // Sec-WebSocket-Version
    std::string origin;
    std::string host;
    std::string content_type;
    std::string bearer_token; // from `Authorization: Bearer …`, empty if none
    std::string body;

    // The target's path, without the query string.
    std::string_view path() const;
};

struct HttpLimits {
    // Browsers send 1-2 KB of headers; 16 KB leaves room for big cookies and refuses floods.
    std::size_t max_header_bytes = 16 * 1024;
    // The JSON bodies Parley accepts (auth endpoints) are tiny.
    std::size_t max_body_bytes = 64 * 1024;
};

enum class http_parse_status { need_more, complete, invalid };

struct HttpParseResult {
    http_parse_status status = http_parse_status::need_more;
    std::size_t consumed = 0; // bytes of the input that made up the request (when complete)
    HttpRequest request;      // when complete
    int error_status = 0;     // when invalid: 400, 413 or 431
    std::string error;        // when invalid: why, for the response body
};

// Parses the request at the front of `bytes`. need_more while the request is incomplete and
// still within the limits.
HttpParseResult parse_http_request(std::string_view bytes, const HttpLimits& limits);

} // namespace parley::net
