// A shard's event loop: accept, end-of-pass flushing, ticks, cross-shard posts, shutdown.
#include "net/shard.hpp"

#include "net/connection.hpp"
#include "net/connection_limiter.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include <sys/socket.h>

#include <algorithm>
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
      byte_limit_{config.max_bytes_per_second, config.max_bytes_burst}, tls_(services.tls), acceptor_(io_),
      tick_timer_(io_), accept_retry_timer_(io_), shutdown_timer_(io_),
      router_(router_config(index, config, services), services.directory, *this, services.storage),
      read_buffer_(read_buffer_bytes) {}

Shard::~Shard() = default;

void Shard::listen(const boost::asio::ip::tcp::endpoint& endpoint) {
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) {
        acceptor_.set_option(boost::asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        // Every shard listens on the same port; the kernel spreads connections across them.
        const int one = 1;
        if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
            ec.assign(errno, boost::system::system_category());
        }
    }
    if (!ec) {
        acceptor_.bind(endpoint, ec);
    }
    if (!ec) {
        acceptor_.listen(4096, ec);
    }
    if (ec) {
        throw std::system_error(ec.value(), std::system_category(),
                                "cannot listen on " + endpoint.address().to_string() + ":" +
                                    std::to_string(endpoint.port()));
    }
}

std::uint16_t Shard::local_port() const {
    return acceptor_.local_endpoint().port();
}

void Shard::run() {
    accept_next();
    schedule_tick();
    io_.run();
}

void Shard::accept_next() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, TcpSocket socket) {
        if (ec == boost::asio::error::operation_aborted || stopping_) {
            return;
        }
        if (ec) {
            // Out of file descriptors (20,000 here) or memory: back off instead of spinning on a
            // listener that stays readable.
            spdlog::warn("accept failed on shard {}: {}; retrying in 100 ms", index_, ec.message());
            accept_retry_timer_.expires_after(std::chrono::milliseconds(100));
            accept_retry_timer_.async_wait([this](const boost::system::error_code& wait_ec) {
                if (!wait_ec) {
                    accept_next();
                }
            });
            return;
        }
        boost::system::error_code endpoint_ec;
        const auto peer = socket.remote_endpoint(endpoint_ec);
        if (endpoint_ec) {
            accept_next(); // already gone
            return;
        }
        std::string address = peer.address().to_string();
        const auto verdict = services_.limiter.try_admit(address);
        if (verdict != ConnectionLimiter::verdict::admitted) {
            refuse(socket, verdict == ConnectionLimiter::verdict::too_many_from_address
                               ? "too many connections from your address"
                               : "the server is full");
            accept_next();
            return;
        }
        auto connection = std::make_shared<Connection>(*this, std::move(socket), std::move(address));
        connection->shard_slot = static_cast<std::uint32_t>(connections_.size());
        connections_.push_back(connection);
        connection->start();
        accept_next();
    });
}

void Shard::refuse(TcpSocket& socket, std::string_view why) {
    // One best-effort write so a person sees why; the socket is new, so its buffer has room.
    std::string response = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                           "Connection: close\r\nRetry-After: 10\r\nContent-Length: " +
                           std::to_string(why.size() + 1) + "\r\n\r\n" + std::string(why) + "\n";
    [[maybe_unused]] const auto sent =
        ::send(socket.native_handle(), response.data(), response.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    spdlog::debug("refused a connection: {}", why);
    boost::system::error_code ec;
    socket.close(ec);
}

void Shard::post(std::function<void()> task) {
    boost::asio::post(io_, std::move(task));
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
    // A handler posted from inside the loop runs after the handlers already queued, i.e. after
    // every connection made ready by this epoll pass: the batching point.
    boost::asio::post(io_, [this] { end_of_pass(); });
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
    boost::asio::post(io_, [this, batch = std::move(batch)]() mutable { router_.deliver(batch); });
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
    tick_timer_.expires_after(tick_period(config_));
    tick_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) {
            on_tick();
        }
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
    boost::asio::post(io_, [this] {
        if (stopping_) {
            return;
        }
        stopping_ = true;
        boost::system::error_code ec;
        acceptor_.close(ec);
        accept_retry_timer_.cancel();
        tick_timer_.cancel();
        if (connections_.empty()) {
            shutdown_now();
            return;
        }
        std::vector<std::shared_ptr<Connection>> all = connections_;
        for (auto& connection : all) {
            connection->close(ws::close_code::going_away, close_reason::shutdown);
        }
        // Ticks stop; a peer that never answers is dropped when the grace period ends.
        shutdown_timer_.expires_after(config_.shutdown_grace);
        shutdown_timer_.async_wait([this](const boost::system::error_code& wait_ec) {
            if (!wait_ec) {
                shutdown_now();
            }
        });
    });
}

void Shard::shutdown_now() {
    shutdown_timer_.cancel();
    std::vector<std::shared_ptr<Connection>> all = connections_;
    for (auto& connection : all) {
        connection->destroy(close_reason::shutdown);
    }
    io_.stop();
}

} // namespace parley::net
