// The generator's event loop. One pass: wait for events, read every ready connection (handling
// what arrived), top up windows or emit what the schedule says is due, then write each touched
// connection once. Sends made during a pass leave in one write per connection, as in the
// server, so the generator's syscalls per message stay far below one.
#include "worker.hpp"

#include "clock.hpp"
#include "payload.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <system_error>

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace parley::bench {
namespace {

using net::ws::event_kind;
using net::ws::opcode;

constexpr std::uint64_t wake_tag = std::numeric_limits<std::uint64_t>::max();
// Large enough that a read rarely stops short of what the socket holds.
constexpr std::size_t read_buffer_bytes = std::size_t{256} * 1024;
constexpr unsigned max_events = 1024;
// Open loop against a server that stops reading: past this, new messages for that connection
// are not queued (counted as errors) instead of growing the generator without bound.
constexpr std::size_t max_backlog_bytes = std::size_t{64} << 20;
// Time the server gets to answer our close frames at the end of a run; then sockets are reset.
constexpr std::int64_t close_timeout_ns = 2 * ns_per_s;
// How long a login answered with login_ok waits for "synced" before it counts as done anyway.
constexpr std::int64_t synced_grace_ns = 1 * ns_per_s;
// Re-check interval while waiting for close answers or retrying a failed reconnect.
constexpr std::int64_t poll_interval_ns = 10 * ns_per_ms;
constexpr std::uint64_t unlimited = std::numeric_limits<std::uint64_t>::max();

void append_decimal(std::string& out, std::uint64_t v) {
    std::array<char, 24> digits{};
    const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), v).ptr;
    out.append(digits.data(), end);
}

} // namespace

Worker::Worker(Shared& shared, unsigned id)
    : shared_(shared), options_(shared.options), id_(id), epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      read_buffer_(read_buffer_bytes),
      events_per_pass_(std::clamp(shared.options.events_per_pass, 1U, max_events)),
      outgoing_credits_(shared.options.gen_threads), spinning_(spins(shared.options)) {
    if (epoll_fd_ < 0) {
        throw std::system_error(errno, std::generic_category(), "epoll_create1");
    }
    std::uint32_t total_senders = 0;
    for (std::uint32_t u = 0; u < shared_.users; ++u) {
        if (shared_.target[u] != no_target) {
            ++total_senders;
        }
        if (shared_.placement[u].worker == id_) {
            conns_.emplace_back(u);
            if (shared_.target[u] != no_target) {
                senders_.push_back(shared_.placement[u].local);
            }
        }
    }
    const unsigned workers = options_.gen_threads;
    quota_ =
        options_.count == 0 ? unlimited : options_.count / workers + (id_ < options_.count % workers ? 1 : 0);
    if (quota_ == 0) {
        shared_.quota_spent_workers.fetch_add(1);
    }
    if (!senders_.empty()) {
        // This worker's share of the total rate, in proportion to its senders.
        const double rate = options_.rate * static_cast<double>(senders_.size()) / total_senders;
        rate_interval_ns_ = 1e9 / rate;
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = wake_tag;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, shared_.inboxes[id_]->fd(), &event) != 0) {
        throw std::system_error(errno, std::generic_category(), "epoll_ctl");
    }
}

Worker::~Worker() {
    for (Conn& conn : conns_) {
        conn.close_socket(true);
    }
    ::close(epoll_fd_);
}

void Worker::run() {
    if (options_.kind == scenario::rate) {
        // The kernel may fire a timer up to 50 µs late by default (timer slack); the schedule is
        // kept in microseconds, and a late wake-up would count against the server as latency.
        ::prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
    }
    std::array<epoll_event, max_events> events{};
    for (;;) {
        now_ns_ = now_ns();
        const phase current = shared_.current.load(std::memory_order_acquire);
        if (current != phase_) {
            enter_phase(current);
        }
        if (phase_ == phase::close && closes_done()) {
            break;
        }
        // Reconnect has no standing sessions: its clients connect only once the run starts.
        if (phase_ == phase::setup && options_.kind != scenario::reconnect) {
            start_connects();
        }
        if (!awaiting_synced_.empty()) {
            expire_sync_waits();
        }
        tick();
        flush_dirty();
        post_credits();
        publish();

        const std::int64_t wait_ns = spinning_ && phase_ == phase::run ? 0 : timeout_ns();
        timespec wait{};
        if (wait_ns >= 0) {
            wait.tv_sec = wait_ns / ns_per_s;
            wait.tv_nsec = wait_ns % ns_per_s;
        }
        const int n = ::epoll_pwait2(epoll_fd_, events.data(), static_cast<int>(events_per_pass_),
                                     wait_ns >= 0 ? &wait : nullptr, nullptr);
        if (n < 0 && errno != EINTR) {
            throw std::system_error(errno, std::generic_category(), "epoll_pwait2");
        }
        for (int i = 0; i < n; ++i) {
            if (events[i].data.u64 == wake_tag) {
                take_credits();
            } else {
                handle(static_cast<std::uint32_t>(events[i].data.u64), events[i].events);
            }
        }
    }
    publish();
}

