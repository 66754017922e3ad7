// A shard: one thread, one event loop, its own SO_REUSEPORT listener, its own Router and the
// connections accepted on it, for their whole life. Inside a shard nothing is locked; the storage
// thread reaches it only by posting batches of deliveries to its loop (deliver()).
#pragma once

#include "chat/router.hpp"
#include "net/event_loop.hpp"
#include "net/server_config.hpp"
#include "net/token_bucket.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace parley::net {

class Connection;
class TlsContext;
class ConnectionLimiter;
class HttpApi;

// What the server shares with each shard. The referenced objects outlive the shard.
struct ShardServices {
    chat::Directory& directory;
    chat::StorageQueue& storage;
    const chat::Clock& clock;
    ConnectionLimiter& limiter;
    chat::LoginVerifier* verifier = nullptr; // null in `--auth open`
    HttpApi* api = nullptr;                  // null in `--auth open`
    const TlsContext* tls = nullptr;         // every connection speaks TLS with it; null: plain TCP
};

class Shard final : public chat::ShardLink {
public:
    Shard(unsigned index, const ServerConfig& config, const ShardServices& services);
    ~Shard() override;
    Shard(const Shard&) = delete;
    Shard& operator=(const Shard&) = delete;

    // Binds and listens on `endpoint` with SO_REUSEPORT. Throws std::system_error (startup).
    void listen(const boost::asio::ip::tcp::endpoint& endpoint);
    std::uint16_t local_port() const;

    // The thread body: accepts, serves, returns after shutdown. Runs on the shard's thread.
    void run();
    // Stops accepting, closes every session with 1001, and lets run() return once they are gone
    // or the grace period ends. Any thread.
    void begin_shutdown();

    // Hands deliveries from the storage thread to this shard's Router, in order. Any thread.
    void deliver(std::vector<chat::Delivery> batch);

    // chat::ShardLink. Runs on this shard's thread.
    void request_flush() override;

    // Runs `task` on this shard's thread (auth verdicts, API replies, revocations). Any thread.
    void post(std::function<void()> task);

    // For connections. Run on this shard's thread.
    const ServerConfig& config() const { return config_; }
    // The per-connection limits of config(), in the form the connections' buckets take.
    const RateLimit& frame_limit() const { return frame_limit_; }
    const RateLimit& byte_limit() const { return byte_limit_; }
    const TlsContext* tls() const { return tls_; }
    chat::Router& router() { return router_; }
    HttpApi* api() { return services_.api; }
    ConnectionLimiter& limiter() { return services_.limiter; }
    unsigned index() const { return index_; }
    std::span<char> read_buffer() { return read_buffer_; }
    EventLoop& loop() { return loop_; }
    void mark_dirty(std::shared_ptr<Connection> connection);
    void remove(Connection& connection);

private:
    // The listening socket's entry in the loop (level-triggered: a backlog left over after one
    // pass's accepts is reported again).
    struct Listener final : Pollable {
        Shard* shard = nullptr;
        int fd = -1;
        void on_ready(std::uint32_t /*events*/) override { shard->accept_ready(); }
    };

    void accept_ready();
    // Out of descriptors or memory: stop watching the listener for a while instead of spinning.
    void pause_accepting();
    void admit(int fd);
    // Answers a connection over a limit with a 503 and closes it.
    static void refuse(int fd, std::string_view why);
    void schedule_tick();
    void on_tick();
    void end_of_pass();
    void shutdown_now();

    unsigned index_;
    const ServerConfig& config_;
    ShardServices services_;
    RateLimit frame_limit_;
    RateLimit byte_limit_;
    const TlsContext* tls_;
    EventLoop loop_;
    Listener listener_;
    EventLoop::TimerId tick_timer_ = 0;
    EventLoop::TimerId accept_retry_timer_ = 0;
    EventLoop::TimerId shutdown_timer_ = 0;
    chat::Router router_;
    std::vector<std::shared_ptr<Connection>> connections_;
    std::vector<std::shared_ptr<Connection>> dirty_;
    bool end_of_pass_posted_ = false;
    bool stopping_ = false;
    // One read buffer for every connection of the shard: reads are handled to completion before
    // the next, so no connection needs its own while idle.
    std::vector<char> read_buffer_;
};

} // namespace parley::net
