// One client connection on one shard, for its whole life: HTTP requests (the web client,
// /healthz), then, after an upgrade, a WebSocket session speaking Parley's JSON protocol.
// Holds no read buffer while idle (reads go through the shard's buffer; only a partial frame is
// kept) and queues output as shared encoded messages, written with one gather write per loop pass.
// Runs on its shard's thread only.
#pragma once

#include "chat/router.hpp"
#include "chat/session_sink.hpp"
#include "net/close_reason.hpp"
#include "net/event_loop.hpp"
#include "net/held_bytes.hpp"
#include "net/token_bucket.hpp"
#include "net/ws_frame.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace parley::net {

class Shard;
class TlsSession;
enum class tls_status : unsigned char;
struct HttpRequest;

class Connection final : public chat::SessionSink,
                         public Pollable,
                         public std::enable_shared_from_this<Connection> {
public:
    using clock = std::chrono::steady_clock;

    // Takes ownership of `fd`, a connected non-blocking TCP socket. `peer_address` was admitted by
    // the shard's ConnectionLimiter; destroy() releases it.
    Connection(Shard& shard, int fd, std::string peer_address);
    ~Connection() override;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Registers with the shard's loop and starts reading. Called once, right after accept.
    void start();

    // Pollable: the socket became readable or writable (or failed).
    void on_ready(std::uint32_t events) override;

    // chat::SessionSink: queues a JSON text message for this loop pass's write. Refuses (and starts
    // closing the session with 1008) when the queue would exceed its byte limit.
    chat::send_result send(chat::SharedText text) override;
    std::size_t queued_bytes() const override { return out_bytes_; }
    void resume_reading() override;
    std::string peer_address() const override { return peer_address_; }
    void disconnect(std::string_view reason) override;

    // Writes everything queued, in one gather write if the socket takes it. Called by the shard at
    // the end of a loop pass, and when the socket becomes writable again.
    void flush();

    // Timeouts and pings, from the shard's tick.
    void tick(clock::time_point now);

    // Starts the close handshake (RFC 6455 §7.1.2): queue a close frame, stop taking messages,
    // wait for the peer's close (or close_timeout). Before the upgrade it just drops the connection.
    void close(ws::close_code code, close_reason why, std::string_view text = {});

    // Drops the connection now: no close frame. Safe to call more than once.
    void destroy(close_reason why);

    bool is_websocket() const { return phase_ == phase::websocket; }

    // Position in the shard's connection list, kept by the shard for O(1) removal (a shard holds
    // fewer than 2^32 connections: each is a file descriptor).
    std::uint32_t shard_slot = 0;
    // Set while the connection is in the shard's list of connections to flush this pass.
    bool in_dirty_list = false;

private:
    enum class phase : std::uint8_t {
        http,      // reading HTTP requests
        websocket, // upgraded: JSON messages in text frames
        closing,   // our close frame is queued or sent; waiting for the peer's
        closed,    // socket closed; waiting for the last handlers to release us
    };

    // A piece of output: a shared payload with the WebSocket header to put before it
    // (header_len 0: `bytes` is already complete, e.g. an HTTP response or control frame).
    struct OutChunk {
        chat::SharedText bytes;
        std::array<std::uint8_t, ws::max_header_bytes> header{};
        std::uint8_t header_len = 0;
        std::size_t size() const { return header_len + bytes.size(); }
    };

    // "Tell me when": the loop reports every change of readiness, and these say which reports
    // are wanted (no system call; the socket was registered once, ADR 009).
    void arm_read() { read_armed_ = phase_ != phase::closed; }
    void arm_write() { write_armed_ = phase_ != phase::closed; }
    void on_readable();
    // Handles freshly read bytes; `fresh` lives in the shard's read buffer.
    void consume(std::span<char> fresh);
    // Handles as many complete requests / frames as `input` holds; returns how many bytes it used.
    std::size_t handle_input(std::span<char> input);
    std::size_t handle_http(std::span<char> input);
    void respond_http(const HttpRequest& request);
    // Hands an API request to the auth thread; input waits until its reply is queued.
    // `cors_headers`: Access-Control-* lines for a page of another, allowed origin.
    void start_api_request(const HttpRequest& request, std::string cors_headers);
    void finish_api_request(int status, const std::string& body, const std::string& headers, bool keep_alive);
    // True while input must wait: a login or API request being checked, or too much in flight.
    bool input_paused() const;
    std::size_t handle_frames(std::span<char> input);
    // Counts a frame of `payload_bytes` against the flood limits; false if it must be dropped.
    bool admit_frame(std::size_t payload_bytes);
    void queue_raw(std::string bytes);
    void queue_control(ws::opcode op, std::string_view payload);
    void mark_dirty();
    void after_write_drained();
    // TLS (tls_ set): the same steps through OpenSSL. read_tls drains the session like
    // on_readable; write_tls hands the queue over one record at a time and returns true once it
    // is empty (false: a wait is armed, or the connection is gone).
    void read_tls();
    bool write_tls();
    // Waits as a blocked TLS call asks, or drops the connection.
    void wait_for_tls(tls_status status, bool reading);
    // Copies up to into.size() queued bytes, from the first not yet written, into `into`;
    // returns how many. The queue is unchanged until drop_output().
    std::size_t copy_output(std::span<char> into) const;
    // Forgets the first `n` queued bytes: they are written (or with OpenSSL).
    void drop_output(std::size_t n);

    // Members are ordered to leave no padding: every connected session holds one Connection.
    Shard& shard_;
    std::unique_ptr<TlsSession> tls_; // null on a plain TCP port
    int fd_;                          // -1 once closed
    phase phase_ = phase::http;
    close_reason close_reason_ = close_reason::none;
    bool read_armed_ = false;
    bool write_armed_ = false;
    // After the queue drains: HTTP connection: close; WebSocket: shut down our sending side.
    bool close_when_drained_ = false;
    bool peer_closed_ = false;
    bool api_pending_ = false;
    std::uint32_t dropped_in_a_row_ = 0;

    HeldBytes partial_; // bytes of an incomplete request or frame; nothing while idle
    ws::MessageReader reader_;
    chat::SessionState chat_;
    TokenBucketPair flood_; // frames and payload bytes per second
    std::string peer_address_;

    static constexpr std::size_t initial_queue_chunks = 8;
    std::vector<OutChunk> out_;
    std::uint32_t out_head_ = 0;      // first chunk not yet completely written
    std::uint32_t out_head_sent_ = 0; // bytes of out_[out_head_] already written (a chunk < 4 GiB)
    std::size_t out_bytes_ = 0;       // bytes queued and not yet written

    clock::time_point last_received_;
    // Where the current phase's timer counts from, one member for all phases: http: the start
    // of the current request; websocket: the last ping we sent; closing: our close frame.
    clock::time_point phase_timer_;
};

} // namespace parley::net
