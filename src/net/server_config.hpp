// Everything the network layer needs to know, with defaults. Filled by app/config from the
// TOML file, PARLEY_* environment variables and flags. No Asio here: app/ includes it.
#pragma once

#include "chat/send_budget.hpp"
#include "chat/storage_engine.hpp"
#include "net/http_request.hpp"
#include "net/origin_policy.hpp"
#include "protocol/limits.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace parley::net {

struct ServerConfig {
    // Every interface, the seed's port: the seed page connects to ws://127.0.0.1:2346.
    std::string listen_host = "0.0.0.0";
    std::uint16_t listen_port = 2346;
    // One shard (thread + event loop) per core.
    unsigned threads = 1;

    protocol::Limits protocol;
    HttpLimits http;

    // A whole WebSocket message: a 64 KiB chat text escaped as JSON fits with room to spare.
    std::size_t max_frame_bytes = 256 * 1024;
    // Output queued for one session. A reader that lets it fill is not reading: closed with 1008.
    std::size_t max_send_queue_bytes = 1024 * 1024;

    // Idle sessions are pinged this often so NATs keep the flow and dead peers are found.
    std::chrono::milliseconds ping_interval{30'000};
    // A session that sends nothing (not even a pong) for this long is closed.
    std::chrono::milliseconds idle_timeout{75'000};
    // A connection must finish its HTTP request / upgrade within this time.
    std::chrono::milliseconds handshake_timeout{10'000};
    // How long a closing session may take to answer our close frame before we drop it.
    std::chrono::milliseconds close_timeout{2'000};
    // On SIGINT/SIGTERM, how long sessions get to receive their close frames.
    std::chrono::milliseconds shutdown_grace{3'000};

    // Frames per second one connection may send, sustained, and in a burst. A person types a few
    // messages a second; 200/s leaves room for bots and reconnect catch-up. 0 turns the limit off
    // (benchmarks).
    double max_frames_per_second = 200;
    double max_frames_burst = 400;
    // Bytes per second one connection may send (frame payloads), sustained and in a burst. The
    // burst must hold the largest frame. 0 turns the limit off.
    double max_bytes_per_second = 1024 * 1024;
    double max_bytes_burst = 4 * 1024 * 1024;

    // PEM certificate chain and private key. Both set: every connection on the port speaks TLS
    // (HTTPS, WSS). Both empty: plain TCP. One alone is a startup error.
    std::string tls_cert;
    std::string tls_key;
    bool tls() const { return !tls_cert.empty(); } // then the server's own origin is https://host
    // What one user may send over all of its devices: chats per second and chat bytes per second.
    chat::SendLimits user_limits{20, 100, 256 * 1024, 1024 * 1024};

    // Connections held at once, in all and from one address. 0: no limit (the total is still
    // bounded by the process's file limit; accept backs off when it is reached).
    std::size_t max_connections = 0;
    std::size_t max_connections_per_ip = 256;

    // Trust the client's user_id (the seed's behaviour, `--auth open`). Otherwise logins are
    // checked by the AuthWorker (password or jwt mode).
    bool auth_open = false;
    // Account names are case-folded (password mode): fold names clients write the same way.
    bool fold_user_ids = false;
    // Which web pages may open a WebSocket or call the API (besides the server's own origin).
    OriginPolicy origins;

    // Idempotency window, catch-up page size, retention.
    chat::StorageEngine::Options storage;
};

} // namespace parley::net
