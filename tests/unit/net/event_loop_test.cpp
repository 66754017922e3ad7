// EventLoop: readiness reports on real sockets (socketpairs), posted and deferred tasks, timers.
#include "net/event_loop.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace parley::net {
namespace {

using namespace std::chrono_literals;

// Two connected non-blocking stream sockets, closed at the end.
struct SocketPair {
    int ours = -1;
    int theirs = -1;
    SocketPair() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        ours = fds[0];
        theirs = fds[1];
    }
    ~SocketPair() {
        close_ours();
        ::close(theirs);
    }
    SocketPair(const SocketPair&) = delete;
    SocketPair& operator=(const SocketPair&) = delete;
    void close_ours() {
        if (ours >= 0) {
            ::close(ours);
            ours = -1;
        }
    }
    void send(std::string_view bytes) const {
        ASSERT_EQ(::send(theirs, bytes.data(), bytes.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(bytes.size()));
    }
};

// Records every report; `react` may act on it.
struct Recorder final : Pollable {
    std::vector<std::uint32_t> reports;
    std::function<void(std::uint32_t)> react;
    void on_ready(std::uint32_t events) override {
        reports.push_back(events);
        if (react) {
            react(events);
        }
    }
    int readable_reports() const {
        int n = 0;
        for (const auto e : reports) {
            n += (e & EPOLLIN) != 0 ? 1 : 0;
        }
        return n;
    }
};

// Stops `loop` after `after` even if the test's own stop never comes, so a failure cannot hang.
void stop_after(EventLoop& loop, std::chrono::milliseconds after) {
    loop.schedule(EventLoop::clock::now() + after, [&loop] { loop.stop(); });
}

TEST(EventLoop, ReportsANewSocketsReadinessOnceAndAgainOnlyForNewBytes) {
    EventLoop loop;
    SocketPair pair;
    pair.send("hello");
    Recorder r;
    ASSERT_EQ(loop.watch(pair.ours, r), 0);
    // Edge-triggered: the bytes already there are reported once, even though we never read them.
    stop_after(loop, 50ms);
    loop.run();
    EXPECT_EQ(r.readable_reports(), 1);
    // New bytes are a new edge.
    pair.send("again");
    stop_after(loop, 50ms);
    loop.run();
    EXPECT_EQ(r.readable_reports(), 2);
    loop.forget(pair.ours, r);
}

TEST(EventLoop, ReportsWritableAgainAfterTheSendBufferDrains) {
    EventLoop loop;
    SocketPair pair;
    // Fill our send buffer until the kernel refuses more.
    const std::string chunk(64 * 1024, 'x');
    std::size_t sent = 0;
    while (true) {
        const ssize_t n = ::send(pair.ours, chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (n < 0) {
            ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
            break;
        }
        sent += static_cast<std::size_t>(n);
        ASSERT_LT(sent, 64u << 20) << "the send buffer never filled";
    }
    Recorder r;
    r.react = [&](std::uint32_t events) {
        if ((events & EPOLLOUT) != 0) {
            loop.stop();
        }
    };
    ASSERT_EQ(loop.watch(pair.ours, r), 0);
    // The peer reads everything from another thread: space frees up, which must be reported.
    std::thread reader([&] {
        std::vector<char> buffer(256 * 1024);
        std::size_t got = 0;
        const auto until = std::chrono::steady_clock::now() + 5s;
        while (got < sent && std::chrono::steady_clock::now() < until) {
            const ssize_t n = ::recv(pair.theirs, buffer.data(), buffer.size(), 0);
            if (n > 0) {
                got += static_cast<std::size_t>(n);
            } else {
                std::this_thread::sleep_for(1ms);
            }
        }
    });
    stop_after(loop, 5000ms);
    loop.run();
    reader.join();
    ASSERT_FALSE(r.reports.empty());
    EXPECT_NE(r.reports.back() & EPOLLOUT, 0u);
    loop.forget(pair.ours, r);
}

TEST(EventLoop, ForgetDropsAReportAlreadyTakenInTheSamePass) {
    EventLoop loop;
    SocketPair a;
    SocketPair b;
    a.send("x");
    b.send("y");
    Recorder ra;
    Recorder rb;
    // Whichever is reported first forgets the other, as a connection closing another would:
    // both reports come from one epoll_wait, and the second must not be delivered.
    ra.react = [&](std::uint32_t) {
        loop.forget(b.ours, rb);
        b.close_ours();
    };
    rb.react = [&](std::uint32_t) {
        loop.forget(a.ours, ra);
        a.close_ours();
    };
    ASSERT_EQ(loop.watch(a.ours, ra), 0);
    ASSERT_EQ(loop.watch(b.ours, rb), 0);
    stop_after(loop, 50ms);
    loop.run();
    EXPECT_EQ(ra.reports.size() + rb.reports.size(), 1u);
}

TEST(EventLoop, PostedTasksFromAnotherThreadWakeTheLoopAndRunInOrder) {
    EventLoop loop;
    std::vector<int> ran;
    std::thread poster([&] {
        for (int i = 0; i < 1000; ++i) {
            loop.post([&ran, i] { ran.push_back(i); });
        }
        loop.post([&loop] { loop.stop(); });
    });
    // No timer: only the posts can end this run (the test's timeout catches a lost wake-up).
    loop.run();
    poster.join();
    ASSERT_EQ(ran.size(), 1000u);
    for (int i = 0; i < 1000; ++i) {
        EXPECT_EQ(ran[i], i);
    }
}

TEST(EventLoop, APostFromTheLoopRunsAfterOnesOtherThreadsQueuedBeforeIt) {
    // The storage engine posts deliveries to every shard under one lock, from whichever thread
    // holds it; a shard's own posts must not overtake another thread's earlier ones.
    EventLoop loop;
    std::vector<std::string> ran;
    std::atomic<bool> queued{false};
    loop.post([&] {
        ran.emplace_back("first");
        std::thread other([&] {
            loop.post([&ran] { ran.emplace_back("from another thread"); });
            queued = true;
        });
        other.join();
        ASSERT_TRUE(queued);
        loop.post([&ran] { ran.emplace_back("from the loop"); });
        loop.post([&loop] { loop.stop(); });
    });
    stop_after(loop, 5000ms);
    loop.run();
    EXPECT_EQ(ran, (std::vector<std::string>{"first", "from another thread", "from the loop"}));
}

TEST(EventLoop, DeferredTasksRunAfterThePassesReportsAndChainsFinish) {
    EventLoop loop;
    SocketPair a;
    SocketPair b;
    a.send("x");
    b.send("y");
    std::vector<std::string> ran;
    Recorder ra;
    Recorder rb;
    ra.react = [&](std::uint32_t) {
        ran.emplace_back("report");
        loop.defer([&] { ran.emplace_back("deferred"); });
    };
    rb.react = ra.react;
    ASSERT_EQ(loop.watch(a.ours, ra), 0);
    ASSERT_EQ(loop.watch(b.ours, rb), 0);
    // A chain longer than the rounds one pass runs: the rest must run in the next pass, at once.
    int chain = 0;
    std::function<void()> link = [&] {
        if (++chain < 100) {
            loop.defer(link);
        } else {
            loop.stop();
        }
    };
    loop.defer(link);
    stop_after(loop, 5000ms);
    loop.run();
    EXPECT_EQ(chain, 100);
    EXPECT_EQ(ran, (std::vector<std::string>{"report", "report", "deferred", "deferred"}));
    loop.forget(a.ours, ra);
    loop.forget(b.ours, rb);
}

TEST(EventLoop, TimersFireInDeadlineOrderAndACancelledOneNever) {
    EventLoop loop;
    std::vector<int> fired;
    const auto now = EventLoop::clock::now();
    loop.schedule(now + 30ms, [&] {
        fired.push_back(3);
        loop.stop();
    });
    const auto cancelled = loop.schedule(now + 10ms, [&] { fired.push_back(0); });
    loop.schedule(now + 20ms, [&] { fired.push_back(2); });
    loop.schedule(now + 5ms, [&] { fired.push_back(1); });
    loop.cancel(cancelled);
    loop.run();
    EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
    EXPECT_GE(EventLoop::clock::now(), now + 30ms);
}

TEST(EventLoop, ReportsAPeerThatHungUp) {
    EventLoop loop;
    SocketPair pair;
    Recorder r;
    r.react = [&](std::uint32_t events) {
        if ((events & (EPOLLRDHUP | EPOLLHUP)) != 0) {
            loop.stop();
        }
    };
    ASSERT_EQ(loop.watch(pair.ours, r), 0);
    ::shutdown(pair.theirs, SHUT_WR);
    stop_after(loop, 5000ms);
    loop.run();
    ASSERT_FALSE(r.reports.empty());
    EXPECT_NE(r.reports.back() & EPOLLRDHUP, 0u);
    loop.forget(pair.ours, r);
}

} // namespace
} // namespace parley::net
