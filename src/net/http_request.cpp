// HTTP request parsing with Beast's parser (RFC 9112), kept behind parse_http_request().
#include "net/http_request.hpp"

#include "net/ascii.hpp"

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>

namespace parley::net {

namespace http = boost::beast::http;

namespace {

// True if a comma-separated header value lists `token` (case-insensitive), e.g. Connection:
// "keep-alive, Upgrade" lists "upgrade".
bool lists_token(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        const auto comma = value.find(',');
        std::string_view item = value.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
            item.remove_prefix(1);
        }
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
            item.remove_suffix(1);
        }
        if (iequals(item, token)) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        value.remove_prefix(comma + 1);
    }
    return false;
}

} // namespace

std::string_view HttpRequest::path() const {
    std::string_view t = target;
    return t.substr(0, t.find('?'));
}

HttpParseResult parse_http_request(std::string_view bytes, const HttpLimits& limits) {
    HttpParseResult result;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
    parser.eager(true);

    boost::beast::error_code ec;
    std::size_t used = 0;
    while (!parser.is_done()) {
        const std::size_t n =
            parser.put(boost::asio::const_buffer(bytes.data() + used, bytes.size() - used), ec);
        used += n;
        if (ec == http::error::need_more) {
            return result; // need_more
        }
        if (ec) {
            result.status = http_parse_status::invalid;
            if (ec == http::error::header_limit) {
                result.error_status = 431;
            } else if (ec == http::error::body_limit) {
                result.error_status = 413;
            } else {
                result.error_status = 400;
            }
            result.error = ec.message();
            return result;
        }
        if (n == 0) {
            return result;
        }
    }

    const auto& msg = parser.get();
    HttpRequest& r = result.request;
    r.method = std::string(msg.method_string());
    r.target = std::string(msg.target());
    r.version = msg.version();
    r.keep_alive = msg.keep_alive();
    r.wants_websocket = lists_token(msg[http::field::upgrade], "websocket") &&
                        lists_token(msg[http::field::connection], "upgrade");
    r.ws_key = std::string(msg[http::field::sec_websocket_key]);
    r.ws_version = std::string(msg[http::field::sec_websocket_version]);
    r.origin = std::string(msg[http::field::origin]);
    r.host = std::string(msg[http::field::host]);
    r.content_type = std::string(msg[http::field::content_type]);
    // RFC 6750 §2.1: `Authorization: Bearer <token>`, the scheme case-insensitive.
    constexpr std::string_view bearer = "Bearer ";
    const std::string_view authorization = msg[http::field::authorization];
    if (authorization.size() > bearer.size() && iequals(authorization.substr(0, bearer.size()), bearer)) {
        r.bearer_token = std::string(authorization.substr(bearer.size()));
    }
    r.body = msg.body();
    result.status = http_parse_status::complete;
    result.consumed = used;
    return result;
}

} // namespace parley::net
