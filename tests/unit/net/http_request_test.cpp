#include "net/http_request.hpp"

#include <gtest/gtest.h>

namespace parley::net {
namespace {

TEST(HttpRequest, IncompleteHeadersNeedMore) {
    const auto r = parse_http_request("GET / HTTP/1.1\r\nHost: x\r\n", {});
    EXPECT_EQ(r.status, http_parse_status::need_more);
}

TEST(HttpRequest, UpgradeIsRecognisedWithTokenLists) {
    const std::string req = "GET /ws?x=1 HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\n"
                            "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: abc\r\n"
                            "Sec-WebSocket-Version: 13\r\nOrigin: null\r\n\r\nEXTRA";
    const auto r = parse_http_request(req, {});
    ASSERT_EQ(r.status, http_parse_status::complete);
    EXPECT_EQ(r.consumed, req.size() - 5);
    EXPECT_TRUE(r.request.wants_websocket);
    EXPECT_EQ(r.request.path(), "/ws");
    EXPECT_EQ(r.request.ws_key, "abc");
    EXPECT_EQ(r.request.ws_version, "13");
    EXPECT_EQ(r.request.origin, "null");
}

TEST(HttpRequest, UpgradeHeaderWithoutConnectionUpgradeIsNotAnUpgrade) {
    const auto r = parse_http_request("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", {});
    ASSERT_EQ(r.status, http_parse_status::complete);
    EXPECT_FALSE(r.request.wants_websocket);
}

TEST(HttpRequest, BodyIsReadByContentLength) {
    const auto r = parse_http_request("POST /api HTTP/1.1\r\nContent-Length: 4\r\n\r\n{}{}", {});
    ASSERT_EQ(r.status, http_parse_status::complete);
    EXPECT_EQ(r.request.body, "{}{}");
    EXPECT_EQ(r.request.method, "POST");
}

TEST(HttpRequest, BearerTokenIsTakenFromAuthorizationWhateverTheSchemesCase) {
    const auto bearer = [](std::string_view header) {
        const std::string req = "POST /api/logout HTTP/1.1\r\nHost: x\r\n" + std::string(header) + "\r\n\r\n";
        return parse_http_request(req, {}).request.bearer_token;
    };
    EXPECT_EQ(bearer("Authorization: Bearer pt_abc"), "pt_abc");
    EXPECT_EQ(bearer("Authorization: bearer pt_abc"), "pt_abc") << "RFC 7235: the scheme is case-insensitive";
    EXPECT_EQ(bearer("Authorization: Basic YWxpY2U6cHc="), "") << "another scheme is not a token";
    EXPECT_EQ(bearer("Authorization: Bearer "), "") << "no token";
    EXPECT_EQ(bearer("X-Other: 1"), "");
}

TEST(HttpRequest, LimitsGiveTheRightStatus) {
    HttpLimits limits;
    limits.max_header_bytes = 64;
    auto r = parse_http_request("GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n", limits);
    EXPECT_EQ(r.status, http_parse_status::invalid);
    EXPECT_EQ(r.error_status, 431);
    limits = {};
    limits.max_body_bytes = 2;
    r = parse_http_request("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n", limits);
    EXPECT_EQ(r.status, http_parse_status::invalid);
    EXPECT_EQ(r.error_status, 413);
    r = parse_http_request("NOT HTTP AT ALL\r\n\r\n", {});
    EXPECT_EQ(r.status, http_parse_status::invalid);
    EXPECT_EQ(r.error_status, 400);
}

} // namespace
} // namespace parley::net
