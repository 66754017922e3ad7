// A connection's life: HTTP, upgrade, WebSocket frames in, batched output out, close handshake.
#include "net/connection.hpp"

#include "net/connection_limiter.hpp"
#include "net/http_api.hpp"
#include "net/http_request.hpp"
#include "net/http_response.hpp"
#include "net/origin_policy.hpp"
#include "net/shard.hpp"
#include "net/static_files.hpp"
#include "net/tls.hpp"
#include "net/ws_handshake.hpp"
#include "protocol/errc.hpp"

#include <spdlog/spdlog.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace parley::net {

namespace {

// A client that keeps sending this many frames past its rate limit is not slowing down.
constexpr std::uint32_t max_dropped_in_a_row = 100;

// The queue is copied into one contiguous buffer per shard thread (none per connection) before
// it goes to the kernel. Plain TCP sends up to all of it at once: the kernel copies one buffer
// far faster than the dozens of small iovecs a pass's frames would make (a header and a text
// each; `perf`, pairs of 100: `_copy_from_iter` 0.19 µs a message that way, 0.02 for the raw
// reference's one buffer). TLS takes records of at most 16 KiB (its largest plaintext record,
// RFC 8446 §5.1) from it.
thread_local std::array<char, 64 * 1024> output_staging;
constexpr std::size_t tls_record_bytes = 16 * 1024;

} // namespace

std::string_view to_string(close_reason why) {
    switch (why) {
    case close_reason::none:
        return "none";
    case close_reason::peer_closed:
        return "peer closed";
    case close_reason::io_error:
        return "i/o error";
    case close_reason::protocol_violation:
        return "protocol violation";
    case close_reason::slow_consumer:
        return "slow consumer (send queue full)";
    case close_reason::flood:
        return "flood (rate limit exceeded)";
    case close_reason::handshake_timeout:
        return "handshake timeout";
    case close_reason::idle_timeout:
        return "idle timeout";
    case close_reason::close_timeout:
        return "close timeout";
    case close_reason::http_done:
        return "http done";
    case close_reason::bad_request:
        return "bad http request";
    case close_reason::tls_failed:
        return "tls failed";
    case close_reason::shutdown:
        return "server shutdown";
    case close_reason::revoked:
        return "login revoked";
    }
    return "unknown";
}

Connection::Connection(Shard& shard, int fd, std::string peer_address)
    : shard_(shard), fd_(fd), reader_(ws::peer::client, ws::ReaderLimits{shard.config().max_frame_bytes}),
      flood_(shard.frame_limit(), shard.byte_limit(), clock::now()), peer_address_(std::move(peer_address)),
      last_received_(clock::now()), phase_timer_(last_received_) {}

Connection::~Connection() {
    if (fd_ >= 0) {
        ::close(fd_); // never started, or the shard is going away
    }
}

void Connection::start() {
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (const TlsContext* context = shard_.tls()) {
        // The handshake runs in the http phase, so the handshake timeout, counted from accept,
        // covers it.
        tls_ = TlsSession::create(*context, fd_);
        if (!tls_) {
            destroy(close_reason::io_error);
            return;
        }
    }
    arm_read();
    // Registering reports the socket's readiness as it is now: bytes that came with the
    // connection are read in this pass.
    if (const int error = shard_.loop().watch(fd_, *this); error != 0) {
        spdlog::warn("cannot watch a new connection: {}", std::strerror(error));
        destroy(close_reason::io_error);
    }
}

void Connection::on_ready(std::uint32_t events) {
    // What follows may close and release this connection; it lives until the report is handled.
    const auto self = shared_from_this();
    constexpr std::uint32_t failed = EPOLLERR | EPOLLHUP;
    if (write_armed_ && (events & (EPOLLOUT | failed)) != 0) {
        write_armed_ = false;
        flush();
    }
    if (read_armed_ && (events & (EPOLLIN | EPOLLRDHUP | failed)) != 0) {
        read_armed_ = false;
        on_readable();
    }
}

