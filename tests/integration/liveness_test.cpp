// Liveness and bounds: pings, idle and handshake timeouts, the close handshake, slow readers,
// graceful shutdown.
#include "parley_process.hpp"
#include "test_client.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace parley::testing {
namespace {

using net::ws::event_kind;
using net::ws::opcode;

// The server's resident memory in KiB, from /proc.
long rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::stol(line.substr(6));
        }
    }
    return -1;
}

TEST(Liveness, IdleSessionsArePinged) {
    ParleyProcess server({"--ping-interval", "100ms"});
    TestClient c(server.port());
    c.login("idle");
    const Received r = c.receive(std::chrono::seconds(3));
    EXPECT_EQ(r.kind, event_kind::ping);
}

TEST(Liveness, ClientPingIsAnsweredWithTheSamePayload) {
    ParleyProcess server;
    TestClient c(server.port());
    c.send_frame(opcode::ping, "are you there");
    const Received r = c.receive();
    EXPECT_EQ(r.kind, event_kind::pong);
    EXPECT_EQ(r.payload, "are you there");
}

TEST(Liveness, SessionThatNeverAnswersIsClosedAfterTheIdleTimeout) {
    ParleyProcess server({"--ping-interval", "100ms", "--idle-timeout", "500ms"});
    TestClient c(server.port());
    c.login("silent");
    // Our test client never answers pings: the server must give up on it.
    EXPECT_EQ(c.wait_closed(std::chrono::seconds(5)), 1001);
}

TEST(Liveness, AnsweringPingsKeepsTheSessionOpen) {
    ParleyProcess server({"--ping-interval", "100ms", "--idle-timeout", "400ms"});
    TestClient c(server.port());
    c.login("lively");
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    while (std::chrono::steady_clock::now() < until) {
        const Received r = c.receive(std::chrono::milliseconds(300));
        ASSERT_NE(r.kind, event_kind::close);
        if (r.kind == event_kind::ping) {
            c.send_frame(opcode::pong, r.payload);
        }
    }
    c.send_text(R"({"type":"ping","id":1})");
    EXPECT_EQ(str(c.receive_type("pong"), "type"), "pong");
}

TEST(Liveness, IncompleteHandshakeIsDroppedAfterTheTimeout) {
    ParleyProcess server({"--handshake-timeout", "500ms"});
    TestClient c = TestClient::raw(server.port());
    c.send_bytes("GET / HTTP/1.1\r\nHost: x\r\n");
    // Trickle a header line every 200 ms (slowloris): the deadline counts from the request's
    // start, so the server must drop us long before 20 lines are sent.
    bool closed = false;
    for (int i = 0; i < 20 && !closed; ++i) {
        closed = c.peer_closed(std::chrono::milliseconds(200));
        if (!closed) {
            try {
                c.send_bytes("X-Slow: 1\r\n");
            } catch (const std::runtime_error&) {
                closed = true;
            }
        }
    }
    EXPECT_TRUE(closed);
}

TEST(Liveness, CloseHandshakeIsEchoed) {
    ParleyProcess server;
    TestClient c(server.port());
    c.login("closer");
    c.send_frame(opcode::close, net::ws::close_payload(net::ws::close_code::normal, "bye"));
    const Received r = c.receive();
    EXPECT_EQ(r.kind, event_kind::close);
    EXPECT_EQ(r.close_code, 1000);
    // Then the server closes TCP.
    EXPECT_EQ(c.wait_closed(), 1006);
}

