#include "chat/router.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <map>
#include <set>

namespace parley::chat {
namespace {

// Records everything sent to one session.
class RecordingSession final : public SessionSink {
public:
    send_result send(SharedText text) override {
        received.push_back(boost::json::parse(*text).as_object());
        return send_result::queued;
    }
    std::vector<boost::json::object> received;

    std::string last_type() const {
        return received.empty() ? "" : std::string(received.back().at("type").as_string());
    }
};

// Routes posted batches straight into the destination router when pump() is called, like the
// shards' io_contexts would, and records flush requests.
class FakeLinks {
public:
    class Link final : public ShardLink {
    public:
        Link(FakeLinks& owner, unsigned shard) : owner_(owner), shard_(shard) {}
        void post(unsigned to_shard, std::vector<Delivery> batch) override {
            owner_.posted.push_back({to_shard, std::move(batch)});
            ++owner_.batches_posted;
        }
        void request_flush() override { ++owner_.flush_requests[shard_]; }

    private:
        FakeLinks& owner_;
        unsigned shard_;
    };

    std::vector<std::pair<unsigned, std::vector<Delivery>>> posted;
    std::map<unsigned, int> flush_requests;
    int batches_posted = 0;
};

class FixedClock final : public Clock {
public:
    std::int64_t now_ms() const override { return now; }
    std::int64_t now = 1'700'000'000'000;
};

class RouterTest : public ::testing::Test {
protected:
    Directory directory;
    FakeLinks links;
    FakeLinks::Link link0{links, 0};
    FakeLinks::Link link1{links, 1};
    FixedClock clock;
    Router shard0{Router::Config{0, {}}, directory, link0, clock};
    Router shard1{Router::Config{1, {}}, directory, link1, clock};

    void login(Router& r, SessionState& state, RecordingSession& s, std::string_view user) {
        r.on_text(state, s, R"({"type":"login","user_id":")" + std::string(user) + "\"}");
        ASSERT_EQ(s.last_type(), "login_ok");
    }
    // Runs both shards' end of pass and delivers what they posted, like the event loops would.
    void pump() {
        shard0.flush();
        shard1.flush();
        auto posted = std::move(links.posted);
        links.posted.clear();
        for (auto& [to, batch] : posted) {
            (to == 0 ? shard0 : shard1).deliver_remote(batch);
        }
    }
};

TEST_F(RouterTest, LoginRepliesLoginOkWithShard) {
    SessionState st;
    RecordingSession s;
    shard1.on_text(st, s, R"({"type":"login","user_id":"alice"})");
    ASSERT_EQ(s.received.size(), 1u);
    EXPECT_EQ(s.received[0].at("user_id").as_string(), "alice");
    EXPECT_EQ(s.received[0].at("shard").as_int64(), 1);
    EXPECT_EQ(st.user_id, "alice");
    EXPECT_EQ(directory.shards_of("alice"), ShardMask{2});
}

TEST_F(RouterTest, ChatOnOneShardIsDeliveredAndAcked) {
    SessionState a_st, b_st;
    RecordingSession a, b;
    login(shard0, a_st, a, "alice");
    login(shard0, b_st, b, "bob");
    shard0.on_text(a_st, a, R"({"type":"chat","to_user_id":"bob","message":"hi","id":"c1"})");
    ASSERT_EQ(b.received.size(), 2u);
    const auto& chat = b.received[1];
    EXPECT_EQ(chat.at("type").as_string(), "chat");
    EXPECT_EQ(chat.at("from_user_id").as_string(), "alice");
    EXPECT_EQ(chat.at("message").as_string(), "hi");
    EXPECT_EQ(chat.at("ts").as_int64(), clock.now);
    ASSERT_EQ(a.last_type(), "ack");
    EXPECT_EQ(a.received.back().at("id").as_string(), "c1");
    EXPECT_EQ(a.received.back().at("msg_id"), chat.at("msg_id"));
    EXPECT_TRUE(links.posted.empty()) << "a local delivery must not cross shards";
}

TEST_F(RouterTest, CrossShardDeliveryIsBatchedPerPass) {
    SessionState a_st, b_st;
    RecordingSession a, b;
    login(shard0, a_st, a, "alice");
    login(shard1, b_st, b, "bob");
    for (int i = 0; i < 5; ++i) {
        shard0.on_text(a_st, a,
                       R"({"type":"chat","to_user_id":"bob","message":")" + std::to_string(i) + "\"}");
    }
    EXPECT_EQ(b.received.size(), 1u) << "nothing crosses before the end of the pass";
    EXPECT_EQ(links.flush_requests[0], 1) << "one flush request per pass, not per message";
    pump();
    EXPECT_EQ(links.batches_posted, 1) << "five messages, one batch";
    ASSERT_EQ(b.received.size(), 6u);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(b.received[1 + i].at("message").as_string(), std::to_string(i));
    }
}