void Worker::enter_phase(phase p) {
    phase_ = p;
    switch (p) {
    case phase::setup:
        break;
    case phase::run:
        measure_start_ns_ = shared_.measure_start_ns;
        measure_end_ns_ = shared_.measure_end_ns;
        if (options_.kind == scenario::pairs || options_.kind == scenario::fanin) {
            for (const std::uint32_t local : senders_) {
                conns_[local].wants_send = true;
                wants_send_.push_back(local);
            }
        } else if (options_.kind == scenario::rate && !senders_.empty()) {
            // Workers start their schedules staggered so their sends interleave evenly.
            rate_next_ns_ = shared_.run_start_ns +
                            static_cast<std::int64_t>(rate_interval_ns_ * id_ / options_.gen_threads);
        } else if (options_.kind == scenario::reconnect) {
            for (std::uint32_t local = 0; local < conns_.size(); ++local) {
                reopen_.push_back(local);
            }
        }
        break;
    case phase::drain:
        reopen_.clear();
        break;
    case phase::close:
        close_deadline_ns_ = now_ns_ + close_timeout_ns;
        for (Conn& conn : conns_) {
            switch (conn.state) {
            case conn_state::logging_in:
            case conn_state::ready:
                begin_close(conn);
                break;
            case conn_state::connecting:
            case conn_state::upgrading:
                close_conn(conn, true);
                break;
            case conn_state::closing:
            case conn_state::closed:
                break;
            }
        }
        break;
    }
}

void Worker::start_connects() {
    while (next_open_ < conns_.size() && opening_ < options_.connect_concurrency) {
        Conn& conn = conns_[next_open_++];
        ++opening_;
        if (!open_conn(conn)) {
            --opening_;
            ++failed_delta_;
        }
    }
}

bool Worker::open_conn(Conn& conn) {
    const auto source = static_cast<std::uint8_t>(1 + conn.user() % options_.source_addresses);
    const int error = conn.open(source, options_.port, epoll_fd_, shared_.placement[conn.user()].local);
    if (error != 0) {
        note_error(std::string("connect: ") + std::strerror(error), &conn);
        return false;
    }
    conn.since_ns = now_ns_;
    ++open_;
    if (options_.kind == scenario::reconnect) {
        shared_.cycles_active.fetch_add(1, std::memory_order_relaxed);
    }
    return true;
}

void Worker::close_conn(Conn& conn, bool abort) {
    if (conn.fd() >= 0) {
        --open_;
        if (options_.kind == scenario::reconnect) {
            shared_.cycles_active.fetch_sub(1, std::memory_order_relaxed);
        }
    }
    conn.close_socket(abort);
}

