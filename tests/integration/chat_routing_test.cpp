// Routing through the real binary: the seed protocol, acks, every device of a user, and order
// across threads. Each test starts its own server.
#include "parley_process.hpp"
#include "test_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

namespace parley::testing {
namespace {

TEST(ChatRouting, SeedProtocolBothWays) {
    ParleyProcess server({"--threads", "2"});
    TestClient alice(server.port());
    TestClient bob(server.port());
    alice.login("alice");
    bob.login("bob");

    alice.send_text(R"({"type":"chat","to_user_id":"bob","message":"hello bob"})");
    auto got = bob.receive_type("chat");
    EXPECT_EQ(str(got, "from_user_id"), "alice");
    EXPECT_EQ(str(got, "message"), "hello bob");

    bob.send_text(R"({"type":"chat","to_user_id":"alice","message":"hi alice \u00e9\n"})");
    got = alice.receive_type("chat");
    EXPECT_EQ(str(got, "from_user_id"), "bob");
    EXPECT_EQ(str(got, "message"), "hi alice \xc3\xa9\n");
}

TEST(ChatRouting, AckCarriesClientIdAndServerId) {
    ParleyProcess server;
    TestClient alice(server.port());
    TestClient bob(server.port());
    alice.login("alice");
    bob.login("bob");

    alice.send_text(R"({"type":"chat","to_user_id":"bob","message":"m","id":"c-17"})");
    const auto ack = alice.receive_json();
    ASSERT_EQ(str(ack, "type"), "ack");
    EXPECT_EQ(str(ack, "id"), "c-17");
    const auto chat = bob.receive_type("chat");
    EXPECT_EQ(ack.at("msg_id"), chat.at("msg_id"));
    EXPECT_EQ(ack.at("ts"), chat.at("ts"));
    EXPECT_GT(chat.at("ts").as_int64(), 1'600'000'000'000);

    // Integer ids are echoed as integers.
    alice.send_text(R"({"type":"chat","to_user_id":"bob","message":"m","id":42})");
    const auto ack2 = alice.receive_json();
    EXPECT_EQ(ack2.at("id").as_int64(), 42);
    EXPECT_NE(ack2.at("msg_id"), ack.at("msg_id"));
}

TEST(ChatRouting, EveryDeviceGetsEveryMessage) {
    ParleyProcess server({"--threads", "2"});
    TestClient alice1(server.port());
    TestClient alice2(server.port());
    TestClient bob1(server.port());
    TestClient bob2(server.port());
    alice1.login("alice");
    alice2.login("alice");
    bob1.login("bob");
    bob2.login("bob");

    alice1.send_text(R"({"type":"chat","to_user_id":"bob","message":"to both","id":1})");
    for (TestClient* bob : {&bob1, &bob2}) {
        const auto got = bob->receive_type("chat");
        EXPECT_EQ(str(got, "message"), "to both");
        EXPECT_EQ(got.if_contains("outgoing"), nullptr);
    }
    const auto copy = alice2.receive_type("chat");
    EXPECT_EQ(str(copy, "message"), "to both");
    EXPECT_EQ(str(copy, "to_user_id"), "bob");
    EXPECT_TRUE(copy.at("outgoing").as_bool());
    // The sending session gets its ack and no copy of its own message.
    EXPECT_EQ(str(alice1.receive_json(), "type"), "ack");
}

TEST(ChatRouting, SecondLoginDoesNotOrphanTheFirst) {
    ParleyProcess server({"--threads", "2"});
    TestClient bob1(server.port());
    bob1.login("bob");
    TestClient bob2(server.port());
    bob2.login("bob");
    TestClient alice(server.port());
    alice.login("alice");

    alice.send_text(R"({"type":"chat","to_user_id":"bob","message":"still there?"})");
    EXPECT_EQ(str(bob1.receive_type("chat"), "message"), "still there?");
    EXPECT_EQ(str(bob2.receive_type("chat"), "message"), "still there?");

    // The first device can still send too.
    bob1.send_text(R"({"type":"chat","to_user_id":"alice","message":"yes"})");
    EXPECT_EQ(str(alice.receive_type("chat"), "message"), "yes");
}

TEST(ChatRouting, ClosedDeviceStopsReceivingOthersContinue) {
    ParleyProcess server({"--threads", "2"});
    TestClient alice(server.port());
    alice.login("alice");
    auto bob1 = std::make_unique<TestClient>(server.port());
    bob1->login("bob");
    TestClient bob2(server.port());
    bob2.login("bob");
    bob1.reset();

    // The server notices the closed socket asynchronously: keep sending until bob2 has seen a
    // message sent after the close, and check the server stays healthy throughout.
    alice.send_text(R"({"type":"chat","to_user_id":"bob","message":"after close"})");
    EXPECT_EQ(str(bob2.receive_type("chat"), "message"), "after close");
}

TEST(ChatRouting, ChatToSelfReachesAllOwnSessions) {
    ParleyProcess server;
    TestClient a1(server.port());
    TestClient a2(server.port());
    a1.login("alice");
    a2.login("alice");
    a1.send_text(R"({"type":"chat","to_user_id":"alice","message":"note"})");
    EXPECT_EQ(str(a1.receive_type("chat"), "message"), "note");
    EXPECT_EQ(str(a2.receive_type("chat"), "message"), "note");
}

TEST(ChatRouting, NumericUserIdsAreAccepted) {
    ParleyProcess server;
    TestClient a(server.port());
    TestClient b(server.port());
    a.send_text(R"({"type":"login","user_id":1001})");
    EXPECT_EQ(str(a.receive_type("login_ok"), "user_id"), "1001");
    b.login("1002");
    a.send_text(R"({"type":"chat","to_user_id":1002,"message":"n"})");
    EXPECT_EQ(str(b.receive_type("chat"), "from_user_id"), "1001");
}

// 10,000 messages from senders on both threads to one receiver: each sender's messages arrive
// complete and in the order sent, also across shards.
TEST(ChatRouting, TenThousandMessagesKeepPerSenderOrderAcrossThreads) {
    ParleyProcess server({"--threads", "2", "--max-frames-per-second", "0", "--max-bytes-per-second", "0"});
    TestClient receiver(server.port());
    const auto receiver_shard = receiver.login("receiver").at("shard").as_int64();

    // Connections spread over shards by the kernel's hash: connect until at least two senders sit
    // on another shard than the receiver (bounded), and keep two on the same one if we get them.
    constexpr int senders_wanted = 4;
    std::vector<std::unique_ptr<TestClient>> senders;
    int other_shard = 0;
    for (int attempt = 0; attempt < 64 && static_cast<int>(senders.size()) < senders_wanted; ++attempt) {
        auto c = std::make_unique<TestClient>(server.port());
        const auto shard = c->login("sender" + std::to_string(senders.size())).at("shard").as_int64();
        const bool remote = shard != receiver_shard;
        if (!remote && static_cast<int>(senders.size()) - other_shard >= senders_wanted / 2) {
            continue;
        }
        other_shard += remote ? 1 : 0;
        senders.push_back(std::move(c));
    }
    ASSERT_EQ(static_cast<int>(senders.size()), senders_wanted);
    ASSERT_GE(other_shard, 1) << "no sender landed on the other shard";

    constexpr int per_sender = 10'000 / senders_wanted;
    std::map<std::string, int> next_expected;
    std::atomic<int> received{0};
    std::string failure;
    std::thread reader([&] {
        try {
            while (received.load() < per_sender * senders_wanted) {
                const auto msg = receiver.receive_type("chat", std::chrono::seconds(20));
                const std::string from = str(msg, "from_user_id");
                const int n = std::stoi(str(msg, "message"));
                if (n != next_expected[from]) {
                    failure = from + ": expected " + std::to_string(next_expected[from]) + ", got " +
                              std::to_string(n);
                    return;
                }
                ++next_expected[from];
                ++received;
            }
        } catch (const std::exception& e) {
            failure = e.what();
        }
    });

    std::atomic<int> writer_failures{0};
    std::vector<std::thread> writers;
    for (auto& s : senders) {
        writers.emplace_back([&s, &writer_failures] {
            try {
                // Windows of 100 with their acks read back, so nothing waits on a full socket.
                for (int base = 0; base < per_sender; base += 100) {
                    for (int i = base; i < base + 100; ++i) {
                        s->send_text(R"({"type":"chat","to_user_id":"receiver","message":")" +
                                     std::to_string(i) + "\"}");
                    }
                    for (int i = 0; i < 100; ++i) {
                        s->receive_type("ack", std::chrono::seconds(20));
                    }
                }
            } catch (const std::exception&) {
                ++writer_failures;
            }
        });
    }
    for (auto& w : writers) {
        w.join();
    }
    reader.join();
    EXPECT_EQ(failure, "");
    EXPECT_EQ(writer_failures.load(), 0);
    EXPECT_EQ(received.load(), 10'000);
    for (const auto& [from, count] : next_expected) {
        EXPECT_EQ(count, per_sender) << from;
    }
}

} // namespace
} // namespace parley::testing
