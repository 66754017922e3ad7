// A shard's event loop: accept, end-of-pass flushing, ticks, cross-shard posts, shutdown.
#include "net/shard.hpp"

#include "net/connection.hpp"
#include "net/connection_limiter.hpp"

#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace parley::net {

namespace {

// Ticks drive timeouts and pings; a quarter of the shortest interval keeps them within 25 %.
std::chrono::milliseconds tick_period(const ServerConfig& c) {
    const auto shortest = std::min({c.ping_interval, c.idle_timeout, c.handshake_timeout, c.close_timeout});
    return std::clamp(shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

// Enough for a burst of frames from one read without a second recv; the kernel rarely hands
// over more at once.
constexpr std::size_t read_buffer_bytes = 64 * 1024;

// The peer's address as the connection limiter and the logs name it ("127.0.0.1", "::1"), or
// empty if the peer is already gone.
std::string peer_address_of(int fd) {
    sockaddr_storage address{};
    socklen_t size = sizeof address;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
        return {};
    }
    std::array<char, INET6_ADDRSTRLEN> text{};
    const void* raw =
        address.ss_family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&address)->sin_addr);
    if (::inet_ntop(address.ss_family, raw, text.data(), text.size()) == nullptr) {
        return {};
    }
    return text.data();
}

chat::Router::Config router_config(unsigned index, const ServerConfig& config,
                                   const ShardServices& services) {
    chat::Router::Config c;
    c.shard = index;
    c.limits = config.protocol;
    c.verifier = config.auth_open ? nullptr : services.verifier;
    c.fold_user_ids = config.fold_user_ids;
    c.user_limits = config.user_limits;
    c.clock = &services.clock;
    return c;
}

} // namespace

Shard::Shard(unsigned index, const ServerConfig& config, const ShardServices& services)
    : index_(index), config_(config),
      services_(services), frame_limit_{config.max_frames_per_second, config.max_frames_burst},
      byte_limit_{config.max_bytes_per_second, config.max_bytes_burst}, tls_(services.tls),
      router_(router_config(index, config, services), services.directory, *this, services.storage),
      read_buffer_(read_buffer_bytes) {
    listener_.shard = this;
}

Shard::~Shard() {
    // The connections close their own sockets; the listener is ours.
    if (listener_.fd >= 0) {
        ::close(listener_.fd);
    }
}

void Shard::listen(const boost::asio::ip::tcp::endpoint& endpoint) {
    const auto fail = [&endpoint](int error) {
        throw std::system_error(error, std::system_category(),
                                "cannot listen on " + endpoint.address().to_string() + ":" +
                                    std::to_string(endpoint.port()));
    };
    const int fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail(errno);
    }
    listener_.fd = fd;
    const int one = 1;
    // Every shard listens on the same port; the kernel spreads connections across them.
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        ::bind(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0 ||
        ::listen(fd, 4096) != 0) {
        fail(errno);
    }
}