TEST(Liveness, SlowReaderIsClosedWhileOthersKeepChatting) {
    // Under ASan, freed memory waits in a 256 MB quarantine and RSS would measure that; a small
    // one keeps use-after-free detection and lets RSS measure what the server holds.
    ::setenv("ASAN_OPTIONS", "quarantine_size_mb=2:thread_local_quarantine_size_kb=64", 1);
    // A small SQLite cache: the messages for the disconnected reader are stored, and SQLite's
    // page cache filling up to its 64 MiB default would hide what this test measures.
    ParleyProcess server({"--threads", "2", "--max-send-queue-bytes", "64KiB", "--max-frames-per-second", "0",
                          "--max-bytes-per-second", "0", "--sqlite-cache-bytes", "1MiB"});
    // A reader that never reads, with the smallest receive buffer the kernel allows.
    TestClient slow(server.port());
    const int small = 4096;
    ::setsockopt(slow.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    slow.login("slow");

    TestClient sender(server.port());
    sender.login("sender");
    TestClient a(server.port());
    TestClient b(server.port());
    a.login("a");
    b.login("b");
    ::unsetenv("ASAN_OPTIONS");
    const long rss_before = rss_kib(server.pid());

    const std::string text(4000, 'z');
    const std::string frame = R"({"type":"chat","to_user_id":"slow","message":")" + text + "\"}";
    // 32 MB at the slow reader: far past its 64 KiB queue and every socket buffer.
    for (int i = 0; i < 8000; ++i) {
        sender.send_text(frame);
        if (i % 100 == 0) {
            // Meanwhile, others chat normally.
            a.send_text(R"({"type":"chat","to_user_id":"b","message":"m)" + std::to_string(i) + "\"}");
            ASSERT_EQ(str(b.receive_type("chat"), "message"), "m" + std::to_string(i));
        }
        // Drain the sender's acks so it is not a slow reader itself.
        if (i % 50 == 49) {
            for (int k = 0; k < 50; ++k) {
                sender.receive_type("ack");
            }
        }
    }
    const long rss_after = rss_kib(server.pid());
    // A quarter of the backlog (half under ASan, whose allocator adds shadow memory, redzones and
    // a quarantine) bounds caches and allocator slack, far from holding the backlog itself.
#if defined(__SANITIZE_ADDRESS__)
    constexpr long max_growth_kib = 16 * 1024;
#else
    constexpr long max_growth_kib = 8 * 1024;
#endif
    EXPECT_LT(rss_after - rss_before, max_growth_kib) << "server memory grew with the slow reader's backlog";

    const std::string log = server.log();
    EXPECT_NE(log.find("slow consumer"), std::string::npos) << log;
    // The slow reader's connection ends (it may still find the 1008 close frame in its buffer).
    const auto code = slow.wait_closed(std::chrono::seconds(10));
    ASSERT_TRUE(code.has_value());
    EXPECT_TRUE(*code == 1008 || *code == 1006) << *code;
}

TEST(Liveness, BacklogForALateReaderArrivesWholeAndInOrder) {
    // The reader does not read while ~5 MB of chats of every frame-header size queue up for it:
    // more than its socket buffers hold (the kernel's send buffer on loopback starts at ~2.6 MB),
    // so the server's writes stop part-way through frames, headers included, wait for the
    // socket, and go on from there once the reader reads. Each chat must arrive byte for byte
    // and in order.
    ParleyProcess server({"--max-send-queue-bytes", "16MiB", "--max-frames-per-second", "0",
                          "--max-bytes-per-second", "0", "--user-messages-per-second", "0",
                          "--user-bytes-per-second", "0"});
    TestClient reader(server.port());
    reader.login("reader");
    TestClient sender(server.port());
    sender.login("sender");

    // Text sizes whose frames take 2-, 4- and 10-byte headers (payloads up to 125, up to 65,535,
    // and longer), each text distinct so a skipped or repeated piece shows.
    const std::vector<std::size_t> sizes = {1, 60, 90, 200, 3000, 20'000, 65'536};
    std::vector<std::string> texts;
    for (int i = 0; i < 420; ++i) {
        const std::size_t size = sizes[static_cast<std::size_t>(i) % sizes.size()];
        const std::string head = "m" + std::to_string(i) + ":";
        std::string text = head + std::string(size, static_cast<char>('a' + i % 26));
        text.resize(std::max(head.size(), size));
        texts.push_back(std::move(text));
    }
    for (std::size_t i = 0; i < texts.size(); ++i) {
        sender.send_json({{"type", "chat"}, {"to_user_id", "reader"}, {"message", texts[i]}});
        if (i % 50 == 49) { // the acks, so the sender is not a late reader itself
            for (int k = 0; k < 50; ++k) {
                sender.receive_type("ack");
            }
        }
    }
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto chat = reader.receive_type("chat", std::chrono::seconds(10));
        ASSERT_EQ(str(chat, "message"), texts[i]) << "chat " << i;
    }
    EXPECT_EQ(server.log().find("slow consumer"), std::string::npos) << server.log();
}