void Worker::handle(std::uint32_t local, std::uint32_t events) {
    Conn& conn = conns_[local];
    if (conn.state == conn_state::closed) {
        return;
    }
    if (conn.state == conn_state::connecting) {
        if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) {
            return;
        }
        const int error = conn.finish_connect(options_.port, options_.path);
        if (error != 0) {
            fail(conn, std::string("connect: ") + std::strerror(error));
            return;
        }
        mark_dirty(conn);
        return;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
        // The receive time of everything this read returns: taken per read, not per pass, so a
        // long pass does not shorten the latencies of the connections read late in it.
        now_ns_ = now_ns();
        ReadFailure failure;
        const io_result result =
            conn.read(read_buffer_, *this, failure, (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
        if (result == io_result::failed) {
            fail(conn, failure.what);
            return;
        }
        if (result == io_result::eof) {
            on_eof(conn);
            return;
        }
    }
    if ((events & EPOLLOUT) != 0 && conn.has_output()) {
        mark_dirty(conn);
    }
}

void Worker::on_upgraded(Conn& conn) {
    conn.state = conn_state::logging_in;
    scratch_.assign(R"({"type":"login","user_id":")");
    scratch_ += options_.user_prefix;
    append_decimal(scratch_, conn.user());
    scratch_ += '"';
    if (options_.resume) {
        scratch_ += R"(,"since":0)";
    }
    scratch_ += '}';
    conn.queue_frame(opcode::text, scratch_);
    // The raw reference server does not answer a login. Both servers handle a connection's
    // frames in order, so the pong to this ping proves the login ahead of it was handled.
    conn.queue_frame(opcode::ping, "login");
    mark_dirty(conn);
}

void Worker::on_message(Conn& conn, const net::ws::Event& event) {
    switch (event.kind) {
    case event_kind::text:
        on_text(conn, event.payload);
        break;
    case event_kind::ping:
        // RFC 6455 §5.5.3: a pong carries the ping's payload.
        conn.queue_frame(opcode::pong, event.payload);
        mark_dirty(conn);
        break;
    case event_kind::pong:
        if (conn.state == conn_state::logging_in && !conn.got_pong) {
            conn.got_pong = true;
            check_login_done(conn);
        }
        break;
    case event_kind::close:
        if (conn.state != conn_state::closing) {
            note_error("server sent close " + std::to_string(event.close_code) + " (" +
                           std::string(event.payload) + ")",
                       &conn);
            leave_setup(conn);
            // RFC 6455 §5.5.1: answer with a close frame, echoing the code.
            conn.queue_frame(opcode::close,
                             event.close_code == static_cast<std::uint16_t>(net::ws::close_code::no_status)
                                 ? std::string()
                                 : net::ws::close_payload(net::ws::close_code{event.close_code}, ""));
            conn.state = conn_state::closing;
            mark_dirty(conn);
        }
        break;
    case event_kind::binary:
        note_error("binary frame from the server", &conn);
        break;
    case event_kind::need_more:
        break;
    }
}

void Worker::on_text(Conn& conn, std::string_view text) {
    const auto type = string_field(text, "type");
    if (!type) {
        note_error("server message without a type", &conn);
        return;
    }
    if (*type == "chat") {
        const auto message = string_field(text, "message");
        if (!message) {
            note_error("chat without a message", &conn);
            return;
        }
        on_chat(conn, *message);
    } else if (*type == "ack") {
        on_ack(conn, text);
    } else if (*type == "login_ok") {
        ++stats_.login_oks;
        conn.got_login_ok = true;
    } else if (*type == "synced") {
        conn.got_synced = true;
        if (conn.state == conn_state::logging_in) {
            check_login_done(conn);
        }
    } else if (*type == "error") {
        ++stats_.error_frames;
        note_error(text, &conn);
    } else {
        // A newer server's message (receipts, presence...): clients ignore what they do not know.
        ++stats_.other_frames;
    }
}

void Worker::check_login_done(Conn& conn) {
    if (!conn.got_pong) {
        return; // the pong is what proves the login itself was handled
    }
    switch (options_.ready_on) {
    case login_done::pong:
        on_logged_in(conn);
        return;
    case login_done::synced:
        if (conn.got_synced) {
            on_logged_in(conn);
        }
        return;
    case login_done::automatic:
        if (!conn.got_login_ok || conn.got_synced) {
            on_logged_in(conn);
        } else if (!conn.awaiting_synced) {
            conn.awaiting_synced = true;
            awaiting_synced_.push_back({shared_.placement[conn.user()].local, now_ns_ + synced_grace_ns});
        }
        return;
    }
}

void Worker::expire_sync_waits() {
    // A Parley that answers login_ok but has no catch-up (no "synced"): the login is done.
    std::size_t kept = 0;
    for (const auto& wait : awaiting_synced_) {
        Conn& conn = conns_[wait.local];
        if (conn.state != conn_state::logging_in || !conn.awaiting_synced) {
            continue;
        }
        if (conn.got_synced) {
            conn.awaiting_synced = false;
            continue;
        }
        if (now_ns_ >= wait.deadline_ns) {
            conn.awaiting_synced = false;
            ++stats_.synced_timeouts;
            on_logged_in(conn);
            continue;
        }
        awaiting_synced_[kept++] = wait;
    }
    awaiting_synced_.resize(kept);
}

void Worker::on_chat(Conn& conn, std::string_view message) {
    const auto stamp = parse_text(message);
    if (!stamp || stamp->sender >= shared_.users || shared_.target[stamp->sender] != conn.user()) {
        note_error("chat that is not ours, or delivered to the wrong user", &conn);
        return;
    }
    ++stats_.chats_received;
    const auto verdict = shared_.streams[stamp->sender].on_receive(stamp->seq);
    if (verdict == StreamCheck::verdict::duplicated) {
        return;
    }
    ++received_delta_;
    if (in_window(now_ns_)) {
        stats_.latency.record(now_ns_ - stamp->sent_ns);
        ++stats_.received_in_window;
    }
    if (options_.credit == credit_on::delivery) {
        credit(stamp->sender);
    }
}

void Worker::on_ack(Conn& conn, std::string_view text) {
    ++stats_.acks;
    if (options_.send_id && in_window(now_ns_)) {
        if (const auto id = string_field(text, "id")) {
            if (const auto sent_ns = parse_client_id(*id)) {
                stats_.ack_latency.record(now_ns_ - *sent_ns);
            }
        }
    }
    if (options_.credit == credit_on::ack) {
        credit(conn.user());
    }
}

void Worker::on_logged_in(Conn& conn) {
    conn.state = conn_state::ready;
    conn.awaiting_synced = false;
    if (phase_ == phase::setup) {
        --opening_;
        ++ready_delta_;
    }
    if (options_.kind == scenario::reconnect) {
        if (in_window(now_ns_)) {
            stats_.login_latency.record(now_ns_ - conn.since_ns);
        }
        begin_close(conn);
    }
}

void Worker::on_eof(Conn& conn) {
    if (conn.state != conn_state::closing) {
        fail(conn, std::string("server closed the connection while ") + to_string(conn.state));
        return;
    }
    close_conn(conn, false);
    if (options_.kind == scenario::reconnect) {
        ++stats_.cycles;
        if (in_window(now_ns_)) {
            ++stats_.cycles_in_window;
        }
        if (phase_ == phase::run) {
            reopen_.push_back(shared_.placement[conn.user()].local);
        }
    }
}

void Worker::leave_setup(Conn& conn) {
    const bool opening = conn.state == conn_state::connecting || conn.state == conn_state::upgrading ||
                         conn.state == conn_state::logging_in;
    if (phase_ == phase::setup && opening) {
        --opening_;
        ++failed_delta_;
    }
}

void Worker::fail(Conn& conn, std::string_view what) {
    note_error(what, &conn);
    leave_setup(conn);
    close_conn(conn, true);
    if (options_.kind == scenario::reconnect && phase_ == phase::run) {
        reopen_.push_back(shared_.placement[conn.user()].local);
    }
}

void Worker::begin_close(Conn& conn) {
    conn.queue_frame(opcode::close, net::ws::close_payload(net::ws::close_code::normal, ""));
    conn.state = conn_state::closing;
    mark_dirty(conn);
}

bool Worker::closes_done() {
    if (open_ == 0) {
        return true;
    }
    if (now_ns_ < close_deadline_ns_) {
        return false;
    }
    for (Conn& conn : conns_) {
        if (conn.fd() >= 0) {
            note_error("server did not close the connection after our close frame", &conn);
            close_conn(conn, true);
        }
    }
    return true;
}

void Worker::credit(std::uint32_t sender) {
    const Placement& at = shared_.placement[sender];
    if (at.worker != id_) {
        outgoing_credits_[at.worker].push_back(sender);
        return;
    }
    Conn& conn = conns_[at.local];
    if (conn.in_flight > 0) {
        --conn.in_flight;
    }
    if (!conn.wants_send) {
        conn.wants_send = true;
        wants_send_.push_back(at.local);
    }
}

void Worker::take_credits() {
    shared_.inboxes[id_]->take(incoming_credits_);
    for (const std::uint32_t sender : incoming_credits_) {
        credit(sender);
    }
    incoming_credits_.clear();
}

void Worker::tick() {
    if (phase_ != phase::run) {
        wants_send_.clear();
        return;
    }
    switch (options_.kind) {
    case scenario::pairs:
    case scenario::fanin:
        for (const std::uint32_t local : wants_send_) {
            Conn& conn = conns_[local];
            conn.wants_send = false;
            if (conn.state != conn_state::ready) {
                continue;
            }
            while (conn.in_flight < options_.window && quota_left()) {
                send_chat(conn, now_ns_);
            }
        }
        wants_send_.clear();
        break;
    case scenario::rate:
        // Everything due by now goes out, stamped with the time it was due: a late send shows
        // as latency instead of silently thinning the load (no coordinated omission).
        while (!senders_.empty() && rate_next_ns_ <= now_ns_ && rate_next_ns_ < measure_end_ns_ &&
               quota_left()) {
            Conn& conn = conns_[senders_[rate_next_ % senders_.size()]];
            if (conn.state == conn_state::ready) {
                send_chat(conn, rate_next_ns_);
            }
            ++rate_next_;
            rate_next_ns_ = shared_.run_start_ns +
                            static_cast<std::int64_t>(rate_interval_ns_ * id_ / options_.gen_threads +
                                                      rate_interval_ns_ * static_cast<double>(rate_next_));
        }
        break;
    case scenario::reconnect:
        while (!reopen_.empty() && quota_left()) {
            Conn& conn = conns_[reopen_.back()];
            if (!open_conn(conn)) {
                break; // e.g. out of ports for a moment: retry on the next pass
            }
            reopen_.pop_back();
            spend_quota();
        }
        break;
    case scenario::idle:
        break;
    }
}

void Worker::send_chat(Conn& conn, std::int64_t stamp_ns) {
    if (conn.queued_bytes() > max_backlog_bytes) {
        note_error("send backlog over 64 MiB: the server is not reading", &conn);
        spend_quota();
        return;
    }
    scratch_.assign(R"({"type":"chat","to_user_id":")");
    scratch_ += options_.user_prefix;
    append_decimal(scratch_, shared_.target[conn.user()]);
    scratch_ += R"(","message":")";
    append_text(scratch_, Stamp{conn.user(), conn.next_seq, stamp_ns}, options_.text_bytes);
    scratch_ += '"';
    if (options_.send_id) {
        scratch_ += R"(,"id":")";
        append_client_id(scratch_, conn.next_seq, stamp_ns, options_.scrambled_ids);
        scratch_ += '"';
    }
    scratch_ += '}';
    conn.queue_frame(opcode::text, scratch_);
    ++conn.in_flight;
    ++conn.next_seq;
    ++stats_.sent;
    ++sent_delta_;
    mark_dirty(conn);
    spend_quota();
}