// ---- input ----------------------------------------------------------------------------------

void Connection::on_readable() {
    if (tls_) {
        read_tls();
        return;
    }
    // Read until the socket is drained: the shard's epoll set is edge-triggered, so bytes left
    // unread would not be reported again. Bytes arriving while we drain make a new report, which
    // the loop hands out after this returns and arm_read() has run (one thread, ADR 009); while
    // input is paused reports are ignored, and resume_reading() reads before waiting again.
    std::span<char> buffer = shard_.read_buffer();
    while (phase_ != phase::closed) {
        const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
        if (n > 0) {
            last_received_ = clock::now();
            consume(buffer.first(static_cast<std::size_t>(n)));
            if (input_paused()) {
                // Storage is behind this sender, or a login / API request is being checked: leave
                // the rest in the socket so TCP slows the sender down; resume_reading() follows
                // when acks or the verdict have come back.
                chat_.reading_paused = true;
                return;
            }
            if (static_cast<std::size_t>(n) < buffer.size()) {
                break;
            }
            continue;
        }
        if (n == 0) {
            destroy(close_reason::peer_closed);
            return;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            destroy(close_reason::io_error);
            return;
        }
        break;
    }
    arm_read();
}

bool Connection::input_paused() const {
    return api_pending_ || !chat_.may_read(shard_.router().max_inflight_bytes());
}

void Connection::resume_reading() {
    // Posted, not called: we are inside the Router's delivery loop, and reading runs the Router.
    // Bytes may already wait in the socket with no new edge to come, so read before waiting.
    shard_.loop().defer([self = shared_from_this()] {
        if (self->phase_ == phase::closed || self->read_armed_ || self->input_paused()) {
            return;
        }
        self->chat_.reading_paused = false;
        // Requests or frames that arrived behind a login or API request wait in partial_.
        if (!self->partial_.empty()) {
            self->consume({});
            if (self->phase_ == phase::closed) {
                return;
            }
            if (self->input_paused()) {
                self->chat_.reading_paused = true;
                return;
            }
        }
        self->on_readable();
    });
}

void Connection::disconnect(std::string_view reason) {
    spdlog::info("closing session of '{}': {}", chat_.user_id, reason);
    close(ws::close_code::policy_violation, close_reason::revoked, reason);
}

void Connection::consume(std::span<char> fresh) {
    if (partial_.empty()) {
        // The common case: whole frames in the fresh bytes; only a trailing partial one is copied.
        const std::size_t used = handle_input(fresh);
        if (phase_ != phase::closed && used < fresh.size()) {
            partial_.assign(std::string_view(fresh.data() + used, fresh.size() - used));
        }
        return;
    }
    if (!fresh.empty()) {
        partial_.append(std::string_view(fresh.data(), fresh.size()));
    }
    const std::size_t used = handle_input(std::span<char>(partial_.data(), partial_.size()));
    if (phase_ == phase::closed) {
        return;
    }
    partial_.consume(used); // an idle session keeps no buffer
}

std::size_t Connection::handle_input(std::span<char> input) {
    std::size_t used = 0;
    if (phase_ == phase::http) {
        used = handle_http(input);
        if (phase_ != phase::websocket) {
            return used;
        }
        // Frames may follow the upgrade request in the same read.
    }
    if (phase_ == phase::websocket || phase_ == phase::closing) {
        used += handle_frames(input.subspan(used));
    }
    return used;
}

std::size_t Connection::handle_http(std::span<char> input) {
    std::size_t used = 0;
    while (phase_ == phase::http && !close_when_drained_ && !api_pending_ && used < input.size()) {
        const std::string_view bytes(input.data() + used, input.size() - used);
        HttpParseResult parsed = parse_http_request(bytes, shard_.config().http);
        if (parsed.status == http_parse_status::need_more) {
            break;
        }
        if (parsed.status == http_parse_status::invalid) {
            queue_raw(
                http_response(parsed.error_status, "text/plain; charset=utf-8", parsed.error + "\n", false));
            close_when_drained_ = true;
            close_reason_ = close_reason::bad_request;
            return input.size();
        }
        used += parsed.consumed;
        phase_timer_ = clock::now();
        respond_http(parsed.request);
    }
    return used;
}

