// A shard's event loop: one epoll set in which every socket is registered once, edge-triggered,
// for input and output together (ADR 009). Waiting for a socket again costs no system call, which
// Asio's reactor could not give us: it re-armed every readiness wait with epoll_ctl, one call per
// message under light load, and kept ~270 bytes of state per idle socket.
// Also runs tasks: posted from any thread (woken through an eventfd), deferred from the loop's
// own thread (no lock, no wake-up), and a few timers. Owned and run by one thread; only post()
// may be called from others.
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace parley::net {

// Something the loop tells about readiness. It must call EventLoop::forget() before it dies.
class Pollable {
public:
    // `events`: EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR as epoll reported them.
    virtual void on_ready(std::uint32_t events) = 0;

protected:
    ~Pollable() = default;
};

class EventLoop {
public:
    using clock = std::chrono::steady_clock;
    using TimerId = std::uint64_t;

    // Throws std::system_error if the kernel refuses an epoll set or an eventfd (startup).
    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Registers `fd` for `what` until forget() or close(fd). Edge-triggered by default: the owner
    // reads and writes until EAGAIN, and is told again only when something new arrives or
    // space frees up. Returns 0 or an errno value.
    int watch(int fd, Pollable& target, std::uint32_t what = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
    // Stops reporting for `fd` and drops any report for `target` not yet handed out this pass.
    void forget(int fd, Pollable& target);

    // Runs `task` on the loop's thread after the current pass's events, in the order of post()
    // calls from every thread. Any thread.
    void post(std::function<void()> task);
    // Runs `task` after the tasks already deferred, before the loop waits again. Loop thread only.
    void defer(std::function<void()> task);
    // Runs `task` once at `when` (or the first pass after it). Loop thread only.
    TimerId schedule(clock::time_point when, std::function<void()> task);
    void cancel(TimerId id);

    // Waits and dispatches until stop(). Runs on the thread that owns the loop.
    void run();
    // Makes run() return after the current task. Loop thread only.
    void stop() { stopped_ = true; }

private:
    struct Timer {
        clock::time_point when;
        TimerId id = 0;
        std::function<void()> task;
    };
    // Waits at most until the next timer (or not at all if tasks are queued), then dispatches.
    void pass();
    int wait_timeout_ms() const;
    void run_due_timers();
    void take_posted();
    void run_deferred();

    int epoll_fd_ = -1;
    int wake_fd_ = -1; // eventfd: post() from another thread ends the wait
    bool stopped_ = false;
    std::vector<epoll_event> events_;
    std::size_t next_event_ = 0; // dispatch position in events_, for forget()
    std::size_t event_count_ = 0;
    std::vector<std::function<void()>> deferred_;
    bool posted_here_ = false;  // post() from the loop's thread since the last take_posted()
    std::vector<Timer> timers_; // few (ticks, retries, a grace period): a plain vector
    TimerId next_timer_id_ = 1;

    std::mutex posted_mutex_; // guards posted_ and wake_pending_, the only state other threads touch
    std::vector<std::function<void()>> posted_;
    bool wake_pending_ = false;
};

} // namespace parley::net
