// Fuzzes the HTTP side of a connection with arbitrary bytes: parse_http_request in the loop the
// connection runs (pipelined requests, one after another, until need_more or invalid), then, for
// a WebSocket upgrade, the Sec-WebSocket-Key check and the accept key. Beyond "no crash":
// - consumed <= what was given; complete => consumed > 0; need_more => nothing consumed;
//   invalid => status 400, 413 or 431 and a reason (the connection sends these as they are);
// - a complete request is the same request when parsed from exactly its own bytes, and every
//   shorter prefix of it is need_more (a request's end does not depend on what follows it);
// - the body is within its limit; path() is the target up to '?';
// - an accept key is 28 base64 characters ending in '=' (base64 of a 20-byte SHA-1).
#include "net/http_request.hpp"
#include "net/ws_handshake.hpp"

#include "check.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

using parley::fuzz::check;
namespace net = parley::net;

// Small limits, so that a short input can reach the 413 and 431 paths.
constexpr net::HttpLimits limits{.max_header_bytes = 512, .max_body_bytes = 64};

bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

void check_upgrade(const net::HttpRequest& request) {
    if (!net::ws::is_valid_client_key(request.ws_key)) {
        return;
    }
    check(request.ws_key.size() == 24 && request.ws_key.ends_with("=="), "a valid key is 24 chars ending ==");
    const std::string accept = net::ws::accept_key(request.ws_key);
    check(accept.size() == 28 && accept.back() == '=', "an accept key is base64 of 20 bytes");
    for (char c : std::string_view(accept).substr(0, 27)) {
        check(is_base64_char(c), "an accept key is base64");
    }
}

void check_complete(std::string_view bytes, const net::HttpParseResult& parsed) {
    const net::HttpRequest& request = parsed.request;
    check(parsed.consumed > 0, "a complete request consumed bytes");
    check(request.body.size() <= limits.max_body_bytes, "body within its limit");
    const std::string_view path = request.path();
    check(std::string_view(request.target).starts_with(path) && path.find('?') == std::string_view::npos,
          "path() is the target before '?'");

    const std::string_view own_bytes = bytes.substr(0, parsed.consumed);
    const auto alone = net::parse_http_request(own_bytes, limits);
    check(alone.status == net::http_parse_status::complete && alone.consumed == parsed.consumed,
          "a request parses the same from exactly its own bytes");
    check(alone.request.method == request.method && alone.request.target == request.target &&
              alone.request.body == request.body && alone.request.wants_websocket == request.wants_websocket,
          "... and is the same request");
    const auto cut = net::parse_http_request(own_bytes.substr(0, own_bytes.size() - 1), limits);
    check(cut.status == net::http_parse_status::need_more, "a request missing its last byte needs more");

    if (request.wants_websocket) {
        check_upgrade(request);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::size_t used = 0;
    // As Connection::handle_http: requests back to back until one is incomplete or invalid.
    while (used < input.size()) {
        const std::string_view bytes = input.substr(used);
        const auto parsed = net::parse_http_request(bytes, limits);
        check(parsed.consumed <= bytes.size(), "consumed no more than was given");
        if (parsed.status == net::http_parse_status::need_more) {
            check(parsed.consumed == 0, "need_more consumes nothing");
            break;
        }
        if (parsed.status == net::http_parse_status::invalid) {
            check(parsed.error_status == 400 || parsed.error_status == 413 || parsed.error_status == 431,
                  "invalid is 400, 413 or 431");
            check(!parsed.error.empty(), "invalid says why");
            break;
        }
        check_complete(bytes, parsed);
        used += parsed.consumed;
    }
    return 0;
}
