// The socket side of a generator connection. Every socket is non-blocking with TCP_NODELAY (a
// chat message is one small frame; Nagle would add the latency we are trying to measure).
#include "conn.hpp"

#include "net/ws_handshake.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

namespace parley::bench {
namespace {

// RFC 4648 base64, for the 16-byte Sec-WebSocket-Key.
std::string base64(std::span<const std::uint8_t> bytes) {
    static constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v =
            (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
        out.push_back(alphabet[(v >> 18) & 63]);
        out.push_back(alphabet[(v >> 12) & 63]);
        out.push_back(alphabet[(v >> 6) & 63]);
        out.push_back(alphabet[v & 63]);
    }
    if (bytes.size() - i == 1) {
        const std::uint32_t v = std::uint32_t{bytes[i]} << 16;
        out.push_back(alphabet[(v >> 18) & 63]);
        out.push_back(alphabet[(v >> 12) & 63]);
        out += "==";
    } else if (bytes.size() - i == 2) {
        const std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8);
        out.push_back(alphabet[(v >> 18) & 63]);
        out.push_back(alphabet[(v >> 12) & 63]);
        out.push_back(alphabet[(v >> 6) & 63]);
        out.push_back('=');
    }
    return out;
}

// RFC 6455 §4.1 wants the key random; the server only checks its form and echoes its hash, so a
// key derived from (user, attempt) is enough and lets us recompute it to check the answer.
std::string handshake_key(std::uint32_t user, std::uint32_t attempt) {
    std::array<std::uint8_t, 16> bytes{};
    std::uint64_t x = (std::uint64_t{user} << 32 | attempt) * 0x9E3779B97F4A7C15ULL;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        x ^= x >> 29;
        x *= 0xBF58476D1CE4E5B9ULL;
        bytes[i] = static_cast<std::uint8_t>(x >> 56);
    }
    return base64(bytes);
}

// The value of header `name` in an HTTP response head, spaces trimmed; empty if absent.
std::string_view header_value(std::string_view head, std::string_view name) {
    std::size_t at = head.find("\r\n");
    while (at != std::string_view::npos && at + 2 < head.size()) {
        const std::size_t start = at + 2;
        const std::size_t end = head.find("\r\n", start);
        const std::string_view line = head.substr(start, end - start);
        if (line.size() > name.size() && line[name.size()] == ':' &&
            strncasecmp(line.data(), name.data(), name.size()) == 0) {
            std::string_view value = line.substr(name.size() + 1);
            while (!value.empty() && value.front() == ' ') {
                value.remove_prefix(1);
            }
            while (!value.empty() && value.back() == ' ') {
                value.remove_suffix(1);
            }
            return value;
        }
        at = end;
    }
    return {};
}

// The generator reads small server frames only; a bound catches a server gone wrong.
constexpr std::size_t max_server_message_bytes = 1 << 20;
constexpr std::size_t max_upgrade_response_bytes = 8192;

} // namespace

const char* to_string(conn_state state) {
    switch (state) {
    case conn_state::closed:
        return "closed";
    case conn_state::connecting:
        return "connecting";
    case conn_state::upgrading:
        return "upgrading";
    case conn_state::logging_in:
        return "logging in";
    case conn_state::ready:
        return "logged in";
    case conn_state::closing:
        return "closing";
    }
    return "?";
}

Conn::Conn(std::uint32_t user)
    : user_(user), mask_state_(user * 2654435761U + 1),
      reader_(net::ws::peer::server, net::ws::ReaderLimits{max_server_message_bytes}) {}

int Conn::open(std::uint8_t source, std::uint16_t port, int epoll_fd, std::uint64_t tag) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        return errno;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (source != 1) {
        // The port is still picked by connect() (IP_BIND_ADDRESS_NO_PORT), per source address.
        ::setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in from{};
        from.sin_family = AF_INET;
        from.sin_addr.s_addr = htonl((127U << 24) | source);
        if (::bind(fd_, reinterpret_cast<const sockaddr*>(&from), sizeof from) != 0) {
            const int error = errno;
            close_socket(true);
            return error;
        }
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 &&
        errno != EINPROGRESS) {
        const int error = errno;
        close_socket(true);
        return error;
    }
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.u64 = tag;
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd_, &event) != 0) {
        const int error = errno;
        close_socket(true);
        return error;
    }
    state = conn_state::connecting;
    return 0;
}

int Conn::finish_connect(std::uint16_t port, std::string_view path) {
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
        return errno;
    }
    if (error != 0) {
        return error;
    }
    ++attempt_;
    out_ += "GET ";
    out_ += path;
    out_ += " HTTP/1.1\r\nHost: 127.0.0.1:";
    out_ += std::to_string(port);
    out_ += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: ";
    out_ += handshake_key(user_, attempt_);
    out_ += "\r\n\r\n";
    state = conn_state::upgrading;
    return 0;
}

void Conn::close_socket(bool abort) {
    if (fd_ >= 0) {
        if (abort) {
            const linger reset{1, 0};
            ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        }
        ::close(fd_); // also removes it from the epoll set
        fd_ = -1;
    }
    state = conn_state::closed;
    got_login_ok = false;
    got_pong = false;
    got_synced = false;
    awaiting_synced = false;
    out_.clear();
    out_sent_ = 0;
    std::string().swap(partial_);
    // A fresh reader: the next connection of this user starts with no fragment state.
    reader_ = net::ws::MessageReader(net::ws::peer::server, net::ws::ReaderLimits{max_server_message_bytes});
}

std::array<std::uint8_t, 4> Conn::next_mask() {
    // xorshift32: RFC 6455 §5.3 wants unpredictable keys against proxy cache poisoning, which a
    // loopback benchmark does not face; the server only needs a key.
    mask_state_ ^= mask_state_ << 13;
    mask_state_ ^= mask_state_ >> 17;
    mask_state_ ^= mask_state_ << 5;
    std::array<std::uint8_t, 4> key{};
    std::memcpy(key.data(), &mask_state_, key.size());
    return key;
}

void Conn::queue_frame(net::ws::opcode op, std::string_view payload) {
    net::ws::append_masked_frame(out_, op, payload, next_mask());
}

io_result Conn::flush() {
    while (out_sent_ < out_.size()) {
        const ssize_t n = ::send(fd_, out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
        if (n > 0) {
            out_sent_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return io_result::ok; // EPOLLOUT (edge-triggered) calls us again
        }
        return io_result::failed;
    }
    out_.clear();
    out_sent_ = 0;
    return io_result::ok;
}

bool Conn::take_upgrade_response(std::span<char>& input, bool& need_more, ReadFailure& failure) {
    const std::string_view bytes(input.data(), input.size());
    const std::size_t end = bytes.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        need_more = bytes.size() < max_upgrade_response_bytes;
        if (!need_more) {
            failure.what = "upgrade response too long";
        }
        return need_more;
    }
    const std::string_view head = bytes.substr(0, end + 2);
    if (head.rfind("HTTP/1.1 101", 0) != 0) {
        failure.what = "upgrade refused (no 101): " + std::string(head.substr(0, head.find('\r')));
        return false;
    }
    if (header_value(head, "Sec-WebSocket-Accept") != net::ws::accept_key(handshake_key(user_, attempt_))) {
        failure.what = "wrong Sec-WebSocket-Accept";
        return false;
    }
    input = input.subspan(end + 4);
    return true;
}

} // namespace parley::bench
