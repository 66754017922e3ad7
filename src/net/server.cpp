// Builds the shards, binds them all to one port, runs each on its own thread.
#include "net/server.hpp"

#include "chat/clock.hpp"
#include "chat/directory.hpp"
#include "net/auth_worker.hpp"
#include "net/connection_limiter.hpp"
#include "net/shard.hpp"
#include "net/storage_worker.hpp"
#include "net/thread_name.hpp"
#include "net/tls.hpp"
#include "store/message_store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <sys/resource.h>

#include <chrono>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

namespace parley::net {

namespace {

class SystemClock final : public chat::Clock {
public:
    std::int64_t now_ms() const override {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
};

// SO_REUSEPORT lets any process of the same user join our port and take a share of our
// connections — including a second Parley started by mistake. Binding once without it first
// fails if anyone else holds the port, and turns port 0 into a concrete free port.
std::uint16_t claim_port(const boost::asio::ip::tcp::endpoint& endpoint) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor probe(io);
    boost::system::error_code ec;
    probe.open(endpoint.protocol(), ec);
    if (!ec) {
        probe.set_option(boost::asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        probe.bind(endpoint, ec);
    }
    if (ec) {
        throw std::system_error(ec.value(), std::system_category(),
                                "cannot listen on " + endpoint.address().to_string() + ":" +
                                    std::to_string(endpoint.port()));
    }
    return probe.local_endpoint().port();
}

// Connections the process can hold: its file limit, less some for the store, logs and listeners.
std::size_t connections_the_file_limit_allows() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
        return 0;
    }
    constexpr rlim_t reserved = 64;
    return limit.rlim_cur > reserved ? static_cast<std::size_t>(limit.rlim_cur - reserved) : 1;
}

} // namespace

struct Server::Impl final : chat::ShardPoster {
    ServerConfig config;
    SystemClock clock;
    chat::Directory directory;
    std::unique_ptr<ConnectionLimiter> limiter;
    std::unique_ptr<AuthWorker> auth;
    std::unique_ptr<TlsContext> tls; // null: plain TCP
    std::unique_ptr<StorageWorker> storage;
    std::vector<std::unique_ptr<Shard>> shards;
    std::vector<std::thread> threads;

    void post(unsigned shard, std::vector<chat::Delivery> batch) override {
        shards.at(shard)->deliver(std::move(batch));
    }
};

Server::Server(ServerConfig config, std::unique_ptr<store::MessageStore> store,
               std::unique_ptr<AuthWorker> auth)
    : impl_(std::make_unique<Impl>()) {
    impl_->config = std::move(config);
    ServerConfig& c = impl_->config;
    if (c.threads == 0 || c.threads > chat::max_shards) {
        throw std::invalid_argument("threads must be between 1 and " + std::to_string(chat::max_shards));
    }
    if (c.tls_cert.empty() != c.tls_key.empty()) {
        throw std::invalid_argument(
            std::string("TLS needs both --tls-cert and --tls-key (tls_cert and tls_key); "
                        "only ") +
            (c.tls_cert.empty() ? "--tls-key" : "--tls-cert") + " was given");
    }
    if (!c.tls_cert.empty()) {
        impl_->tls = std::make_unique<TlsContext>(c.tls_cert, c.tls_key);
    }
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(c.listen_host, ec);
    if (ec) {
        throw std::invalid_argument("listen address '" + c.listen_host + "' is not an IP address");
    }
    boost::asio::ip::tcp::endpoint endpoint(address, c.listen_port);
    endpoint.port(claim_port(endpoint));
    if (!c.auth_open && auth == nullptr) {
        throw std::invalid_argument("a server that does not trust user ids needs an AuthWorker");
    }
    impl_->auth = std::move(auth);
    const std::size_t max_total =
        c.max_connections != 0 ? c.max_connections : connections_the_file_limit_allows();
    impl_->limiter = std::make_unique<ConnectionLimiter>(max_total, c.max_connections_per_ip);
    impl_->storage =
        std::make_unique<StorageWorker>(std::move(store), impl_->directory, *impl_, impl_->clock, c.storage);
    ShardServices services{impl_->directory, *impl_->storage, impl_->clock, *impl_->limiter};
    services.verifier = impl_->auth.get();
    services.api = impl_->auth.get();
    services.tls = impl_->tls.get();
    for (unsigned i = 0; i < c.threads; ++i) {
        auto shard = std::make_unique<Shard>(i, c, services);
        shard->listen(endpoint);
        impl_->shards.push_back(std::move(shard));
    }
    if (impl_->auth) {
        Impl* impl = impl_.get();
        impl_->auth->link(AuthWorker::Links{[impl](unsigned shard, std::function<void()> task) {
                                                impl->shards.at(shard)->post(std::move(task));
                                            },
                                            [impl](const auth::Revocation& r) {
                                                for (auto& shard : impl->shards) {
                                                    shard->post([s = shard.get(), r] {
                                                        s->router().disconnect_user(r.user, r.token_tag,
                                                                                    r.reason);
                                                    });
                                                }
                                            }});
    }
}

Server::~Server() {
    stop();
    wait();
}

std::uint16_t Server::port() const {
    return impl_->shards.front()->local_port();
}

void Server::start() {
    impl_->storage->start();
    if (impl_->auth) {
        impl_->auth->start();
    }
    for (std::size_t i = 0; i < impl_->shards.size(); ++i) {
        impl_->threads.emplace_back([s = impl_->shards[i].get(), i] {
            name_this_thread("parley-shard-" + std::to_string(i));
            s->run();
        });
    }
}

void Server::stop() {
    for (auto& shard : impl_->shards) {
        shard->begin_shutdown();
    }
}

void Server::wait() {
    for (auto& t : impl_->threads) {
        if (t.joinable()) {
            t.join();
        }
    }
    if (impl_->auth) {
        impl_->auth->stop();
    }
    // The shards are done: what they queued (chats in flight, offline marks) is stored before the
    // store closes.
    impl_->storage->stop();
}

} // namespace parley::net
