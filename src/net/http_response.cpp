// HTTP/1.1 response bytes.
#include "net/http_response.hpp"

#include <fmt/format.h>

namespace parley::net {

std::string_view status_reason(int status) {
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

std::string http_response(int status, std::string_view content_type, std::string_view body, bool keep_alive,
                          bool head_only, std::string_view extra_headers) {
    // Extra headers may set their own caching policy (the API: no-store).
    const bool own_cache_control = extra_headers.find("Cache-Control:") != std::string_view::npos;
    std::string out =
        fmt::format("HTTP/1.1 {} {}\r\nServer: parley\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
                    "{}X-Content-Type-Options: nosniff\r\n{}{}\r\n",
                    status, status_reason(status), content_type, body.size(),
                    own_cache_control ? "" : "Cache-Control: no-cache\r\n",
                    keep_alive ? "" : "Connection: close\r\n", extra_headers);
    if (!head_only) {
        out.append(body);
    }
    return out;
}

std::string websocket_accept_response(std::string_view accept_key) {
    return fmt::format("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: {}\r\n\r\n",
                       accept_key);
}

} // namespace parley::net
