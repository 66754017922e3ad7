// HTTP on the chat port: the web client, /healthz, upgrades on / and /ws, and refusals.
#include "parley_process.hpp"
#include "test_client.hpp"

#include <gtest/gtest.h>

namespace parley::testing {
namespace {

std::string request(std::uint16_t port, const std::string& bytes) {
    TestClient c = TestClient::raw(port);
    c.send_bytes(bytes);
    return c.read_all();
}

class Http : public ::testing::Test {
protected:
    ParleyProcess server;
};

TEST_F(Http, RootServesTheWebClient) {
    const std::string r = request(server.port(), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
    EXPECT_NE(r.find("Content-Type: text/html"), std::string::npos);
    EXPECT_NE(r.find("<title>Parley</title>"), std::string::npos);
}

TEST_F(Http, HealthzAnswersOk) {
    const std::string r =
        request(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
    EXPECT_EQ(r.substr(r.size() - 3), "ok\n");
}

TEST_F(Http, FaviconIsNoContentNotAnError) {
    const std::string r =
        request(server.port(), "GET /favicon.ico HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 204 No Content\r\n", 0), 0u) << r;
    EXPECT_NE(r.find("Content-Length: 0\r\n"), std::string::npos) << r;
}

TEST_F(Http, KeepAliveServesSeveralRequests) {
    TestClient c = TestClient::raw(server.port());
    c.send_bytes("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string got;
    for (int i = 0; i < 10 && got.find("ok\n", got.find("ok\n") + 1) == std::string::npos; ++i) {
        got += c.read_until("ok\n", std::chrono::milliseconds(500));
    }
    EXPECT_NE(got.find("ok\n", got.find("ok\n") + 1), std::string::npos) << got;
}

TEST_F(Http, HeadHasNoBody) {
    const std::string r = request(server.port(), "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
    EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n");
}

TEST_F(Http, UnknownPathIs404) {
    const std::string r = request(server.port(), "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 404 ", 0), 0u) << r;
}

TEST_F(Http, PostIs405) {
    const std::string r = request(server.port(), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_EQ(r.rfind("HTTP/1.1 405 ", 0), 0u) << r;
}

TEST_F(Http, GarbageIs400) {
    const std::string r = request(server.port(), "HELLO\x01\x02 what\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 400 ", 0), 0u) << r;
}

TEST_F(Http, HugeHeadersAre431) {
    const std::string r =
        request(server.port(), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 431 ", 0), 0u) << r.substr(0, 100);
}

TEST_F(Http, UpgradeWorksOnWsPath) {
    TestClient c(server.port(), "/ws");
    EXPECT_EQ(str(c.login("on-ws"), "type"), "login_ok");
}

TEST_F(Http, UpgradeOnOtherPathIs404) {
    EXPECT_THROW(TestClient(server.port(), "/chat"), std::runtime_error);
}

TEST_F(Http, UpgradeWithBadKeyIs400) {
    const std::string r =
        request(server.port(), "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                               "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 400 ", 0), 0u) << r;
}

TEST_F(Http, UpgradeWithOldVersionIs426) {
    const std::string r = request(
        server.port(), "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 426 ", 0), 0u) << r;
    EXPECT_NE(r.find("Sec-WebSocket-Version: 13"), std::string::npos);
}

TEST_F(Http, FramesPipelinedWithTheUpgradeAreHandled) {
    TestClient c = TestClient::raw(server.port());
    std::string bytes = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    net::ws::append_masked_frame(bytes, net::ws::opcode::text, R"({"type":"ping","id":"piped"})",
                                 {1, 2, 3, 4});
    c.send_bytes(bytes);
    const std::string got = c.read_until("piped");
    EXPECT_NE(got.find(R"({"type":"pong","id":"piped"})"), std::string::npos) << got;
}

} // namespace
} // namespace parley::testing