std::uint16_t Shard::local_port() const {
    sockaddr_storage address{};
    socklen_t size = sizeof address;
    if (::getsockname(listener_.fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
        return 0;
    }
    if (address.ss_family == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
    }
    return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

void Shard::run() {
    if (const int error = loop_.watch(listener_.fd, listener_, EPOLLIN); error != 0) {
        spdlog::error("shard {} cannot watch its listener: {}", index_, std::strerror(error));
        return;
    }
    schedule_tick();
    loop_.run();
}

void Shard::accept_ready() {
    // A bounded number per pass, so a connection storm cannot starve the sessions; the listener
    // is level-triggered and is reported again while its backlog is not empty.
    for (int i = 0; i < 64 && !stopping_; ++i) {
        const int fd = ::accept4(listener_.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            admit(fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            pause_accepting();
        }
        return;
    }
}

void Shard::pause_accepting() {
    // Out of file descriptors (20,000 here) or memory: back off instead of spinning on a
    // listener that stays readable.
    spdlog::warn("accept failed on shard {}: {}; retrying in 100 ms", index_, std::strerror(errno));
    loop_.forget(listener_.fd, listener_);
    accept_retry_timer_ = loop_.schedule(EventLoop::clock::now() + std::chrono::milliseconds(100), [this] {
        accept_retry_timer_ = 0;
        if (!stopping_) {
            loop_.watch(listener_.fd, listener_, EPOLLIN);
        }
    });
}

void Shard::admit(int fd) {
    std::string address = peer_address_of(fd);
    if (address.empty()) {
        ::close(fd); // already gone
        return;
    }
    const auto verdict = services_.limiter.try_admit(address);
    if (verdict != ConnectionLimiter::verdict::admitted) {
        refuse(fd, verdict == ConnectionLimiter::verdict::too_many_from_address
                       ? "too many connections from your address"
                       : "the server is full");
        return;
    }
    auto connection = std::make_shared<Connection>(*this, fd, std::move(address));
    connection->shard_slot = static_cast<std::uint32_t>(connections_.size());
    connections_.push_back(connection);
    connection->start();
}

void Shard::refuse(int fd, std::string_view why) {
    // One best-effort write so a person sees why; the socket is new, so its buffer has room.
    std::string response = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                           "Connection: close\r\nRetry-After: 10\r\nContent-Length: " +
                           std::to_string(why.size() + 1) + "\r\n\r\n" + std::string(why) + "\n";
    [[maybe_unused]] const auto sent =
        ::send(fd, response.data(), response.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    spdlog::debug("refused a connection: {}", why);
    ::close(fd);
}

void Shard::post(std::function<void()> task) {
    loop_.post(std::move(task));
}

void Shard::mark_dirty(std::shared_ptr<Connection> connection) {
    connection->in_dirty_list = true;
    dirty_.push_back(std::move(connection));
    request_flush();
}

void Shard::request_flush() {
    if (end_of_pass_posted_) {
        return;
    }
    end_of_pass_posted_ = true;
    // Deferred tasks run after every connection made ready by this epoll pass: the batching point.
    loop_.defer([this] { end_of_pass(); });
}

void Shard::end_of_pass() {
    end_of_pass_posted_ = false;
    // Hand this pass's requests to the storage thread first: its answers can then overlap with
    // the writes below.
    router_.flush();
    // A flush can queue nothing new for another connection, but it can destroy its own: swap
    // the list out first so removals never touch the vector being walked.
    std::vector<std::shared_ptr<Connection>> dirty;
    dirty.swap(dirty_);
    for (auto& connection : dirty) {
        connection->in_dirty_list = false;
        connection->flush();
    }
    dirty.clear();
    if (dirty_.empty()) {
        dirty_.swap(dirty); // keep the capacity
    }
}

void Shard::deliver(std::vector<chat::Delivery> batch) {
    loop_.post([this, batch = std::move(batch)]() mutable { router_.deliver(batch); });
}

void Shard::remove(Connection& connection) {
    const std::size_t slot = connection.shard_slot;
    if (slot >= connections_.size() || connections_[slot].get() != &connection) {
        return;
    }
    if (slot + 1 != connections_.size()) {
        connections_[slot] = std::move(connections_.back());
        connections_[slot]->shard_slot = static_cast<std::uint32_t>(slot);
    }
    connections_.pop_back();
    if (stopping_ && connections_.empty()) {
        shutdown_now();
    }
}

void Shard::schedule_tick() {
    tick_timer_ = loop_.schedule(EventLoop::clock::now() + tick_period(config_), [this] {
        tick_timer_ = 0;
        on_tick();
    });
}

void Shard::on_tick() {
    const auto now = std::chrono::steady_clock::now();
    // Backwards, holding each connection: tick() may remove it, which moves the last one into its
    // slot, and the last one was already ticked.
    for (std::size_t i = connections_.size(); i-- > 0;) {
        if (i >= connections_.size()) {
            continue;
        }
        std::shared_ptr<Connection> connection = connections_[i];
        connection->tick(now);
    }
    if (!stopping_) {
        schedule_tick();
    }
}

void Shard::begin_shutdown() {
    loop_.post([this] {
        if (stopping_) {
            return;
        }
        stopping_ = true;
        loop_.forget(listener_.fd, listener_);
        ::close(listener_.fd);
        listener_.fd = -1;
        loop_.cancel(accept_retry_timer_);
        loop_.cancel(tick_timer_);
        if (connections_.empty()) {
            shutdown_now();
            return;
        }
        std::vector<std::shared_ptr<Connection>> all = connections_;
        for (auto& connection : all) {
            connection->close(ws::close_code::going_away, close_reason::shutdown);
        }
        // Ticks stop; a peer that never answers is dropped when the grace period ends.
        shutdown_timer_ = loop_.schedule(EventLoop::clock::now() + config_.shutdown_grace, [this] {
            shutdown_timer_ = 0;
            shutdown_now();
        });
    });
}

void Shard::shutdown_now() {
    loop_.cancel(shutdown_timer_);
    std::vector<std::shared_ptr<Connection>> all = connections_;
    for (auto& connection : all) {
        connection->destroy(close_reason::shutdown);
    }
    loop_.stop();
}

} // namespace parley::net