TEST(Liveness, SigtermClosesSessionsWith1001AndExitsZero) {
    ParleyProcess server({"--threads", "2"});
    TestClient a(server.port());
    TestClient b(server.port());
    a.login("a");
    b.login("b");
    ::kill(server.pid(), SIGTERM);
    EXPECT_EQ(a.wait_closed(), 1001);
    EXPECT_EQ(b.wait_closed(), 1001);
    EXPECT_EQ(server.stop(SIGTERM), "exited 0");
}

// How often `needle` occurs in `text`.
std::size_t occurrences(const std::string& text, std::string_view needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) {
        ++n;
    }
    return n;
}

TEST(Liveness, RunningOutOfFileDescriptorsPausesAcceptingAndRecovers) {
    // What we tried: more clients than the process may open files, so accept() fails with EMFILE
    // while the rest wait in the listen backlog. The listener stays readable all that time; the
    // server must back off (one warning per 100 ms retry, not a busy loop), and serve the clients
    // that waited once descriptors are available again.
    // The limit is raised again before any connection closes: under the sanitizers, a type check
    // UBSan has not cached yet opens a pipe, and would itself fail at the limit.
    ParleyProcess server({"--max-connections", "1000"}); // let the kernel's limit be the one hit
    // One full request first, on each shard's code paths: UBSan caches its type checks, and a
    // check made for the first time at the limit would fail for want of a pipe (a false report
    // that aborts the sanitizer build).
    for (int i = 0; i < 4; ++i) {
        TestClient warm = TestClient::raw(server.port());
        warm.send_bytes("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        ASSERT_EQ(warm.read_until("\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
    }
    const auto open_now = static_cast<rlim_t>(
        std::distance(std::filesystem::directory_iterator("/proc/" + std::to_string(server.pid()) + "/fd"),
                      std::filesystem::directory_iterator{}));
    rlimit normal{};
    ASSERT_EQ(::prlimit(server.pid(), RLIMIT_NOFILE, nullptr, &normal), 0);
    // Only the soft limit: a lowered hard limit could not be raised again without privileges.
    const rlimit low{open_now + 8, normal.rlim_max};
    ASSERT_EQ(::prlimit(server.pid(), RLIMIT_NOFILE, &low, nullptr), 0);
    std::vector<TestClient> clients;
    for (int i = 0; i < 30; ++i) {
        clients.push_back(TestClient::raw(server.port()));
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (occurrences(server.log(), "accept failed") == 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_GE(occurrences(server.log(), "accept failed"), 1u) << server.log();
    const std::size_t before = occurrences(server.log(), "accept failed");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    // About 5 retries in 500 ms; a loop spinning on the readable listener would log thousands.
    EXPECT_LE(occurrences(server.log(), "accept failed") - before, 20u);

    ASSERT_EQ(::prlimit(server.pid(), RLIMIT_NOFILE, &normal, nullptr), 0);
    // Every client that waited in the backlog is accepted and answered.
    for (TestClient& c : clients) {
        c.send_bytes("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    for (TestClient& c : clients) {
        EXPECT_EQ(c.read_until("\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
    }
    clients.clear();
    TestClient a(server.port());
    TestClient b(server.port());
    a.login("after-emfile-a");
    b.login("after-emfile-b");
    a.send_text(R"({"type":"chat","to_user_id":"after-emfile-b","message":"still here"})");
    EXPECT_EQ(str(b.receive_type("chat"), "message"), "still here");
}

TEST(Liveness, SigintWithNoSessionsExitsZero) {
    ParleyProcess server;
    EXPECT_EQ(server.stop(SIGINT), "exited 0");
}

} // namespace
} // namespace parley::testing