void Connection::respond_http(const HttpRequest& request) {
    const std::string_view path = request.path();
    const bool head = request.method == "HEAD";
    auto reply = [&](int status, std::string_view type, std::string_view body,
                     std::string_view headers = {}) {
        const bool keep = request.keep_alive && status < 400;
        queue_raw(http_response(status, type, body, keep, head, headers));
        if (!keep) {
            close_when_drained_ = true;
            close_reason_ = close_reason::http_done;
        }
    };

    if (request.wants_websocket) {
        // RFC 6455 §4.2.1: a GET, HTTP/1.1 or later, version 13, a well-formed key.
        if (path != "/" && path != "/ws") {
            return reply(404, "text/plain; charset=utf-8", "no WebSocket endpoint here; use / or /ws\n");
        }
        if (request.method != "GET" || request.version < 11 || !ws::is_valid_client_key(request.ws_key)) {
            return reply(400, "text/plain; charset=utf-8", "bad WebSocket upgrade request\n");
        }
        if (request.ws_version != "13") {
            // RFC 6455 §4.4: say which version we speak.
            return reply(426, "text/plain; charset=utf-8", "unsupported WebSocket version\n",
                         "Sec-WebSocket-Version: 13\r\n");
        }
        if (!origin_allowed(shard_.config().origins, request.origin, request.host, shard_.config().tls())) {
            // RFC 6455 §4.2.2: a server that does not accept the origin answers 403.
            spdlog::info("refused a WebSocket from {}: origin '{}' is not allowed", peer_address_,
                         request.origin);
            return reply(
                403, "text/plain; charset=utf-8",
                "this page's origin may not open a WebSocket to this server (see allowed_origins)\n");
        }
        queue_raw(websocket_accept_response(ws::accept_key(request.ws_key)));
        phase_ = phase::websocket;
        phase_timer_ = last_received_;
        return;
    }

    if (HttpApi* api = shard_.api(); api != nullptr && api->handles(path)) {
        if (!origin_allowed(shard_.config().origins, request.origin, request.host, shard_.config().tls())) {
            // Like every API reply (finish_api_request): JSON with Cache-Control: no-store.
            return reply(
                403, "application/json",
                R"({"error":"origin_not_allowed","message":"this page's origin may not call this API"})",
                "Cache-Control: no-store\r\n");
        }
        // A page of another origin the operator listed may call the API from its scripts (CORS).
        // Nothing is sent for unlisted origins (refused above) or for requests without Origin.
        std::string cors;
        const bool own_origin =
            origin_allowed(OriginPolicy{}, request.origin, request.host, shard_.config().tls());
        if (!own_origin && request.origin != "null") {
            cors = "Access-Control-Allow-Origin: " + request.origin + "\r\nVary: Origin\r\n";
        }
        if (request.method == "OPTIONS" && !cors.empty()) {
            // The browser's preflight for a JSON POST.
            return reply(204, "application/json", {},
                         cors + "Access-Control-Allow-Methods: POST\r\n"
                                "Access-Control-Allow-Headers: Content-Type, Authorization\r\n"
                                "Access-Control-Max-Age: 600\r\nCache-Control: no-store\r\n");
        }
        return start_api_request(request, std::move(cors));
    }
    if (request.method != "GET" && !head) {
        return reply(405, "text/plain; charset=utf-8", "method not allowed\n", "Allow: GET, HEAD\r\n");
    }
    if (path == "/healthz") {
        return reply(200, "text/plain; charset=utf-8", "ok\n");
    }
    if (path == "/favicon.ico") {
        // Browsers ask on every visit; "nothing here" without a 404 in the page's console.
        return reply(204, "image/x-icon", {}, "Cache-Control: max-age=86400\r\n");
    }
    if (const StaticFile* file = find_static_file(path)) {
        return reply(200, file->content_type, file->body);
    }
    reply(404, "text/plain; charset=utf-8", "not found\n");
}

