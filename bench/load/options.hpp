// The generator's settings, one struct of named defaults (each with its reason), filled from the
// command line by main.cpp and read-only once a run starts.
#pragma once

#include <cstdint>
#include <string>

#include <sys/types.h>

namespace parley::bench {

enum class scenario { pairs, rate, idle, fanin, reconnect };

// What frees a slot of a sender's window in the closed-loop scenarios.
// When a login counts as done (the session is live and may be sent to).
enum class login_done {
    // pong if the server sent no login_ok first (the raw reference); else Parley's "synced"
    // (catch-up finished), or the pong plus a grace period for a Parley without catch-up.
    automatic,
    pong,   // the pong to the ping sent right after the login: the server has handled the login
    synced, // Parley's {"type":"synced"}: the catch-up after login is complete
};

enum class credit_on {
    delivery, // the recipient received the message: works with any server, the raw one included
    ack,      // the server acked it to the sender: Parley only (the durable-ack figure)
};

struct Options {
    scenario kind = scenario::pairs;
    // The server's port on 127.0.0.1; the generator never connects anywhere else.
    std::uint16_t port = 2346;
    std::string path = "/";
    std::uint32_t connections = 100;
    // Messages in flight per sender (pairs, fanin): the standard is 8.
    std::uint32_t window = 8;
    // Messages per second over all senders (rate).
    double rate = 40'000;
    std::size_t text_bytes = 32;
    double duration_s = 10;
    // Sending runs this long before the measured window opens: lets queues and caches settle.
    double warmup_s = 1;
    // After the window closes, time allowed for in-flight messages to arrive before the
    // remainder is counted as lost.
    double drain_s = 2;
    unsigned gen_threads = 1;
    // Whether a worker waits for events by polling (epoll with a zero timeout) instead of
    // sleeping, while the load runs. In a VM every wake-up of a sleeping process costs both sides
    // tens of µs (an inter-processor interrupt and a VM exit): an open loop at 40,000 msg/s that
    // sleeps between sends spends ~20 µs of generator CPU per message and adds its own wake-up
    // time to every latency. Spinning keeps the generator's core busy but out of the figures.
    // automatic: spin in rate (latency is what it measures), sleep elsewhere.
    enum class spin_mode { automatic, on, off };
    spin_mode spin = spin_mode::automatic;
    // Ready connections handled per loop pass before the pass's output is written. Small passes
    // keep both sides busy at once: reading all 2,000 connections before writing any would make
    // the server and the generator take turns (each idle while the other works), halving what
    // two cores can do. Large enough that a write still carries several messages.
    unsigned events_per_pass = 64;
    // The server's pid, for its CPU time and RSS; 0 = not measured.
    pid_t server_pid = 0;
    // Upper bound on messages sent (or login cycles, for reconnect) in a run; 0 = time only.
    std::uint64_t count = 0;
    credit_on credit = credit_on::delivery;
    login_done ready_on = login_done::automatic;
    // Connections come from this many loopback source addresses (127.0.0.1, .2, ...; always to
    // 127.0.0.1). With one, the kernel's search for a free ephemeral port grows with every
    // connection to the same server port (19,000 connects took 15 s of system time); spread
    // over 16, each address uses few ports and connect() stays O(1).
    unsigned source_addresses = 16;
    // Handshakes in progress per generator thread while connecting: enough to connect 19,000
    // sessions in seconds, few enough not to overflow the server's accept backlog.
    std::uint32_t connect_concurrency = 256;
    // Connecting and logging everyone in must finish within this, or the run fails.
    double setup_timeout_s = 120;
    // User ids are prefix + index. Empty: a prefix unique to this run, so a server that stores
    // messages never hands one run's leftovers to the next run's users.
    std::string user_prefix;
    // reconnect: log in with "since":0, the resume path of a returning client.
    bool resume = false;
    // Send a client id ("id") with each chat so acks can be timed (the raw server ignores it).
    // Off makes the request the seed page's exact shape.
    bool send_id = true;
    // Client ids in no order per sender (as random UUIDs would be), not increasing.
    bool scrambled_ids = false;
    // Echoed into the JSON output, to tell runs apart.
    std::string label;
};

inline bool spins(const Options& o) {
    return o.spin == Options::spin_mode::on ||
           (o.spin == Options::spin_mode::automatic && o.kind == scenario::rate);
}

} // namespace parley::bench
