// One generator thread: an epoll loop over its share of the connections, driving the scenario
// (windows, schedules, reconnect cycles) and measuring what it receives. Runs alone on its
// thread; talks to others only through Shared (phase, counters, credit inboxes).
#pragma once

#include "conn.hpp"
#include "histogram.hpp"
#include "shared.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace parley::bench {

// What one worker measured; merged by the driver after the threads end.
struct WorkerStats {
    Histogram latency;       // chat: send (or scheduled send) to receipt, in the window
    Histogram ack_latency;   // chat: send to the server's ack, in the window
    Histogram login_latency; // reconnect: connect start to login handled, in the window
    std::uint64_t sent = 0;
    std::uint64_t chats_received = 0; // every chat frame, duplicates included
    std::uint64_t received_in_window = 0;
    std::uint64_t acks = 0;
    std::uint64_t login_oks = 0;
    std::uint64_t error_frames = 0; // {"type":"error"} from the server
    std::uint64_t errors = 0;       // everything that went wrong, error frames included
    std::uint64_t cycles = 0;       // reconnect: connect-login-close cycles completed
    std::uint64_t cycles_in_window = 0;
    std::uint64_t other_frames = 0;    // message types the generator does not use (ignored)
    std::uint64_t synced_timeouts = 0; // logins answered with login_ok but no "synced" in time
    std::string first_error;
};

class Worker {
public:
    Worker(Shared& shared, unsigned id);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // The thread body: returns after the close phase. Runs on the worker's own thread.
    void run();
    // Read after run() returned.
    const WorkerStats& stats() const { return stats_; }

    // Conn::read's handler interface.
    void on_upgraded(Conn& conn);
    void on_message(Conn& conn, const net::ws::Event& event);

private:
    void start_connects();
    // Opens `conn`'s socket; false (error noted) if the connect could not even start.
    bool open_conn(Conn& conn);
    void close_conn(Conn& conn, bool abort);
    void handle(std::uint32_t local, std::uint32_t events);
    void on_text(Conn& conn, std::string_view text);
    void on_chat(Conn& conn, std::string_view message);
    void on_ack(Conn& conn, std::string_view text);
    // Called as the login's answers arrive; completes the login per --ready-on.
    void check_login_done(Conn& conn);
    void expire_sync_waits();
    void on_logged_in(Conn& conn);
    void on_eof(Conn& conn);
    void fail(Conn& conn, std::string_view what);
    // A connection still logging in during setup will not make it: counted as a setup failure.
    void leave_setup(Conn& conn);
    void begin_close(Conn& conn);
    void credit(std::uint32_t sender);
    void take_credits();
    void enter_phase(phase p);
    void tick();
    void send_chat(Conn& conn, std::int64_t stamp_ns);
    void mark_dirty(Conn& conn);
    void flush_dirty();
    void post_credits();
    void publish();
    // epoll_pwait2's timeout for this pass in ns; -1 = wait for an event.
    std::int64_t timeout_ns() const;
    bool in_window(std::int64_t t) const { return t >= measure_start_ns_ && t < measure_end_ns_; }
    bool quota_left() const { return quota_ > 0; }
    void spend_quota();
    void note_error(std::string_view what, const Conn* conn);
    // True once every socket is closed; past the close deadline, resets the rest first.
    bool closes_done();

    Shared& shared_;
    const Options& options_;
    unsigned id_;
    int epoll_fd_;
    std::vector<Conn> conns_;
    std::vector<char> read_buffer_;
    unsigned events_per_pass_;
    std::int64_t now_ns_ = 0;
    phase phase_ = phase::setup;
    std::int64_t measure_start_ns_ = 0;
    std::int64_t measure_end_ns_ = 0;

    // Setup: next connection to open, and handshakes in progress.
    std::uint32_t next_open_ = 0;
    std::uint32_t opening_ = 0;
    // Sockets open now.
    std::uint32_t open_ = 0;
    // Logins answered with login_ok and a pong, waiting for "synced" until a deadline.
    struct SyncWait {
        std::uint32_t local;
        std::int64_t deadline_ns;
    };
    std::vector<SyncWait> awaiting_synced_;
    // Reconnect: slots waiting to start their next cycle.
    std::vector<std::uint32_t> reopen_;
    // Closed loop: senders whose window has room, topped up at the end of the pass.
    std::vector<std::uint32_t> wants_send_;
    std::vector<std::uint32_t> dirty_;
    // Credits for senders on other workers, by worker, posted once per pass.
    std::vector<std::vector<std::uint32_t>> outgoing_credits_;
    std::vector<std::uint32_t> incoming_credits_;
    // This worker's connections that send (pairs, rate, fanin), and for rate its share of the
    // total rate as the interval between its sends.
    std::vector<std::uint32_t> senders_;
    double rate_interval_ns_ = 0;
    std::uint64_t rate_next_ = 0;
    std::int64_t rate_next_ns_ = 0;
    // Messages (or cycles) this worker may still start, when --count bounds the run.
    std::uint64_t quota_;
    std::int64_t close_deadline_ns_ = 0;
    // Poll instead of sleeping while the load runs (Options::spin).
    bool spinning_;
    std::string scratch_;

    // Deltas not yet added to Shared's counters.
    std::uint32_t ready_delta_ = 0;
    std::uint32_t failed_delta_ = 0;
    std::uint64_t sent_delta_ = 0;
    std::uint64_t received_delta_ = 0;

    WorkerStats stats_;
};

} // namespace parley::bench