void Connection::start_api_request(const HttpRequest& request, std::string cors_headers) {
    ApiRequest api_request;
    api_request.method = request.method;
    api_request.path = std::string(request.path());
    api_request.content_type = request.content_type;
    api_request.body = request.body;
    api_request.bearer_token = request.bearer_token;
    api_request.peer_address = peer_address_;
    api_pending_ = true;
    shard_.api()->handle(shard_.index(), std::move(api_request),
                         [self = shared_from_this(), keep = request.keep_alive,
                          cors = std::move(cors_headers)](ApiReply reply) {
                             self->finish_api_request(reply.status, reply.body, reply.extra_headers + cors,
                                                      keep);
                         });
}

void Connection::finish_api_request(int status, const std::string& body, const std::string& headers,
                                    bool keep_alive) {
    api_pending_ = false;
    if (phase_ != phase::http) {
        return; // closed meanwhile
    }
    // Credentials and tokens must not linger in caches. CORS headers come only in `headers`, and
    // only for an origin the operator listed (respond_http).
    queue_raw(http_response(status, "application/json", body, keep_alive, false,
                            headers + "Cache-Control: no-store\r\n"));
    phase_timer_ = clock::now();
    if (!keep_alive) {
        close_when_drained_ = true;
        close_reason_ = close_reason::http_done;
        return;
    }
    resume_reading();
}

std::size_t Connection::handle_frames(std::span<char> input) {
    const std::size_t size = input.size();
    while (phase_ == phase::websocket || phase_ == phase::closing) {
        auto event = reader_.next(input);
        if (!event) {
            const ws::Violation& v = event.error();
            spdlog::info("closing session of '{}': {} ({})", chat_.user_id, v.reason,
                         static_cast<int>(v.code));
            close(v.code, close_reason::protocol_violation);
            // Whatever follows a broken frame cannot be trusted: stop reading it.
            return size;
        }
        const ws::Event& e = *event;
        if (e.kind == ws::event_kind::need_more) {
            break;
        }
        if (phase_ == phase::closing) {
            // RFC 6455 §1.4: after sending a close, only the peer's close matters.
            if (e.kind == ws::event_kind::close) {
                destroy(close_reason_);
                return size;
            }
            continue;
        }
        switch (e.kind) {
        case ws::event_kind::text:
            if (admit_frame(e.payload.size())) {
                shard_.router().on_text(chat_, *this, e.payload);
                if (chat_.login_pending) {
                    // The frames after a login are read as the verified user, or refused.
                    return size - input.size();
                }
            }
            break;
        case ws::event_kind::binary:
            if (admit_frame(e.payload.size())) {
                shard_.router().reply_error(*this, protocol::errc::binary_unsupported,
                                            "Parley speaks JSON in text frames; binary frames are ignored");
            }
            break;
        case ws::event_kind::ping:
            // RFC 6455 §5.5.2: answer with the same payload.
            if (admit_frame(e.payload.size())) {
                queue_control(ws::opcode::pong, e.payload);
            }
            break;
        case ws::event_kind::pong:
            break;
        case ws::event_kind::close: {
            // RFC 6455 §5.5.1: echo the code; then the server closes TCP first (§7.1.1).
            const auto code = e.close_code == static_cast<std::uint16_t>(ws::close_code::no_status)
                                  ? ws::close_code::normal
                                  : static_cast<ws::close_code>(e.close_code);
            peer_closed_ = true;
            close(code, close_reason::peer_closed);
            return size;
        }
        case ws::event_kind::need_more:
            break;
        }
    }
    return size - input.size();
}