void Worker::spend_quota() {
    if (quota_ != unlimited && quota_ > 0 && --quota_ == 0) {
        shared_.quota_spent_workers.fetch_add(1);
    }
}

void Worker::mark_dirty(Conn& conn) {
    if (!conn.dirty) {
        conn.dirty = true;
        dirty_.push_back(shared_.placement[conn.user()].local);
    }
}

void Worker::flush_dirty() {
    for (const std::uint32_t local : dirty_) {
        Conn& conn = conns_[local];
        conn.dirty = false;
        if (conn.fd() >= 0 && conn.state != conn_state::connecting && conn.flush() == io_result::failed) {
            fail(conn, "send failed");
        }
    }
    dirty_.clear();
}

void Worker::post_credits() {
    for (unsigned w = 0; w < outgoing_credits_.size(); ++w) {
        if (!outgoing_credits_[w].empty()) {
            shared_.inboxes[w]->push(outgoing_credits_[w]);
            outgoing_credits_[w].clear();
        }
    }
}

void Worker::publish() {
    if (ready_delta_ != 0) {
        shared_.ready.fetch_add(ready_delta_, std::memory_order_relaxed);
        ready_delta_ = 0;
    }
    if (failed_delta_ != 0) {
        shared_.setup_failed.fetch_add(failed_delta_, std::memory_order_relaxed);
        failed_delta_ = 0;
    }
    if (sent_delta_ != 0) {
        shared_.sent.fetch_add(sent_delta_, std::memory_order_relaxed);
        sent_delta_ = 0;
    }
    if (received_delta_ != 0) {
        shared_.received_unique.fetch_add(received_delta_, std::memory_order_relaxed);
        received_delta_ = 0;
    }
}

