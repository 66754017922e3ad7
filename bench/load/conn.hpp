// One client connection of the generator: a non-blocking socket to 127.0.0.1, the WebSocket
// upgrade, masked frames out (queued, written once per loop pass) and server frames in (through
// Parley's codec). Owned and used by one Worker thread; holds no buffer while idle, so 19,000
// of them fit in one process.
#pragma once

#include "net/ws_frame.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include <sys/socket.h>

namespace parley::bench {

enum class conn_state : std::uint8_t {
    closed,     // no socket
    connecting, // TCP connect in progress
    upgrading,  // HTTP upgrade request sent, waiting for 101
    logging_in, // login and a ping sent, waiting for the pong that proves the login was handled
    ready,      // logged in
    closing,    // close frame sent, waiting for the server to close TCP
};

// For error messages: "upgrading", "logged in", ...
const char* to_string(conn_state state);

enum class io_result { ok, eof, failed };

// Why a read failed, for the error count and the first-error message.
struct ReadFailure {
    std::string what;
};

class Conn {
public:
    explicit Conn(std::uint32_t user);

    // Starts a non-blocking TCP connect from 127.0.0.`source` to 127.0.0.1:port and registers
    // the socket with `epoll_fd` (edge-triggered, in and out) under `tag`. Returns 0 or an errno.
    int open(std::uint8_t source, std::uint16_t port, int epoll_fd, std::uint64_t tag);
    // Called when the socket first turns writable while connecting: 0 if the connect succeeded
    // (and the upgrade request is queued), else its errno.
    int finish_connect(std::uint16_t port, std::string_view path);
    // Closes the socket. `abort` resets it (SO_LINGER 0): used when a peer does not answer in
    // time, so no socket lingers past the run.
    void close_socket(bool abort);

    // Queues one masked frame for the next flush().
    void queue_frame(net::ws::opcode op, std::string_view payload);
    // Bytes queued and not yet written.
    std::size_t queued_bytes() const { return out_.size() - out_sent_; }
    // Writes what is queued; what the socket does not take waits for the next call.
    io_result flush();
    bool has_output() const { return !out_.empty(); }

    // Reads everything available into `buffer` (the thread's), handles the upgrade response, and
    // calls handler.on_upgraded() once, then handler.on_message(const net::ws::Event&) for every
    // message and control frame. Views passed to the handler live until it returns. On failure
    // `failure` says why. `peer_closed`: epoll reported the peer's FIN, so read on to the end of
    // the stream (no further edge will come to announce it).
    template <class Handler>
    io_result read(std::span<char> buffer, Handler& handler, ReadFailure& failure, bool peer_closed);

    std::uint32_t user() const { return user_; }
    int fd() const { return fd_; }

    conn_state state = conn_state::closed;
    // Listed for this pass's flush (set by the worker, which owns the list).
    bool dirty = false;
    // Listed to top up its window at the end of this pass.
    bool wants_send = false;
    // Login progress: which of the server's answers have arrived.
    bool got_login_ok = false;
    bool got_pong = false;
    bool got_synced = false;
    bool awaiting_synced = false;
    // Sender side of the scenario: messages in flight, next sequence number, sent count.
    std::uint32_t in_flight = 0;
    std::uint32_t next_seq = 0;
    // When the current connect started (reconnect latency) or the close frame went (close timeout).
    std::int64_t since_ns = 0;

private:
    // Checks the 101 response at the front of `input` and consumes it; false if not a valid
    // upgrade; need_more set if the headers have not all arrived.
    bool take_upgrade_response(std::span<char>& input, bool& need_more, ReadFailure& failure);
    std::array<std::uint8_t, 4> next_mask();

    int fd_ = -1;
    std::uint32_t user_;
    // Which upgrade of this connection's life we are in: the handshake key derives from it.
    std::uint32_t attempt_ = 0;
    std::uint32_t mask_state_;
    std::string out_;
    std::size_t out_sent_ = 0;
    // A frame (or upgrade response) cut by the end of a read; empty nearly always.
    std::string partial_;
    net::ws::MessageReader reader_;
};

template <class Handler>
io_result Conn::read(std::span<char> buffer, Handler& handler, ReadFailure& failure, bool peer_closed) {
    std::size_t have = partial_.size();
    if (have > 0) {
        partial_.copy(buffer.data(), have);
        partial_.clear();
    }
    io_result result = io_result::ok;
    for (;;) {
        const std::size_t room = buffer.size() - have;
        const ssize_t n = ::recv(fd_, buffer.data() + have, room, 0);
        if (n == 0) {
            result = io_result::eof;
            break;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                failure.what = "recv failed";
                result = io_result::failed;
            }
            break;
        }
        have += static_cast<std::size_t>(n);
        std::span<char> input = buffer.first(have);
        if (state == conn_state::upgrading) {
            bool need_more = false;
            if (!take_upgrade_response(input, need_more, failure)) {
                return io_result::failed;
            }
            if (need_more) {
                if (have == buffer.size()) {
                    failure.what = "upgrade response too long";
                    return io_result::failed;
                }
                continue;
            }
            handler.on_upgraded(*this);
        }
        for (;;) {
            auto event = reader_.next(input);
            if (!event) {
                failure.what = event.error().reason;
                return io_result::failed;
            }
            if (event->kind == net::ws::event_kind::need_more) {
                break;
            }
            handler.on_message(*this, *event);
        }
        // Keep the incomplete frame at the front for the next recv.
        have = input.size();
        if (have > 0 && input.data() != buffer.data()) {
            std::memmove(buffer.data(), input.data(), have);
        }
        if (have == buffer.size()) {
            failure.what = "frame larger than the read buffer";
            return io_result::failed;
        }
        // A short read emptied the socket: edge-triggered epoll reports the next arrival, so
        // the recv that would only say EAGAIN is skipped. Not so for a FIN that came with the
        // data: its edge is this one.
        if (static_cast<std::size_t>(n) < room && !peer_closed) {
            break;
        }
    }
    if (have > 0) {
        partial_.assign(buffer.data(), have);
    }
    return result;
}

} // namespace parley::bench
