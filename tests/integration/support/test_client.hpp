// A blocking WebSocket client of the tests' own, on Parley's codec (client side): connect and
// upgrade, send any frame (also malformed ones), receive messages with a deadline.
#pragma once

#include "net/ws_frame.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::testing {

using namespace std::chrono_literals;

struct Received {
    net::ws::event_kind kind = net::ws::event_kind::need_more; // need_more: timed out
    std::string payload;
    std::uint16_t close_code = 0;
};

class TestClient {
public:
    // Connects to 127.0.0.1:port and completes the WebSocket upgrade on `path`. Throws on failure.
    explicit TestClient(std::uint16_t port, std::string_view path = "/");
    // Connects without upgrading: for raw HTTP tests.
    static TestClient raw(std::uint16_t port);
    ~TestClient();
    TestClient(TestClient&& other) noexcept;
    TestClient& operator=(TestClient&&) = delete;
    TestClient(const TestClient&) = delete;
    TestClient& operator=(const TestClient&) = delete;

    void send_text(std::string_view text);
    void send_frame(net::ws::opcode op, std::string_view payload, bool fin = true);
    void send_bytes(std::string_view bytes);
    // Sends a JSON object built from `value`.
    void send_json(const boost::json::value& value);
    // Logs in and waits for login_ok and the end of the catch-up (skipping stored messages);
    // returns the login_ok.
    boost::json::object login(std::string_view user_id);

    // The next message or control frame; kind need_more on timeout, close with code on a close
    // frame, and close with code 1006 if the connection dropped without one.
    Received receive(std::chrono::milliseconds timeout = 5s);
    // The next text message parsed as a JSON object; throws on timeout or anything else.
    boost::json::object receive_json(std::chrono::milliseconds timeout = 5s);
    // The next JSON message whose "type" is `type`, skipping others; throws on timeout.
    boost::json::object receive_type(std::string_view type, std::chrono::milliseconds timeout = 5s);
    // Reads until the connection closes; the close code (1006 if none) or nullopt on timeout.
    std::optional<std::uint16_t> wait_closed(std::chrono::milliseconds timeout = 5s);
    // Reads raw bytes (HTTP tests) until the peer closes or `timeout`.
    std::string read_all(std::chrono::milliseconds timeout = 5s);
    // Reads raw bytes until `marker` appears or `timeout`.
    std::string read_until(std::string_view marker, std::chrono::milliseconds timeout = 5s);

    // Waits up to `wait` for the peer to close TCP (discarding anything it sends); true if it did.
    bool peer_closed(std::chrono::milliseconds wait);

    int fd() const { return fd_; }

private:
    TestClient() = default;
    void connect_tcp(std::uint16_t port);
    // Reads more bytes into buffer_; false on timeout, EOF or error (sets eof_).
    bool fill(std::chrono::steady_clock::time_point deadline);

    int fd_ = -1;
    bool eof_ = false;
    std::string buffer_;
    net::ws::MessageReader reader_{net::ws::peer::server, net::ws::ReaderLimits{64 * 1024 * 1024}};
};

// A JSON field as a string, "" if absent or not a string.
std::string str(const boost::json::object& o, std::string_view key);

} // namespace parley::testing
