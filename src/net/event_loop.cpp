// The shard's loop: epoll_wait, dispatch, timers, posted and deferred tasks (ADR 009).
#include "net/event_loop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace parley::net {

namespace {

// Reports taken per epoll_wait: a full batch is followed by another wait without sleeping.
constexpr std::size_t max_events = 256;
// Rounds of deferred tasks run back to back before the loop looks at its sockets again: a task
// chain (a delivery queueing a flush queueing a resume) finishes without a system call, and a
// chain that keeps growing cannot starve the sockets.
constexpr int deferred_rounds_per_pass = 8;

// The loop running on this thread: post() from inside it needs no wake-up.
thread_local const EventLoop* running_loop = nullptr;

// The eventfd's own entry: it has nothing to do but be drained.
class Waker final : public Pollable {
public:
    void on_ready(std::uint32_t /*events*/) override {}
};
Waker waker;

} // namespace

EventLoop::EventLoop() : events_(max_events) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) {
        throw std::system_error(errno, std::system_category(), "cannot create an epoll set");
    }
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) {
        const int error = errno;
        ::close(epoll_fd_);
        throw std::system_error(error, std::system_category(), "cannot create an eventfd");
    }
    // Level-triggered: it stays readable until drained, so a wake-up is never lost.
    if (const int error = watch(wake_fd_, waker, EPOLLIN); error != 0) {
        ::close(wake_fd_);
        ::close(epoll_fd_);
        throw std::system_error(error, std::system_category(), "cannot watch the eventfd");
    }
}

EventLoop::~EventLoop() {
    ::close(wake_fd_);
    ::close(epoll_fd_);
}

int EventLoop::watch(int fd, Pollable& target, std::uint32_t what) {
    epoll_event ev{};
    ev.events = what;
    ev.data.ptr = &target;
    return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

void EventLoop::forget(int fd, Pollable& target) {
    // The descriptor may already be closed (which removed it); a failure here changes nothing.
    epoll_event ev{};
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, &ev);
    // Reports already taken from the kernel this pass must not reach a target that is going away.
    for (std::size_t i = next_event_; i < event_count_; ++i) {
        if (events_[i].data.ptr == &target) {
            events_[i].data.ptr = nullptr;
        }
    }
}

void EventLoop::post(std::function<void()> task) {
    // Through the locked queue also from the loop's own thread: tasks posted from several threads
    // run in the order they were queued (the storage engine posts deliveries under its lock, and
    // each recipient's seqs must arrive in order, docs/threads.md).
    const bool from_loop = running_loop == this;
    bool wake = false;
    {
        std::lock_guard lock(posted_mutex_);
        posted_.push_back(std::move(task));
        if (!from_loop && !wake_pending_) {
            wake = wake_pending_ = true;
        }
    }
    if (from_loop) {
        posted_here_ = true; // the loop must not sleep before running it
    }
    if (wake) {
        const std::uint64_t one = 1;
        // EAGAIN only if the counter is saturated, and then the loop is awake anyway.
        [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof one);
    }
}

void EventLoop::defer(std::function<void()> task) {
    deferred_.push_back(std::move(task));
}

EventLoop::TimerId EventLoop::schedule(clock::time_point when, std::function<void()> task) {
    const TimerId id = next_timer_id_++;
    timers_.push_back(Timer{when, id, std::move(task)});
    return id;
}

void EventLoop::cancel(TimerId id) {
    std::erase_if(timers_, [id](const Timer& t) { return t.id == id; });
}

void EventLoop::run() {
    running_loop = this;
    stopped_ = false;
    while (!stopped_) {
        pass();
    }
    running_loop = nullptr;
}

int EventLoop::wait_timeout_ms() const {
    if (!deferred_.empty() || posted_here_) {
        return 0;
    }
    if (timers_.empty()) {
        return -1;
    }
    const auto next = std::min_element(timers_.begin(), timers_.end(), [](const Timer& a, const Timer& b) {
                          return a.when < b.when;
                      })->when;
    const auto now = clock::now();
    if (next <= now) {
        return 0;
    }
    // Rounded up: waking a little early would only spin until the deadline.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
    return static_cast<int>(std::min<std::int64_t>(ms, 60'000));
}

void EventLoop::pass() {
    const int n =
        ::epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()), wait_timeout_ms());
    event_count_ = n > 0 ? static_cast<std::size_t>(n) : 0;
    for (next_event_ = 0; next_event_ < event_count_ && !stopped_;) {
        const epoll_event ev = events_[next_event_++];
        if (ev.data.ptr == &waker) {
            std::uint64_t count = 0;
            [[maybe_unused]] const ssize_t got = ::read(wake_fd_, &count, sizeof count);
            continue;
        }
        if (ev.data.ptr != nullptr) {
            static_cast<Pollable*>(ev.data.ptr)->on_ready(ev.events);
        }
    }
    next_event_ = event_count_ = 0;
    if (!timers_.empty()) {
        run_due_timers();
    }
    run_deferred();
}

void EventLoop::run_due_timers() {
    const auto now = clock::now();
    // Taken out first: a timer's task may schedule or cancel timers.
    std::vector<Timer> due;
    for (auto it = timers_.begin(); it != timers_.end();) {
        if (it->when <= now) {
            due.push_back(std::move(*it));
            it = timers_.erase(it);
        } else {
            ++it;
        }
    }
    for (Timer& t : due) {
        if (stopped_) {
            return;
        }
        t.task();
    }
}

void EventLoop::take_posted() {
    posted_here_ = false;
    std::vector<std::function<void()>> posted;
    {
        std::lock_guard lock(posted_mutex_);
        wake_pending_ = false;
        if (posted_.empty()) {
            return;
        }
        posted.swap(posted_);
    }
    // Ahead of what the loop deferred itself (an end of pass): deliveries then join this pass's
    // writes instead of needing another.
    posted.insert(posted.end(), std::make_move_iterator(deferred_.begin()),
                  std::make_move_iterator(deferred_.end()));
    deferred_.swap(posted);
}

void EventLoop::run_deferred() {
    std::vector<std::function<void()>> round;
    for (int i = 0; i < deferred_rounds_per_pass && !stopped_; ++i) {
        take_posted();
        if (deferred_.empty()) {
            return;
        }
        round.swap(deferred_);
        for (auto& task : round) {
            if (stopped_) {
                return;
            }
            task();
        }
        round.clear();
    }
}

} // namespace parley::net
