// The whole server: N shards on N threads sharing one user directory, and the storage thread
// that owns the message store. No Asio in this header: app/ includes it.
#pragma once

#include "net/server_config.hpp"

#include <cstdint>
#include <memory>

namespace parley::store {
class MessageStore;
}

namespace parley::net {

class AuthWorker;

class Server {
public:
    // Binds every shard's listener. Throws std::system_error if the address cannot be used.
    // `auth` checks logins and serves the HTTP API; null only with config.auth_open.
    Server(ServerConfig config, std::unique_ptr<store::MessageStore> store,
           std::unique_ptr<AuthWorker> auth = nullptr);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // The port actually bound (differs from the configured one when that was 0).
    std::uint16_t port() const;
    // Starts one thread per shard.
    void start();
    // Closes every session with 1001 and stops the shards. Any thread; returns at once.
    void stop();
    // Blocks until every shard's thread has finished, then lets the storage thread finish what
    // was queued and stops it.
    void wait();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace parley::net
