// The tests' WebSocket client over a blocking socket with poll() deadlines.
#include "test_client.hpp"

#include "net/ws_handshake.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <stdexcept>

namespace parley::testing {

namespace {

std::array<std::uint8_t, 4> random_mask() {
    static thread_local std::mt19937 rng{std::random_device{}()};
    std::array<std::uint8_t, 4> m{};
    for (auto& b : m) {
        b = static_cast<std::uint8_t>(rng());
    }
    return m;
}

} // namespace

void TestClient::connect_tcp(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        throw std::runtime_error("connect to port " + std::to_string(port) + " failed");
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

TestClient TestClient::raw(std::uint16_t port) {
    TestClient c;
    c.connect_tcp(port);
    return c;
}

TestClient::TestClient(std::uint16_t port, std::string_view path) {
    connect_tcp(port);
    const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
    send_bytes("GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n" +
               "Connection: Upgrade\r\nSec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n");
    const std::string head = read_until("\r\n\r\n");
    const auto end = head.find("\r\n\r\n");
    if (end == std::string::npos || head.rfind("HTTP/1.1 101", 0) != 0 ||
        head.find(net::ws::accept_key(key)) == std::string::npos) {
        throw std::runtime_error("upgrade refused: " + head);
    }
    buffer_ = head.substr(end + 4);
}

TestClient::TestClient(TestClient&& other) noexcept
    : fd_(other.fd_), eof_(other.eof_), buffer_(std::move(other.buffer_)), reader_(std::move(other.reader_)) {
    other.fd_ = -1;
}

TestClient::~TestClient() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void TestClient::send_bytes(std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) {
            throw std::runtime_error("send failed");
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

void TestClient::send_frame(net::ws::opcode op, std::string_view payload, bool fin) {
    std::string frame;
    net::ws::append_masked_frame(frame, op, payload, random_mask(), fin);
    send_bytes(frame);
}

void TestClient::send_text(std::string_view text) {
    send_frame(net::ws::opcode::text, text);
}

void TestClient::send_json(const boost::json::value& value) {
    send_text(boost::json::serialize(value));
}

boost::json::object TestClient::login(std::string_view user_id) {
    send_json({{"type", "login"}, {"user_id", user_id}});
    auto ok = receive_type("login_ok");
    // Stored messages come first; the session is live once "synced" arrives.
    receive_type("synced");
    return ok;
}

bool TestClient::fill(std::chrono::steady_clock::time_point deadline) {
    if (eof_) {
        return false;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        return false;
    }
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
        eof_ = true;
        return false;
    }
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
}

Received TestClient::receive(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::span<char> input(buffer_.data(), buffer_.size());
        auto event = reader_.next(input);
        if (!event) {
            throw std::runtime_error("server sent a bad frame: " + std::string(event.error().reason));
        }
        if (event->kind != net::ws::event_kind::need_more) {
            Received r{event->kind, std::string(event->payload), event->close_code};
            buffer_.erase(0, buffer_.size() - input.size());
            return r;
        }
        if (!fill(deadline)) {
            if (eof_) {
                return Received{net::ws::event_kind::close, {}, 1006};
            }
            return Received{};
        }
    }
}

boost::json::object TestClient::receive_json(std::chrono::milliseconds timeout) {
    const Received r = receive(timeout);
    if (r.kind != net::ws::event_kind::text) {
        throw std::runtime_error(r.kind == net::ws::event_kind::need_more
                                     ? "timed out waiting for a message"
                                     : "expected a text message, got kind " +
                                           std::to_string(static_cast<int>(r.kind)) + " code " +
                                           std::to_string(r.close_code));
    }
    return boost::json::parse(r.payload).as_object();
}

boost::json::object TestClient::receive_type(std::string_view type, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        auto o = receive_json(std::max(left, std::chrono::milliseconds(1)));
        if (str(o, "type") == type) {
            return o;
        }
    }
}

std::optional<std::uint16_t> TestClient::wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        const Received r = receive(left);
        if (r.kind == net::ws::event_kind::close) {
            return r.close_code;
        }
        if (r.kind == net::ws::event_kind::need_more) {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

std::string TestClient::read_all(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fill(deadline)) {
    }
    return std::exchange(buffer_, {});
}

std::string TestClient::read_until(std::string_view marker, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buffer_.find(marker) == std::string::npos && fill(deadline)) {
    }
    return std::exchange(buffer_, {});
}

bool TestClient::peer_closed(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (fill(deadline)) {
        buffer_.clear();
    }
    return eof_;
}

std::string str(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

} // namespace parley::testing
