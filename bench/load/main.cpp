// parley-bench: the command line. Parses the scenario and its settings into Options, checks
// what the machine allows (file descriptors), runs, and prints one JSON object on stdout.
#include "driver.hpp"
#include "payload.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <map>

#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char** argv) try {
    using parley::bench::credit_on;
    using parley::bench::login_done;
    using parley::bench::Options;
    using parley::bench::scenario;

    Options o;
    CLI::App app{"parley-bench: load generator for Parley (and any server speaking the seed protocol)\n"
                 "Connects only to 127.0.0.1; prints one JSON object on stdout."};
    const std::map<std::string, scenario> scenarios{{"pairs", scenario::pairs},
                                                    {"rate", scenario::rate},
                                                    {"idle", scenario::idle},
                                                    {"fanin", scenario::fanin},
                                                    {"reconnect", scenario::reconnect}};
    app.add_option("scenario", o.kind,
                   "pairs: users in pairs, closed loop, --window messages in flight per sender\n"
                   "rate: open loop at --rate msg/s over all connections, latency from the schedule\n"
                   "idle: --connections logged-in sessions held for --duration (server RSS per session)\n"
                   "fanin: --connections - 1 senders, closed loop, all to one user\n"
                   "reconnect: --connections clients each looping connect, upgrade, login, close")
        ->required()
        ->transform(CLI::CheckedTransformer(scenarios, CLI::ignore_case))
        ->option_text("pairs|rate|idle|fanin|reconnect");
    app.add_option("--port", o.port, "Server port on 127.0.0.1")->capture_default_str();
    app.add_option("--path", o.path, "WebSocket upgrade path")->capture_default_str();
    app.add_option("-c,--connections", o.connections, "Connections (users); even for pairs and rate")
        ->capture_default_str()
        ->check(CLI::Range(1U, 1'000'000U));
    app.add_option("-w,--window", o.window, "Messages in flight per sender (pairs, fanin)")
        ->capture_default_str()
        ->check(CLI::Range(1U, 1'000'000U));
    app.add_option("-r,--rate", o.rate, "Messages per second over all senders (rate)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--message-bytes", o.text_bytes, "Chat text size (>= 32: sender, sequence, send time)")
        ->capture_default_str()
        ->check(CLI::Range(parley::bench::min_text_bytes, std::size_t{60'000}));
    app.add_option("-d,--duration", o.duration_s, "Measured window, seconds")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    auto* warmup =
        app.add_option("--warmup", o.warmup_s, "Load before the window opens, seconds [1; 0 with --count]")
            ->check(CLI::NonNegativeNumber);
    app.add_option("--drain", o.drain_s, "After the window: wait this long for in-flight messages, seconds")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app.add_option("-t,--gen-threads", o.gen_threads, "Generator threads (epoll loops)")
        ->capture_default_str()
        ->check(CLI::Range(1U, 256U));
    app.add_option("--events-per-pass", o.events_per_pass, "Connections handled per loop pass before writing")
        ->capture_default_str()
        ->check(CLI::Range(1U, 1024U));
    const std::map<std::string, Options::spin_mode> spins{{"auto", Options::spin_mode::automatic},
                                                          {"on", Options::spin_mode::on},
                                                          {"off", Options::spin_mode::off}};
    app.add_option("--spin", o.spin,
                   "Poll instead of sleeping while the load runs: on, off, auto (= on for rate) [auto]")
        ->transform(CLI::CheckedTransformer(spins, CLI::ignore_case))
        ->option_text("auto|on|off");
    app.add_option("--server-pid", o.server_pid, "Server pid: its CPU (/proc/PID/stat) and RSS are reported");
    app.add_option("--count", o.count, "Stop after this many messages (reconnect: cycles); 0 = time only")
        ->capture_default_str();
    const std::map<std::string, credit_on> credits{{"delivery", credit_on::delivery},
                                                   {"ack", credit_on::ack}};
    app.add_option("--credit", o.credit,
                   "What frees a window slot: delivery (any server) or ack (Parley) [delivery]")
        ->transform(CLI::CheckedTransformer(credits, CLI::ignore_case))
        ->option_text("delivery|ack");
    app.add_option("--source-addresses", o.source_addresses,
                   "Connect from 127.0.0.1..N (to 127.0.0.1): keeps connect() fast with many connections")
        ->capture_default_str()
        ->check(CLI::Range(1U, 254U));
    app.add_option("--connect-concurrency", o.connect_concurrency,
                   "Handshakes in progress per thread at setup")
        ->capture_default_str()
        ->check(CLI::Range(1U, 100'000U));
    app.add_option("--setup-timeout", o.setup_timeout_s, "Seconds allowed to connect and log everyone in")
        ->capture_default_str();
    app.add_option("--user-prefix", o.user_prefix, "User ids are PREFIX + index [default: unique per run]");
    const std::map<std::string, login_done> ready_ons{
        {"auto", login_done::automatic}, {"pong", login_done::pong}, {"synced", login_done::synced}};
    app.add_option("--ready-on", o.ready_on,
                   "When a login is done: pong (any server), synced (Parley's catch-up), auto [auto]")
        ->transform(CLI::CheckedTransformer(ready_ons, CLI::ignore_case))
        ->option_text("auto|pong|synced");
    app.add_flag("--resume", o.resume, "reconnect: log in with \"since\":0");
    app.add_flag("!--no-id", o.send_id, "Send chats without a client id (no ack latency)");
    app.add_flag(
        "--scrambled-ids", o.scrambled_ids,
        "Client ids in no order per sender, as random ones (UUIDs) would be: Parley files them in its "
        "idempotency table");
    app.add_option("--label", o.label, "Copied into the output");
    CLI11_PARSE(app, argc, argv);

    if (o.count != 0 && warmup->count() == 0) {
        // A bounded run measures all of its messages: none is spent warming up.
        o.warmup_s = 0;
    }
    if ((o.kind == scenario::pairs || o.kind == scenario::rate) && o.connections % 2 != 0) {
        std::cerr << "parley-bench: pairs and rate need an even number of connections\n";
        return 2;
    }
    if (o.kind == scenario::fanin && o.connections < 2) {
        std::cerr << "parley-bench: fanin needs at least 2 connections\n";
        return 2;
    }
    // Every connection is a file descriptor; the rest are epoll and eventfds, stdio, /proc reads.
    constexpr rlim_t spare_fds = 64;
    rlimit files{};
    getrlimit(RLIMIT_NOFILE, &files);
    if (files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    if (o.connections + spare_fds + 2 * rlim_t{o.gen_threads} > files.rlim_cur) {
        std::cerr << "parley-bench: " << o.connections
                  << " connections need more file descriptors than the limit (" << files.rlim_cur << ")\n";
        return 2;
    }
    if (o.user_prefix.empty()) {
        // Fresh users every run: base-36 of the pid and the clock's low bits.
        std::uint64_t tag =
            (static_cast<std::uint64_t>(::getpid()) << 20) ^
            static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
        o.user_prefix = "b";
        for (int i = 0; i < 5; ++i, tag /= 36) {
            o.user_prefix += "0123456789abcdefghijklmnopqrstuvwxyz"[tag % 36];
        }
        o.user_prefix += '_';
    }
    const auto outcome = parley::bench::run_scenario(o);
    std::cout << outcome.report << std::endl;
    return outcome.exit_code;
} catch (const std::exception& e) {
    std::cerr << "parley-bench: " << e.what() << "\n";
    return 1;
} catch (...) {
    std::cerr << "parley-bench: unknown exception\n";
    return 1;
}