TEST_F(RouterTest, SendersOtherDevicesGetAnOutgoingCopyOnEveryShard) {
    SessionState a1_st, a2_st, a3_st, b_st;
    RecordingSession a1, a2, a3, b;
    login(shard0, a1_st, a1, "alice");
    login(shard0, a2_st, a2, "alice");
    login(shard1, a3_st, a3, "alice");
    login(shard1, b_st, b, "bob");
    shard0.on_text(a1_st, a1, R"({"type":"chat","to_user_id":"bob","message":"x"})");
    pump();
    for (RecordingSession* copy : {&a2, &a3}) {
        ASSERT_EQ(copy->last_type(), "chat");
        EXPECT_TRUE(copy->received.back().at("outgoing").as_bool());
        EXPECT_EQ(copy->received.back().at("to_user_id").as_string(), "bob");
    }
    EXPECT_EQ(a1.last_type(), "ack");
    EXPECT_EQ(a1.received.size(), 2u) << "the sending session gets no copy";
    EXPECT_EQ(b.last_type(), "chat");
    EXPECT_FALSE(b.received.back().contains("outgoing"));
}

TEST_F(RouterTest, ClosedSessionIsForgottenAndDirectoryCleared) {
    SessionState b_st, a_st;
    RecordingSession b, a;
    login(shard1, b_st, b, "bob");
    login(shard0, a_st, a, "alice");
    shard1.on_closed(b_st, b);
    EXPECT_EQ(directory.shards_of("bob"), 0u);
    shard0.on_text(a_st, a, R"({"type":"chat","to_user_id":"bob","message":"gone"})");
    pump();
    EXPECT_EQ(b.received.size(), 1u);
    EXPECT_EQ(a.last_type(), "ack");
}

TEST_F(RouterTest, DeliveryRacingALogoutIsDroppedSafely) {
    SessionState b_st, a_st;
    RecordingSession b, a;
    login(shard1, b_st, b, "bob");
    login(shard0, a_st, a, "alice");
    shard0.on_text(a_st, a, R"({"type":"chat","to_user_id":"bob","message":"in flight"})");
    shard1.on_closed(b_st, b); // bob leaves while the batch is on its way
    pump();
    EXPECT_EQ(b.received.size(), 1u);
}

TEST_F(RouterTest, ErrorsCarryTheRequestId) {
    SessionState st;
    RecordingSession s;
    shard0.on_text(st, s, R"({"type":"chat","to_user_id":"bob","message":"x","id":7})");
    ASSERT_EQ(s.last_type(), "error");
    EXPECT_EQ(s.received.back().at("code").as_string(), "not_logged_in");
    EXPECT_EQ(s.received.back().at("ref").as_int64(), 7);
}

TEST_F(RouterTest, SecondLoginOnOneSessionIsRefused) {
    SessionState st;
    RecordingSession s;
    login(shard0, st, s, "alice");
    shard0.on_text(st, s, R"({"type":"login","user_id":"mallory"})");
    EXPECT_EQ(s.received.back().at("code").as_string(), "already_logged_in");
    EXPECT_EQ(st.user_id, "alice");
    EXPECT_EQ(directory.shards_of("mallory"), 0u);
}

TEST_F(RouterTest, MessageIdsAreUniqueAcrossShards) {
    SessionState a_st, b_st;
    RecordingSession a, b;
    login(shard0, a_st, a, "alice");
    login(shard1, b_st, b, "bob");
    std::set<std::int64_t> ids;
    for (int i = 0; i < 100; ++i) {
        shard0.on_text(a_st, a, R"({"type":"chat","to_user_id":"bob","message":"x"})");
        shard1.on_text(b_st, b, R"({"type":"chat","to_user_id":"alice","message":"y"})");
        ids.insert(a.received.back().at("msg_id").as_int64());
        ids.insert(b.received.back().at("msg_id").as_int64());
    }
    EXPECT_EQ(ids.size(), 200u);
    EXPECT_LT(*ids.rbegin(), std::int64_t{1} << 53) << "ids must stay exact in JavaScript";
}

} // namespace
} // namespace parley::chat
