// What the generator's threads share during a run: the plan (who is where, who sends to whom),
// the phase the driver moves them through, per-stream order checks, and the window credits one
// thread hands another. Everything else a Worker owns alone.
#pragma once

#include "options.hpp"
#include "stream_check.hpp"

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace parley::bench {

// The driver moves every worker through these, in order.
enum class phase : int {
    setup, // connect and log in everyone
    run,   // send (warm-up, then the measured window)
    drain, // stop sending; wait for what is in flight
    close, // close handshakes, then the threads end
};

inline constexpr std::uint32_t no_target = std::numeric_limits<std::uint32_t>::max();

// Window credits for one worker's senders, posted by the workers that receive their messages
// (fanin: the sink's thread frees slots of senders on every thread). Batched: one lock and at
// most one eventfd write per posting thread per loop pass. The eventfd also wakes the worker
// when the phase changes.
class CreditInbox {
public:
    CreditInbox();
    ~CreditInbox();
    CreditInbox(const CreditInbox&) = delete;
    CreditInbox& operator=(const CreditInbox&) = delete;

    // Any thread.
    void push(std::span<const std::uint32_t> senders);
    void wake();
    // The owning worker: moves the posted credits into `into` and resets the eventfd.
    void take(std::vector<std::uint32_t>& into);
    int fd() const { return event_fd_; }

private:
    std::mutex mutex_; // guards senders_; held for an append or a swap, never across I/O
    std::vector<std::uint32_t> senders_;
    int event_fd_;
};

struct Placement {
    std::uint32_t worker = 0;
    std::uint32_t local = 0; // index in that worker's connections
};

struct Shared {
    explicit Shared(const Options& opts);

    const Options& options;
    std::uint32_t users = 0;
    std::vector<Placement> placement;  // by user index
    std::vector<std::uint32_t> target; // by user index: whom it sends to, or no_target
    // By sender: written only by the thread that owns the sender's target, read after the run.
    std::vector<StreamCheck> streams;
    std::vector<std::unique_ptr<CreditInbox>> inboxes; // by worker

    std::atomic<phase> current{phase::setup};
    // Written by the driver before it stores phase::run (release); read by workers after they
    // load it (acquire).
    std::int64_t run_start_ns = 0;
    std::int64_t measure_start_ns = 0;
    std::int64_t measure_end_ns = 0;

    // Progress the driver watches; workers add their pass's deltas once per pass.
    std::atomic<std::uint32_t> ready{0};
    std::atomic<std::uint32_t> setup_failed{0};
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> received_unique{0};
    std::atomic<std::uint32_t> cycles_active{0};
    std::atomic<std::uint32_t> quota_spent_workers{0};

    void set_phase(phase p);
};

} // namespace parley::bench
