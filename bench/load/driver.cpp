// The timeline of a run: setup (connect, log in) -> run (warm-up, then the measured window, whose
// edges are where CPU and RSS are sampled) -> drain (in-flight messages arrive or count as lost)
// -> close. CPU is sampled by this thread while the workers run, so the figures cover exactly
// the window the message counts cover.
#include "driver.hpp"

#include "clock.hpp"
#include "proc_stats.hpp"
#include "report.hpp"
#include "worker.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace parley::bench {
namespace {

constexpr auto poll_step = std::chrono::milliseconds(5);

void sleep_until_ns(std::int64_t t) {
    const std::int64_t left = t - now_ns();
    if (left > 0) {
        std::this_thread::sleep_for(std::chrono::nanoseconds(left));
    }
}

double microseconds(std::int64_t ns) {
    return static_cast<double>(ns) / 1e3;
}

const char* scenario_name(scenario s) {
    switch (s) {
    case scenario::pairs:
        return "pairs";
    case scenario::rate:
        return "rate";
    case scenario::idle:
        return "idle";
    case scenario::fanin:
        return "fanin";
    case scenario::reconnect:
        return "reconnect";
    }
    return "?";
}

void put_latency(Report& out, const std::string& prefix, const Histogram& h) {
    out.add(prefix + "p50_us", microseconds(h.quantile_ns(0.50)), 1);
    out.add(prefix + "p90_us", microseconds(h.quantile_ns(0.90)), 1);
    out.add(prefix + "p99_us", microseconds(h.quantile_ns(0.99)), 1);
    out.add(prefix + "p999_us", microseconds(h.quantile_ns(0.999)), 1);
    out.add(prefix + "max_us", microseconds(h.max_ns()), 1);
    out.add(prefix + "samples", h.count());
}

// A worker that throws (epoll failing, out of memory) ends the run instead of hanging it.
struct Crashes {
    std::mutex mutex;
    std::string first;
    std::atomic<int> count{0};
};

} // namespace

