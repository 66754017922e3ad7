// The per-shard session tables: ids carry their slot and its generation, so the id of a closed
// session never finds the session that reuses its slot; users are counted once per shard.
#include "chat/local_sessions.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace parley::chat {
namespace {

class CountingSink final : public SessionSink {
public:
    send_result send(SharedText /*text*/) override {
        ++sent;
        return send_result::queued;
    }
    std::size_t queued_bytes() const override { return 0; }
    void resume_reading() override {}
    int sent = 0;
};

SessionState state_of(std::string user) {
    SessionState s;
    s.user_id = std::move(user);
    return s;
}

TEST(LocalSessions, IdsNameTheShardAndAreNeverReusedForAnotherSession) {
    LocalSessions table;
    CountingSink sink;
    SessionState a = state_of("alice");
    EXPECT_TRUE(table.add(&sink, &a, 5));
    EXPECT_EQ(a.session_id & 63, 5u) << "the shard in the low 6 bits";
    EXPECT_NE(a.session_id, 0u) << "0 means no session";
    const std::uint64_t old_id = a.session_id;
    ASSERT_NE(table.find(old_id), nullptr);
    EXPECT_EQ(table.find(old_id)->state, &a);

    EXPECT_TRUE(table.remove(&a));
    EXPECT_EQ(table.find(old_id), nullptr);
    SessionState b = state_of("bob");
    table.add(&sink, &b, 5);
    EXPECT_NE(b.session_id, old_id) << "same slot, new generation";
    EXPECT_EQ(table.find(old_id), nullptr) << "a reply for the closed session must not reach bob";
    EXPECT_EQ(table.find(b.session_id)->state, &b);
    EXPECT_EQ(table.find(12345u << 6), nullptr) << "a slot never used";
}

TEST(LocalSessions, UsersAreCountedOnceAndEveryDeviceGetsTheirMessages) {
    LocalSessions table;
    CountingSink phone, laptop, other;
    SessionState p = state_of("alice"), l = state_of("alice"), o = state_of("bob");
    EXPECT_TRUE(table.add(&phone, &p, 0));
    EXPECT_FALSE(table.add(&laptop, &l, 0)) << "alice's second device";
    EXPECT_TRUE(table.add(&other, &o, 0));
    EXPECT_EQ(table.user_count(), 2u);
    std::set<std::uint64_t> ids{p.session_id, l.session_id, o.session_id};
    EXPECT_EQ(ids.size(), 3u);

    EXPECT_EQ(table.send_to("alice", make_text("x"), p.session_id), 1u) << "all but the sender";
    EXPECT_EQ(laptop.sent, 1);
    EXPECT_EQ(phone.sent, 0);
    EXPECT_EQ(table.sessions_of("alice").size(), 2u);

    EXPECT_FALSE(table.remove(&p)) << "the laptop is still there";
    EXPECT_EQ(table.user_count(), 2u);
    EXPECT_TRUE(table.remove(&l));
    EXPECT_EQ(table.user_count(), 1u);
    EXPECT_TRUE(table.sessions_of("alice").empty());
    EXPECT_EQ(table.send_to("alice", make_text("y"), 0), 0u);
}

class KeepingSink final : public SessionSink {
public:
    send_result send(SharedText text) override {
        kept.push_back(std::move(text));
        return send_result::queued;
    }
    std::size_t queued_bytes() const override { return 0; }
    void resume_reading() override {}
    std::vector<SharedText> kept;
};

// send_to hands the last session the text itself and the others copies: every eligible session
// of the user gets the same shared bytes (one block, not re-encoded), whatever order they were
// added in and whichever of them is skipped.
TEST(LocalSessions, EverySessionGetsTheOneSharedTextAndTheSkippedOnesNothing) {
    for (int skipped = -1; skipped < 3; ++skipped) {
        LocalSessions table;
        KeepingSink sinks[3];
        SessionState states[3] = {state_of("alice"), state_of("alice"), state_of("alice")};
        for (int i = 0; i < 3; ++i) {
            table.add(&sinks[i], &states[i], 0);
        }
        const std::uint64_t except = skipped < 0 ? 0 : states[skipped].session_id;
        const SharedText text = make_text("hello");
        const char* block = text.data();
        EXPECT_EQ(table.send_to("alice", text, except), skipped < 0 ? 3u : 2u);
        for (int i = 0; i < 3; ++i) {
            if (i == skipped) {
                EXPECT_TRUE(sinks[i].kept.empty());
                continue;
            }
            ASSERT_EQ(sinks[i].kept.size(), 1u) << i;
            EXPECT_EQ(sinks[i].kept[0].view(), "hello") << i;
            EXPECT_EQ(sinks[i].kept[0].data(), block) << "shared, not copied: " << i;
        }
    }
}

// A chat reads has_local_peers instead of counting the sender's sessions: it must say "another
// session of this user is here" through every order of coming and going, and never be set for a
// user's only session, nor by another user's sessions.
TEST(LocalSessions, HasLocalPeersFollowsTheUsersSessionsOnTheShard) {
    LocalSessions table;
    CountingSink sink;
    SessionState a1 = state_of("alice"), a2 = state_of("alice"), a3 = state_of("alice"), b = state_of("bob");
    table.add(&sink, &a1, 0);
    table.add(&sink, &b, 0);
    EXPECT_FALSE(a1.has_local_peers) << "bob is not alice's peer";
    EXPECT_FALSE(b.has_local_peers);
    table.add(&sink, &a2, 0);
    EXPECT_TRUE(a1.has_local_peers);
    EXPECT_TRUE(a2.has_local_peers);
    table.add(&sink, &a3, 0);
    EXPECT_TRUE(a3.has_local_peers);
    table.remove(&a1);
    EXPECT_FALSE(a1.has_local_peers) << "a removed session has no peers here";
    EXPECT_TRUE(a2.has_local_peers) << "a3 is still there";
    EXPECT_TRUE(a3.has_local_peers);
    table.remove(&a3);
    EXPECT_FALSE(a2.has_local_peers) << "alone again";
    EXPECT_FALSE(b.has_local_peers);
    table.add(&sink, &a1, 0);
    EXPECT_TRUE(a1.has_local_peers);
    EXPECT_TRUE(a2.has_local_peers);
    table.remove(&a2);
    table.remove(&a1);
    EXPECT_FALSE(a1.has_local_peers);
    EXPECT_FALSE(a2.has_local_peers);
}

} // namespace
} // namespace parley::chat