bool Connection::admit_frame(std::size_t payload_bytes) {
    // Both or neither: a frame refused for its bytes does not use up a frame token. The frames of
    // one read arrived together, so they are charged at the time of the read (no clock reading
    // per frame; last_received_ only moves forward).
    if (flood_.try_take(shard_.frame_limit(), 1, shard_.byte_limit(), static_cast<double>(payload_bytes),
                        last_received_)) {
        dropped_in_a_row_ = 0;
        return true;
    }
    if (dropped_in_a_row_++ == 0) {
        shard_.router().reply_error(
            *this, protocol::errc::rate_limited,
            "too many messages; this one and the next until you slow down are dropped");
    }
    if (dropped_in_a_row_ >= max_dropped_in_a_row) {
        spdlog::info("closing session of '{}': flood", chat_.user_id);
        close(ws::close_code::policy_violation, close_reason::flood);
    }
    return false;
}

// ---- output ---------------------------------------------------------------------------------

chat::send_result Connection::send(chat::SharedText text) {
    if (phase_ != phase::websocket) {
        return chat::send_result::dropped;
    }
    OutChunk chunk;
    chunk.header_len =
        static_cast<std::uint8_t>(ws::write_header(chunk.header, ws::opcode::text, text.size()));
    chunk.bytes = std::move(text);
    if (out_bytes_ + chunk.size() > shard_.config().max_send_queue_bytes) {
        spdlog::warn("closing session of '{}': slow consumer, {} bytes queued", chat_.user_id, out_bytes_);
        // Free the memory now: keep only a partly written chunk, so the frame stream stays valid
        // for the close frame that follows it.
        const std::size_t keep = out_head_sent_ > 0 ? out_head_ + 1 : out_head_;
        for (std::size_t i = keep; i < out_.size(); ++i) {
            out_bytes_ -= out_[i].size();
        }
        out_.resize(keep);
        close(ws::close_code::policy_violation, close_reason::slow_consumer);
        return chat::send_result::closed;
    }
    out_bytes_ += chunk.size();
    if (out_.capacity() == 0) {
        // The queue is given back whenever it drains, so a busy session starts one each pass:
        // room for a few at once instead of growing through 1, 2, 4 and 8 (an allocation and a
        // move each, ~60 instructions a message).
        out_.reserve(initial_queue_chunks);
    }
    out_.push_back(std::move(chunk));
    mark_dirty();
    return chat::send_result::queued;
}

void Connection::queue_raw(std::string bytes) {
    OutChunk chunk;
    chunk.bytes = chat::make_text(std::move(bytes));
    out_bytes_ += chunk.size();
    out_.push_back(std::move(chunk));
    mark_dirty();
}

void Connection::queue_control(ws::opcode op, std::string_view payload) {
    std::string frame;
    ws::append_frame(frame, op, payload);
    queue_raw(std::move(frame));
}

void Connection::mark_dirty() {
    if (!in_dirty_list && phase_ != phase::closed) {
        shard_.mark_dirty(shared_from_this());
    }
}

void Connection::flush() {
    if (phase_ == phase::closed || write_armed_) {
        return; // a writable wait is pending: it will flush
    }
    if (tls_ && !write_tls()) {
        return;
    }
    while (out_head_ < out_.size()) {
        const std::size_t staged = copy_output(output_staging);
        const ssize_t written = ::send(fd_, output_staging.data(), staged, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                arm_write();
                return;
            }
            destroy(close_reason::io_error);
            return;
        }
        drop_output(static_cast<std::size_t>(written));
        if (static_cast<std::size_t>(written) < staged) {
            // The socket's buffer is full: trying again would copy the rest again only to meet
            // EAGAIN. Writability is reported once the peer has read (an edge, as for EAGAIN).
            arm_write();
            return;
        }
    }
    // Drained: give the queue's memory back. An idle session holds none (heaptrack: 64 bytes a
    // session otherwise); a busy one allocates it again once per loop pass, not per message.
    std::vector<OutChunk>().swap(out_);
    out_head_ = 0;
    out_head_sent_ = 0;
    after_write_drained();
}