std::int64_t Worker::timeout_ns() const {
    if (!awaiting_synced_.empty()) {
        return poll_interval_ns;
    }
    switch (phase_) {
    case phase::setup:
    case phase::drain:
        return -1;
    case phase::run:
        if (options_.kind == scenario::rate && !senders_.empty() && rate_next_ns_ < measure_end_ns_ &&
            quota_left()) {
            return std::max<std::int64_t>(0, rate_next_ns_ - now_ns());
        }
        if (options_.kind == scenario::reconnect && !reopen_.empty() && quota_left()) {
            return poll_interval_ns / 10;
        }
        return -1;
    case phase::close:
        return poll_interval_ns;
    }
    return -1;
}

void Worker::note_error(std::string_view what, const Conn* conn) {
    ++stats_.errors;
    if (stats_.first_error.empty()) {
        stats_.first_error = std::string(what);
        if (conn != nullptr) {
            stats_.first_error += " [user " + options_.user_prefix + std::to_string(conn->user()) + "]";
        }
        static constexpr std::array<const char*, 4> phase_names = {"setup", "run", "drain", "close"};
        stats_.first_error += " (" + std::string(phase_names[static_cast<std::size_t>(phase_)]) + ", " +
                              std::to_string((now_ns() - shared_.run_start_ns) / ns_per_ms) +
                              " ms after the start)";
    }
}

} // namespace parley::bench
