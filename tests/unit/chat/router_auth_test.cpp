// Logins the Router does not trust (auth modes password and jwt): the verifier's verdict decides,
// it comes back later, and nothing the session sent after its login is taken before it. Also the
// per-user send budget across shards, and closing the sessions of a revoked login.
#include "chat_pipeline.hpp"

#include <functional>
#include <utility>

namespace parley::chat {
namespace {

using testing::ChatPipeline;
using testing::RecordingSession;

// Holds every verify() call until the test answers it.
class ManualVerifier final : public LoginVerifier {
public:
    struct Call {
        unsigned shard;
        LoginCredentials credentials;
        std::function<void(LoginVerdict)> done;
    };
    void verify(unsigned shard, LoginCredentials credentials,
                std::function<void(LoginVerdict)> done) override {
        calls.push_back(Call{shard, std::move(credentials), std::move(done)});
    }
    std::vector<Call> calls;
};

LoginVerdict accept(std::string user, std::uint64_t tag = 0) {
    LoginVerdict v;
    v.ok = true;
    v.user_id = std::move(user);
    v.token_tag = tag;
    return v;
}

class VerifiedLogin : public ChatPipeline {
protected:
    void SetUp() override {
        auto c0 = config_for(0);
        auto c1 = config_for(1);
        for (auto* c : {&c0, &c1}) {
            c->verifier = &verifier;
            c->fold_user_ids = true;
        }
        rebuild(c0, c1);
    }
    // Logs in through the verifier, which says `user`.
    void verified_login(Router& r, SessionState& st, RecordingSession& s, std::string user,
                        std::uint64_t tag = 0) {
        r.on_text(st, s, R"({"type":"login","token":"pt_x"})");
        ASSERT_FALSE(verifier.calls.empty());
        auto call = std::move(verifier.calls.back());
        verifier.calls.pop_back();
        call.done(accept(std::move(user), tag));
        pump();
        ASSERT_EQ(s.last_type(), "synced");
    }
    ManualVerifier verifier;
};

TEST_F(VerifiedLogin, NothingIsRegisteredUntilTheVerdictThenTheVerifiedUserIsUsed) {
    SessionState st;
    RecordingSession s;
    shard1.on_text(st, s, R"({"type":"login","user_id":"Alice","password":"secret","since":0})");
    ASSERT_EQ(verifier.calls.size(), 1u);
    EXPECT_EQ(verifier.calls[0].shard, 1u);
    EXPECT_EQ(verifier.calls[0].credentials.user_id, "Alice");
    EXPECT_EQ(verifier.calls[0].credentials.password, "secret");
    EXPECT_EQ(verifier.calls[0].credentials.peer_address, "192.0.2.7");
    EXPECT_TRUE(s.received.empty()) << "no login_ok before the verdict";
    EXPECT_TRUE(st.login_pending);
    EXPECT_FALSE(st.may_read(1 << 20)) << "the connection must stop reading while the login is checked";
    EXPECT_EQ(directory.shards_of("alice"), 0u);

    verifier.calls[0].done(accept("alice", 42));
    EXPECT_FALSE(st.login_pending);
    EXPECT_EQ(s.resumed, 1) << "reading resumes after the verdict";
    ASSERT_EQ(s.last_type(), "login_ok");
    EXPECT_EQ(s.received.back().at("user_id").as_string(), "alice") << "the verifier's (canonical) name";
    EXPECT_EQ(st.token_tag, 42u);
    EXPECT_EQ(directory.shards_of("alice"), ShardMask{2});
    pump();
    EXPECT_EQ(s.last_type(), "synced");
}

TEST_F(VerifiedLogin, RefusedLoginAnswersAuthFailedAndTheSessionMayTryAgain) {
    SessionState st;
    RecordingSession s;
    shard0.on_text(st, s, R"({"type":"login","user_id":"alice","password":"wrong"})");
    ASSERT_EQ(verifier.calls.size(), 1u);
    LoginVerdict no;
    no.message = "wrong user name or password";
    no.retry_after_ms = 2500;
    verifier.calls[0].done(no);
    ASSERT_EQ(s.last_type(), "error");
    EXPECT_EQ(s.received.back().at("code").as_string(), "auth_failed");
    EXPECT_NE(std::string(s.received.back().at("message").as_string()).find("try again in 3 s"),
              std::string::npos);
    EXPECT_FALSE(st.logged_in());
    EXPECT_EQ(s.resumed, 1);

    shard0.on_text(st, s, R"({"type":"chat","to_user_id":"bob","message":"x"})");
    EXPECT_EQ(s.received.back().at("code").as_string(), "not_logged_in");
    shard0.on_text(st, s, R"({"type":"login","user_id":"alice","password":"right"})");
    ASSERT_EQ(verifier.calls.size(), 2u) << "a refused session may try again (the verifier throttles)";
}

TEST_F(VerifiedLogin, LoginWithoutCredentialsIsAskedForThemWithoutCallingTheVerifier) {
    SessionState st;
    RecordingSession s;
    shard0.on_text(st, s, R"({"type":"login","user_id":"alice"})");
    EXPECT_TRUE(verifier.calls.empty());
    ASSERT_EQ(s.last_type(), "error");
    EXPECT_EQ(s.received.back().at("code").as_string(), "auth_required");
    EXPECT_FALSE(st.login_pending);
}

TEST_F(VerifiedLogin, AVerdictForASessionThatClosedMeanwhileIsDropped) {
    auto st = std::make_unique<SessionState>();
    RecordingSession s;
    shard0.on_text(*st, s, R"({"type":"login","token":"t"})");
    ASSERT_EQ(verifier.calls.size(), 1u);
    shard0.on_closed(*st, s);
    st.reset(); // the state is gone: the verdict must not touch it
    verifier.calls[0].done(accept("alice"));
    EXPECT_TRUE(s.received.empty());
    EXPECT_EQ(directory.shards_of("alice"), 0u);
}

TEST_F(VerifiedLogin, NamesAClientWritesAreFoldedLikeAccountNames) {
    SessionState a_st, b_st;
    RecordingSession a, b;
    verified_login(shard0, a_st, a, "alice");
    verified_login(shard1, b_st, b, "bob");
    shard0.on_text(a_st, a, R"({"type":"chat","to_user_id":"BoB","message":"hi","id":1})");
    pump();
    ASSERT_EQ(b.of_type("chat").size(), 1u) << "'BoB' is the account 'bob'";
    shard1.on_text(b_st, b, R"({"type":"history","peer":"ALICE","id":2})");
    pump();
    ASSERT_EQ(b.last_type(), "history");
    EXPECT_EQ(b.received.back().at("messages").as_array().size(), 1u);
}

TEST_F(VerifiedLogin, DisconnectUserClosesOnlyTheSessionsOfThatToken) {
    SessionState p_st, l_st, o_st;
    RecordingSession phone, laptop, other;
    verified_login(shard0, p_st, phone, "alice", 7);
    verified_login(shard0, l_st, laptop, "alice", 8);
    verified_login(shard0, o_st, other, "bob", 7);
    shard0.disconnect_user("alice", 7, "logged out");
    EXPECT_EQ(phone.disconnected, "logged out");
    EXPECT_EQ(laptop.disconnected, "");
    EXPECT_EQ(other.disconnected, "") << "another user's session with an equal tag is not touched";
    shard0.disconnect_user("alice", 0, "account disabled");
    EXPECT_EQ(laptop.disconnected, "account disabled");
}

class UserLimits : public ChatPipeline {
protected:
    void SetUp() override {
        auto c0 = config_for(0);
        auto c1 = config_for(1);
        for (auto* c : {&c0, &c1}) {
            c->user_limits = SendLimits{2, 4, 1000, 1000};
            c->clock = &clock;
            c->max_refused_in_a_row = 3;
        }
        rebuild(c0, c1);
    }
};

TEST_F(UserLimits, TheBudgetIsTheUsersAcrossDevicesOnEveryShard) {
    SessionState a0_st, a1_st, b_st;
    RecordingSession a0, a1, b;
    login(shard0, a0_st, a0, "alice");
    login(shard1, a1_st, a1, "alice");
    login(shard1, b_st, b, "bob");
    // Burst of 4 messages for alice, whichever device sends them.
    chat(shard0, a0_st, a0, "bob", "1", "1");
    chat(shard1, a1_st, a1, "bob", "2", "2");
    chat(shard0, a0_st, a0, "bob", "3", "3");
    chat(shard1, a1_st, a1, "bob", "4", "4");
    chat(shard0, a0_st, a0, "bob", "5", "5");
    ASSERT_EQ(a0.last_type(), "error");
    EXPECT_EQ(a0.received.back().at("code").as_string(), "rate_limited");
    EXPECT_EQ(a0.received.back().at("ref").as_int64(), 5) << "the refused chat is named";
    pump();
    EXPECT_EQ(b.of_type("chat").size(), 4u) << "the refused chat was not stored";

    // Bob has his own budget.
    chat(shard1, b_st, b, "alice", "hi", "9");
    pump();
    EXPECT_EQ(b.last_type(), "ack");

    // Time refills it: 2 messages per second.
    clock.now += 1000;
    chat(shard0, a0_st, a0, "bob", "6", "6");
    chat(shard0, a0_st, a0, "bob", "7", "7");
    chat(shard0, a0_st, a0, "bob", "8", "8");
    pump();
    EXPECT_EQ(b.of_type("chat").size(), 6u);
    EXPECT_EQ(a0.of_type("error").back().at("ref").as_int64(), 8);
}

TEST_F(UserLimits, BytesCountTooAndASessionThatKeepsGoingIsClosed) {
    SessionState a_st;
    RecordingSession a;
    login(shard0, a_st, a, "alice");
    const std::string big(900, 'x');
    chat(shard0, a_st, a, "bob", big, "1");
    chat(shard0, a_st, a, "bob", big, "2"); // 1800 bytes > 1000 burst
    EXPECT_EQ(a.received.back().at("code").as_string(), "rate_limited");
    EXPECT_EQ(a.disconnected, "");
    chat(shard0, a_st, a, "bob", big, "3");
    chat(shard0, a_st, a, "bob", big, "4");
    EXPECT_EQ(a.disconnected, "kept sending over the rate limit");
}

} // namespace
} // namespace parley::chat