void Connection::after_write_drained() {
    if (phase_ == phase::websocket && chat_.wants_next_page) {
        shard_.router().on_send_queue_drained(chat_, *this);
        return;
    }
    if (phase_ == phase::http && close_when_drained_) {
        destroy(close_reason_);
        return;
    }
    if (phase_ == phase::closing) {
        if (peer_closed_) {
            // The handshake is complete on both sides: the server closes TCP first (RFC 6455 §7.1.1).
            destroy(close_reason_);
            return;
        }
        // Our close frame is out: send FIN after it and wait for the peer's close. Not under
        // TLS: a FIN without close_notify is a truncation to some TLS stacks, and close_notify
        // would stop some from sending their close frame back; close_timeout bounds the wait.
        if (!tls_) {
            ::shutdown(fd_, SHUT_WR);
        }
    }
}

// ---- closing --------------------------------------------------------------------------------

void Connection::close(ws::close_code code, close_reason why, std::string_view text) {
    if (phase_ == phase::closed || phase_ == phase::closing) {
        return;
    }
    close_reason_ = why;
    if (phase_ == phase::http) {
        destroy(why);
        return;
    }
    phase_ = phase::closing;
    phase_timer_ = clock::now();
    std::string reason(text.empty() ? to_string(why) : text);
    queue_control(ws::opcode::close, ws::close_payload(code, reason));
}

void Connection::destroy(close_reason why) {
    if (phase_ == phase::closed) {
        return;
    }
    const bool was_session = phase_ == phase::websocket || phase_ == phase::closing;
    phase_ = phase::closed;
    if (close_reason_ == close_reason::none) {
        close_reason_ = why;
    }
    if (was_session) {
        spdlog::debug("session of '{}' closed: {}", chat_.user_id, to_string(close_reason_));
    }
    if (tls_) {
        tls_->close_notify();
    }
    read_armed_ = write_armed_ = false;
    shard_.loop().forget(fd_, *this);
    ::close(fd_);
    fd_ = -1;
    out_.clear();
    out_bytes_ = 0;
    shard_.limiter().release(peer_address_);
    shard_.router().on_closed(chat_, *this);
    shard_.remove(*this);
}

void Connection::tick(clock::time_point now) {
    const ServerConfig& config = shard_.config();
    switch (phase_) {
    case phase::http:
        // From the start of the current request, not the last byte: a client trickling one byte
        // at a time (slowloris) must not hold the connection open.
        if (now - phase_timer_ > config.handshake_timeout) {
            destroy(close_reason::handshake_timeout);
        }
        break;
    case phase::websocket:
        if (now - last_received_ > config.idle_timeout) {
            spdlog::info("closing session of '{}': idle timeout", chat_.user_id);
            close(ws::close_code::going_away, close_reason::idle_timeout);
        } else if (now - last_received_ >= config.ping_interval &&
                   now - phase_timer_ >= config.ping_interval) {
            phase_timer_ = now;
            queue_control(ws::opcode::ping, {});
        }
        break;
    case phase::closing:
        if (now - phase_timer_ > config.close_timeout) {
            destroy(close_reason_);
        }
        break;
    case phase::closed:
        break;
    }
}

// ---- TLS --------------------------------------------------------------------------------------

void Connection::read_tls() {
    if (!tls_->established()) {
        const tls_status status = tls_->handshake();
        if (status != tls_status::ok) {
            wait_for_tls(status, true);
            return;
        }
    }
    if (tls_->write_wants_read) {
        tls_->write_wants_read = false;
        flush();
        if (phase_ == phase::closed) {
            return;
        }
    }
    // As on_readable, drained until OpenSSL reports want_read (its recv saw EAGAIN); records are
    // gathered into the shard's buffer so one consume() sees every frame they hold.
    std::span<char> buffer = shard_.read_buffer();
    while (phase_ != phase::closed) {
        std::size_t filled = 0;
        tls_status status = tls_status::ok;
        while (status == tls_status::ok && filled < buffer.size()) {
            const TlsSession::ReadResult got = tls_->read(buffer.subspan(filled));
            status = got.status;
            filled += got.bytes;
        }
        if (filled > 0) {
            last_received_ = clock::now();
            consume(buffer.first(filled));
            if (phase_ == phase::closed) {
                return;
            }
            if (input_paused()) {
                // Records left in OpenSSL or the socket wait for resume_reading(), as on plain TCP.
                chat_.reading_paused = true;
                return;
            }
        }
        if (status != tls_status::ok) {
            wait_for_tls(status, true);
            return;
        }
    }
}