Outcome run_scenario(const Options& options) {
    Shared shared(options);
    std::vector<std::unique_ptr<Worker>> workers;
    workers.reserve(options.gen_threads);
    for (unsigned w = 0; w < options.gen_threads; ++w) {
        workers.push_back(std::make_unique<Worker>(shared, w));
    }
    const pid_t server = options.server_pid;
    // -1: not measured (plain values: GCC 12 misreads optionals here as maybe-uninitialized).
    const long server_rss_before = server != 0 ? process_rss_kib(server).value_or(-1) : -1;
    const long generator_rss_before = process_rss_kib(::getpid()).value_or(-1);

    Crashes crashes;
    std::vector<std::thread> threads;
    threads.reserve(workers.size());
    for (auto& worker : workers) {
        threads.emplace_back([&worker, &crashes, &shared] {
            try {
                worker->run();
            } catch (const std::exception& e) {
                const std::lock_guard lock(crashes.mutex);
                if (crashes.first.empty()) {
                    crashes.first = e.what();
                }
                crashes.count.fetch_add(1);
                shared.inboxes[0]->wake();
            }
        });
    }
    const auto finish = [&] {
        shared.set_phase(phase::close);
        for (auto& t : threads) {
            t.join();
        }
    };

    // Setup: everyone connected and logged in (reconnect has no standing connections).
    const std::int64_t setup_start = now_ns();
    const auto setup_deadline = setup_start + static_cast<std::int64_t>(options.setup_timeout_s * 1e9);
    if (options.kind != scenario::reconnect) {
        while (shared.ready.load() + shared.setup_failed.load() < shared.users && crashes.count.load() == 0 &&
               now_ns() < setup_deadline) {
            std::this_thread::sleep_for(poll_step);
        }
    }
    const double setup_s = static_cast<double>(now_ns() - setup_start) / 1e9;
    const bool all_ready = options.kind == scenario::reconnect || shared.ready.load() == shared.users;
    if (!all_ready || crashes.count.load() != 0) {
        finish();
        Report failed;
        failed.add("scenario", scenario_name(options.kind));
        failed.add("label", options.label);
        failed.add("ok", false);
        std::string why = crashes.count.load() != 0
                              ? "generator thread failed: " + crashes.first
                              : "setup: " + std::to_string(shared.ready.load()) + " of " +
                                    std::to_string(shared.users) + " sessions logged in within " +
                                    std::to_string(setup_s) + " s";
        for (const auto& w : workers) {
            if (!w->stats().first_error.empty()) {
                why += "; first error: " + w->stats().first_error;
                break;
            }
        }
        failed.add("error", why);
        return Outcome{failed.json(), 1};
    }
    std::cerr << "parley-bench: " << shared.users << " sessions ready in " << setup_s << " s\n";

    // Run: warm-up, then the measured window.
    shared.run_start_ns = now_ns() + ns_per_ms;
    shared.measure_start_ns = shared.run_start_ns + static_cast<std::int64_t>(options.warmup_s * 1e9);
    shared.measure_end_ns = shared.measure_start_ns + static_cast<std::int64_t>(options.duration_s * 1e9);
    shared.set_phase(phase::run);

    sleep_until_ns(shared.measure_start_ns);
    const std::optional<CpuSeconds> server_cpu_start =
        server != 0 ? process_cpu_seconds(server) : std::nullopt;
    const double generator_cpu_start = self_cpu_seconds();
    std::int64_t window_end = shared.measure_end_ns;
    while (now_ns() < shared.measure_end_ns && crashes.count.load() == 0) {
        // A --count bound reached early ends the window once everything sent has arrived.
        if (options.count != 0 && shared.quota_spent_workers.load() == options.gen_threads &&
            (options.kind == scenario::reconnect ? shared.cycles_active.load() == 0
                                                 : shared.received_unique.load() >= shared.sent.load())) {
            window_end = now_ns();
            break;
        }
        std::this_thread::sleep_for(poll_step);
    }
    window_end = std::min(window_end, now_ns());
    const std::optional<CpuSeconds> server_cpu_end = server != 0 ? process_cpu_seconds(server) : std::nullopt;
    const double generator_cpu_end = self_cpu_seconds();
    const long server_rss_after = server != 0 ? process_rss_kib(server).value_or(-1) : -1;
    const long generator_rss_after = process_rss_kib(::getpid()).value_or(-1);

    // Drain: what is in flight gets drain_s to arrive; the rest is lost.
    shared.set_phase(phase::drain);
    const std::int64_t drain_deadline = now_ns() + static_cast<std::int64_t>(options.drain_s * 1e9);
    while (now_ns() < drain_deadline && crashes.count.load() == 0) {
        const bool settled = options.kind == scenario::reconnect
                                 ? shared.cycles_active.load() == 0
                                 : shared.received_unique.load() >= shared.sent.load();
        if (settled) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    finish();

    // Merge what the workers measured.
    WorkerStats total;
    for (const auto& w : workers) {
        const WorkerStats& s = w->stats();
        total.latency.merge(s.latency);
        total.ack_latency.merge(s.ack_latency);
        total.login_latency.merge(s.login_latency);
        total.sent += s.sent;
        total.chats_received += s.chats_received;
        total.received_in_window += s.received_in_window;
        total.acks += s.acks;
        total.login_oks += s.login_oks;
        total.error_frames += s.error_frames;
        total.errors += s.errors;
        total.cycles += s.cycles;
        total.cycles_in_window += s.cycles_in_window;
        total.other_frames += s.other_frames;
        total.synced_timeouts += s.synced_timeouts;
        if (total.first_error.empty()) {
            total.first_error = s.first_error;
        }
    }
    std::uint64_t unique = 0;
    std::uint64_t duplicated = 0;
    std::uint64_t reordered = 0;
    std::uint64_t untracked = 0;
    for (const StreamCheck& stream : shared.streams) {
        unique += stream.unique();
        duplicated += stream.duplicated();
        reordered += stream.reordered();
        untracked += stream.gaps_untracked();
    }
    const std::uint64_t lost = total.sent > unique ? total.sent - unique : 0;
    if (crashes.count.load() != 0) {
        ++total.errors;
        if (total.first_error.empty()) {
            total.first_error = "generator thread failed: " + crashes.first;
        }
    }

    const double window_s = static_cast<double>(window_end - shared.measure_start_ns) / 1e9;
    const bool messages =
        options.kind == scenario::pairs || options.kind == scenario::rate || options.kind == scenario::fanin;
    const double routed = static_cast<double>(total.received_in_window);
    const double generator_cpu = generator_cpu_end - generator_cpu_start;

    Report r;
    r.add("scenario", scenario_name(options.kind));
    r.add("label", options.label);
    r.add("user_prefix", options.user_prefix);
    r.add("connections", options.connections);
    r.add("gen_threads", options.gen_threads);
    if (options.kind == scenario::pairs || options.kind == scenario::fanin) {
        r.add("window", options.window);
        r.add("credit", options.credit == credit_on::ack ? "ack" : "delivery");
    }
    if (options.kind == scenario::rate) {
        r.add("target_rate", options.rate);
    }
    if (messages) {
        r.add("text_bytes", options.text_bytes);
    }
    r.add("setup_s", setup_s);
    r.add("duration_s", window_s);
    if (messages) {
        r.add("msgs_per_sec", window_s > 0 ? routed / window_s : 0.0, 0);
        put_latency(r, "", total.latency);
        r.add("sent", total.sent);
        r.add("received", unique);
        r.add("received_in_window", total.received_in_window);
        r.add("lost", lost);
        r.add("duplicated", duplicated);
        r.add("reordered", reordered);
        if (untracked != 0) {
            r.add("gaps_untracked", untracked);
        }
        r.add("acks", total.acks);
        if (total.ack_latency.count() != 0) {
            put_latency(r, "ack_", total.ack_latency);
        }
    }
    if (options.kind == scenario::reconnect) {
        r.add("cycles", total.cycles);
        r.add("connects_per_sec", window_s > 0 ? static_cast<double>(total.cycles_in_window) / window_s : 0.0,
              0);
        put_latency(r, "", total.login_latency);
        r.add("sent", 0);
        r.add("received", 0);
        r.add("lost", 0);
        r.add("duplicated", 0);
        r.add("reordered", 0);
    }
    r.add("login_oks", total.login_oks);
    if (total.other_frames != 0) {
        r.add("other_frames", total.other_frames);
    }
    if (total.synced_timeouts != 0) {
        r.add("synced_timeouts", total.synced_timeouts);
    }
    r.add("error_frames", total.error_frames);
    r.add("errors", total.errors);
    if (!total.first_error.empty()) {
        r.add("first_error", total.first_error);
    }
    r.add("generator_cpu_s", generator_cpu);
    if (spins(options)) {
        // A spinning generator uses its whole core by design: its CPU says nothing of its load.
        r.add("generator_spinning", true);
    }
    if (messages && routed > 0) {
        r.add("generator_cpu_us_per_msg", generator_cpu * 1e6 / routed);
    }
    if (server_cpu_start && server_cpu_end) {
        const CpuSeconds used = *server_cpu_end - *server_cpu_start;
        const double server_cpu = used.total();
        r.add("server_cpu_s", server_cpu);
        // The share of one core the server used in the window: near 1.0 means it was the limit.
        r.add("server_cpu_util", window_s > 0 ? server_cpu / window_s : 0);
        if (messages && routed > 0) {
            r.add("server_cpu_us_per_msg", server_cpu * 1e6 / routed);
            r.add("server_user_us_per_msg", used.user * 1e6 / routed);
            r.add("server_sys_us_per_msg", used.system * 1e6 / routed);
        }
        if (options.kind == scenario::reconnect && total.cycles_in_window > 0) {
            r.add("server_cpu_us_per_connect", server_cpu * 1e6 / static_cast<double>(total.cycles_in_window),
                  2);
        }
    }
    if (server_rss_before >= 0 && server_rss_after >= 0) {
        r.add("server_rss_before_kib", server_rss_before);
        r.add("server_rss_after_kib", server_rss_after);
        if (options.kind == scenario::idle) {
            r.add("server_kib_per_session",
                  static_cast<double>(server_rss_after - server_rss_before) / shared.users);
        }
    }
    if (options.kind == scenario::idle && generator_rss_before >= 0 && generator_rss_after >= 0) {
        r.add("generator_kib_per_session",
              static_cast<double>(generator_rss_after - generator_rss_before) / shared.users);
    }
    const bool clean = lost == 0 && duplicated == 0 && reordered == 0 && total.errors == 0;
    r.add("ok", clean);

    Outcome outcome;
    outcome.report = r.json();
    outcome.exit_code = clean ? 0 : 3;
    return outcome;
}

} // namespace parley::bench