bool Connection::write_tls() {
    if (!tls_->established() || tls_->read_wants_write) {
        // The handshake, or a read, was waiting for writability: resume it first.
        tls_->read_wants_write = false;
        on_readable();
        if (phase_ == phase::closed || write_armed_ || !tls_->established()) {
            return false;
        }
    }
    for (;;) {
        tls_status status = tls_status::ok;
        if (tls_->has_unsent()) {
            status = tls_->send_unsent();
        } else {
            const std::size_t n = copy_output(std::span(output_staging).first(tls_record_bytes));
            if (n == 0) {
                return true;
            }
            // OpenSSL takes the whole record or, on a blocked write, keeps it to send later.
            drop_output(n);
            status = tls_->write(std::span<const char>(output_staging.data(), n));
        }
        if (status != tls_status::ok) {
            wait_for_tls(status, false);
            return false;
        }
    }
}

void Connection::wait_for_tls(tls_status status, bool reading) {
    switch (status) {
    case tls_status::want_read:
        if (!reading) {
            tls_->write_wants_read = true;
        }
        arm_read();
        return;
    case tls_status::want_write:
        if (reading) {
            tls_->read_wants_write = true;
        }
        arm_write();
        return;
    case tls_status::closed:
        destroy(close_reason::peer_closed);
        return;
    case tls_status::ok:
    case tls_status::failed:
        break;
    }
    // Scanners and plain-HTTP clients on the TLS port end here: debug, not info.
    spdlog::debug("dropping TLS connection{}: {}", tls_->established() ? "" : " during the handshake",
                  TlsSession::last_error());
    destroy(close_reason::tls_failed);
}

std::size_t Connection::copy_output(std::span<char> into) const {
    std::size_t n = 0;
    std::size_t at = out_head_sent_; // within the chunk being copied
    for (std::size_t i = out_head_; i < out_.size() && n < into.size(); ++i) {
        const OutChunk& c = out_[i];
        if (at == 0 && into.size() - n >= c.header.size() + c.bytes.size()) {
            // Whole, with room to spare: the header array copied at its fixed size (a few moves,
            // not a call), of which only header_len bytes count.
            std::memcpy(into.data() + n, c.header.data(), c.header.size());
            n += c.header_len;
            std::memcpy(into.data() + n, c.bytes.data(), c.bytes.size());
            n += c.bytes.size();
            continue;
        }
        if (at < c.header_len) {
            const std::size_t k = std::min<std::size_t>(c.header_len - at, into.size() - n);
            std::memcpy(into.data() + n, c.header.data() + at, k);
            n += k;
            at += k;
        }
        if (at >= c.header_len) {
            const std::size_t from = at - c.header_len;
            const std::size_t k = std::min(c.bytes.size() - from, into.size() - n);
            std::memcpy(into.data() + n, c.bytes.data() + from, k);
            n += k;
        }
        at = 0;
    }
    return n;
}

void Connection::drop_output(std::size_t n) {
    out_bytes_ -= n;
    // Also past chunks with nothing left (an empty one would otherwise stop a flush for good).
    while (out_head_ < out_.size()) {
        OutChunk& c = out_[out_head_];
        const std::size_t rest = c.size() - out_head_sent_;
        if (n < rest) {
            out_head_sent_ += static_cast<std::uint32_t>(n); // n < rest: within one chunk
            return;
        }
        n -= rest;
        c.bytes = {};
        ++out_head_;
        out_head_sent_ = 0;
    }
}

} // namespace parley::net
