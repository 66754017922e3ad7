#include "chat_pipeline.hpp"

#include <map>
#include <optional>
#include <set>

namespace parley::chat {
namespace {

using testing::ChatPipeline;
using testing::RecordingSession;

TEST_F(ChatPipeline, LoginRepliesLoginOkThenSynced) {
    SessionState st;
    RecordingSession s;
    shard1.on_text(st, s, R"({"type":"login","user_id":"alice"})");
    ASSERT_EQ(s.received.size(), 1u);
    EXPECT_EQ(s.received[0].at("user_id").as_string(), "alice");
    EXPECT_EQ(s.received[0].at("shard").as_int64(), 1);
    EXPECT_EQ(directory.shards_of("alice"), ShardMask{2});
    pump();
    EXPECT_EQ(s.last_type(), "synced");
    EXPECT_EQ(s.received.back().at("seq").as_int64(), 0);
}

TEST_F(ChatPipeline, ChatIsStoredThenDeliveredAndAckedWithSeqs) {
    SessionState a_st, b_st;
    RecordingSession a, b;
    login(shard0, a_st, a, "alice");
    login(shard1, b_st, b, "bob");
    chat(shard0, a_st, a, "bob", "hi", "\"c1\"");
    EXPECT_EQ(b.of_type("chat").size(), 0u) << "nothing is delivered before it is stored";
    pump();
    const auto chats = b.of_type("chat");
    ASSERT_EQ(chats.size(), 1u);
    EXPECT_EQ(chats[0].at("from_user_id").as_string(), "alice");
    EXPECT_EQ(chats[0].at("message").as_string(), "hi");
    EXPECT_EQ(chats[0].at("ts").as_int64(), clock.now);
    EXPECT_EQ(chats[0].at("seq").as_int64(), 1);
    ASSERT_EQ(a.last_type(), "ack");
    EXPECT_EQ(a.received.back().at("id").as_string(), "c1");
    EXPECT_EQ(a.received.back().at("msg_id"), chats[0].at("msg_id"));
    EXPECT_EQ(a.received.back().at("seq").as_int64(), 1);
}

// A chat in the seed page's plain form is encoded without its strings being looked at again when
// the sender's name needs no escape either; a name or a text that needs one is escaped, whichever
// way the chat came in. Every frame a session receives is parsed as JSON (RecordingSession).
TEST_F(ChatPipeline, NamesAndTextsThatNeedEscapesAreEscapedWhetherTheChatWasPlainOrNot) {
    SessionState q_st, b_st;
    RecordingSession q, b;
    login(shard0, q_st, q, R"(al\"ice)"); // al"ice
    login(shard1, b_st, b, "bob");
    chat(shard0, q_st, q, "bob", "plain text from a quoted name");
    chat(shard1, b_st, b, R"(al\"ice)", "to a quoted name");
    chat(shard1, b_st, b, R"(al\"ice)", R"(a \"quoted\" text)");
    chat(shard1, b_st, b, "bob", "plain, to oneself");
    pump();
    const auto at_bob = b.of_type("chat");
    ASSERT_EQ(at_bob.size(), 2u);
    EXPECT_EQ(at_bob[0].at("from_user_id").as_string(), "al\"ice");
    EXPECT_EQ(at_bob[0].at("message").as_string(), "plain text from a quoted name");
    EXPECT_EQ(at_bob[1].at("from_user_id").as_string(), "bob");
    EXPECT_EQ(at_bob[1].at("message").as_string(), "plain, to oneself");
    const auto at_alice = q.of_type("chat");
    ASSERT_EQ(at_alice.size(), 2u);
    EXPECT_EQ(at_alice[0].at("to_user_id").as_string(), "al\"ice");
    EXPECT_EQ(at_alice[0].at("message").as_string(), "to a quoted name");
    EXPECT_EQ(at_alice[1].at("message").as_string(), "a \"quoted\" text");
}

TEST_F(ChatPipeline, ChatsOfOnePassGoToStorageInOneBatch) {
    SessionState a_st, b_st;
    RecordingSession a, b;
    login(shard0, a_st, a, "alice");
    login(shard1, b_st, b, "bob");
    const int before = batches_submitted;
    for (int i = 0; i < 5; ++i) {
        chat(shard0, a_st, a, "bob", std::to_string(i));
    }
    pump();
    EXPECT_EQ(batches_submitted - before, 1) << "five chats, one batch";
    const auto chats = b.of_type("chat");
    ASSERT_EQ(chats.size(), 5u);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(chats[i].at("message").as_string(), std::to_string(i));
        EXPECT_EQ(chats[i].at("seq").as_int64(), i + 1);
    }
}

TEST_F(ChatPipeline, ChatsOfTwoShardsInOneBatchAreStoredInTheOrderSubmitted) {
    // Each shard hands its pass's chats over as one request; the storage thread's batch can hold
    // several (shards, or passes that queued while it was busy), which it stores together, in order.
    SessionState a_st, b_st, c_st;
    RecordingSession a, b, c;
    login(shard0, a_st, a, "alice");
    login(shard1, b_st, b, "bob");
    login(shard1, c_st, c, "carol");
    chat(shard0, a_st, a, "bob", "a1", "1");
    chat(shard0, a_st, a, "bob", "a2", "2");
    chat(shard1, c_st, c, "bob", "c1", "1");
    chat(shard1, c_st, c, "alice", "c2", "2");
    shard0.flush();
    shard1.flush();
    ASSERT_EQ(submitted.size(), 2u) << "one request a shard";
    pump();
    std::vector<std::string> texts;
    std::vector<std::int64_t> seqs;
    for (const auto& m : b.of_type("chat")) {
        texts.emplace_back(m.at("message").as_string());
        seqs.push_back(m.at("seq").as_int64());
    }
    EXPECT_EQ(texts, (std::vector<std::string>{"a1", "a2", "c1"}));
    EXPECT_EQ(seqs, (std::vector<std::int64_t>{1, 2, 3}));
    ASSERT_EQ(a.of_type("chat").size(), 1u);
    EXPECT_EQ(a.of_type("chat")[0].at("message").as_string(), "c2");
    EXPECT_EQ(a.of_type("ack").size(), 2u);
    const auto c_acks = c.of_type("ack");
    ASSERT_EQ(c_acks.size(), 2u);
    EXPECT_EQ(c_acks[0].at("id").as_int64(), 1);
    EXPECT_EQ(c_acks[1].at("id").as_int64(), 2);
    EXPECT_EQ(c_acks[1].at("seq").as_int64(), 2) << "carol's second chat is her second inbox entry";
}

TEST_F(ChatPipeline, SendersOtherDevicesGetAnOutgoingCopyOnEveryShard) {
    SessionState a1_st, a2_st, a3_st, b_st;
    RecordingSession a1, a2, a3, b;
    login(shard0, a1_st, a1, "alice");
    login(shard0, a2_st, a2, "alice");
    login(shard1, a3_st, a3, "alice");
    login(shard1, b_st, b, "bob");
    chat(shard0, a1_st, a1, "bob", "x");
    pump();
    for (RecordingSession* copy : {&a2, &a3}) {
        ASSERT_EQ(copy->last_type(), "chat");
        EXPECT_TRUE(copy->received.back().at("outgoing").as_bool());
        EXPECT_EQ(copy->received.back().at("to_user_id").as_string(), "bob");
    }
    EXPECT_EQ(a1.last_type(), "ack");
    EXPECT_TRUE(a1.of_type("chat").empty()) << "the sending session gets no copy";
    EXPECT_FALSE(b.received.back().contains("outgoing"));
}

TEST_F(ChatPipeline, OneBatchOfInterleavedConversationsReachesEveryUserWhereTheyAre) {
    // The engine asks the Directory once for each run of consecutive chats naming one user. Here
    // one batch holds runs of several lengths, users on different shards, an offline recipient,
    // a retried id inside a run and a note to oneself: each chat must still reach exactly its
    // recipient's sessions and the sender's other ones, and each user's pushed seq must be the
    // highest handed to it.
    SessionState a_st, a_other_st, b_st, c_st, e_st;
    RecordingSession a, a_other, b, c, e;
    login(shard0, a_st, a, "alice");
    login(shard1, a_other_st, a_other, "alice");
    login(shard1, b_st, b, "bob");
    login(shard0, c_st, c, "carol");
    login(shard1, e_st, e, "erin");
    chat(shard0, a_st, a, "bob", "b1", "1");
    chat(shard0, a_st, a, "bob", "b2", "2");
    chat(shard0, a_st, a, "bob", "b2 again", "2"); // a retry: acked as a duplicate, not delivered
    chat(shard0, a_st, a, "carol", "c1", "3");
    chat(shard0, a_st, a, "dave", "d1", "4"); // offline: stored for later, delivered to nobody
    chat(shard0, a_st, a, "bob", "b3", "5");
    chat(shard0, c_st, c, "alice", "from carol", "6");
    chat(shard0, c_st, c, "carol", "note to self", "7");
    for (const char* text : {"e1", "e2", "e3"}) { // a run that ends the batch: its last seq counts
        chat(shard0, a_st, a, "erin", text);
    }
    const int before = batches_submitted;
    pump();
    ASSERT_EQ(batches_submitted - before, 1) << "one batch, or this tests nothing";

    const auto messages = [](const RecordingSession& s) {
        std::vector<std::string> out;
        for (const auto& m : s.of_type("chat")) {
            out.emplace_back(m.at("message").as_string());
        }
        return out;
    };
    using texts = std::vector<std::string>;
    EXPECT_EQ(messages(b), (texts{"b1", "b2", "b3"}));
    EXPECT_EQ(messages(c), (texts{"c1", "note to self"}));
    EXPECT_EQ(messages(a), (texts{"from carol"}));
    EXPECT_EQ(messages(e), (texts{"e1", "e2", "e3"}));
    EXPECT_EQ(messages(a_other), (texts{"b1", "b2", "c1", "d1", "b3", "from carol", "e1", "e2", "e3"}));
    EXPECT_EQ(a.of_type("ack").size(), 9u);
    EXPECT_EQ(c.of_type("ack").size(), 2u);
    // alice: eight sent and one received; bob three; carol one received, one sent, one to
    // herself; erin three.
    EXPECT_EQ(directory.pushed_seq("alice"), 9u);
    EXPECT_EQ(directory.pushed_seq("erin"), 3u);
    EXPECT_EQ(directory.pushed_seq("bob"), 3u);
    EXPECT_EQ(directory.pushed_seq("carol"), 3u);
    EXPECT_EQ(directory.pushed_seq("dave"), 0u) << "offline users have no mark in the Directory";
}

TEST_F(ChatPipeline, ASendersOnlySessionCostsNoOutgoingCopy) {
    SessionState a_st, b_st;
    RecordingSession a, b;
    login(shard0, a_st, a, "alice");
    login(shard1, b_st, b, "bob");
    chat(shard0, a_st, a, "bob", "x");
    shard0.flush();
    engine->process(submitted);
    submitted.clear();
    // What the engine posted: bob's chat and alice's ack, and no copy for alice's other devices,
    // since she has none.
    int copies_for_alice = 0;
    int chats_for_bob = 0;
    for (const auto& [shard, items] : posted) {
        for (const Delivery& d : items) {
            copies_for_alice += d.what == Delivery::kind::message && d.user == "alice" ? 1 : 0;
            chats_for_bob += d.what == Delivery::kind::message && d.user == "bob" ? 1 : 0;
        }
    }
    EXPECT_EQ(copies_for_alice, 0);
    EXPECT_EQ(chats_for_bob, 1);
    pump();
    EXPECT_EQ(b.last_type(), "chat");
    EXPECT_EQ(a.last_type(), "ack");
    // The seq is pushed all the same: a device logging in without `since` does not get the
    // message its own user sent and had acked.
    EXPECT_EQ(directory.pushed_seq("alice"), 1u);
}

TEST_F(ChatPipeline, ADeviceThatLogsInWhileTheChatIsOnItsWayGetsItInItsCatchUp) {
    // The engine skips the outgoing copy when the sender had no other session on its shard when
    // the chat was read. A second device logging in on that shard right after must still get it:
    // its catch-up is queued behind the chat, so it is read after the chat is stored.
    SessionState a1_st, b_st;
    RecordingSession a1, b;
    login(shard0, a1_st, a1, "alice");
    login(shard1, b_st, b, "bob");
    chat(shard0, a1_st, a1, "bob", "sent before the second device came");
    SessionState a2_st;
    RecordingSession a2;
    shard0.on_text(a2_st, a2, R"({"type":"login","user_id":"alice","since":0})");
    pump();
    const auto copies = a2.of_type("chat");
    ASSERT_EQ(copies.size(), 1u);
    EXPECT_EQ(copies[0].at("message").as_string(), "sent before the second device came");
    EXPECT_TRUE(copies[0].at("outgoing").as_bool());
}

TEST_F(ChatPipeline, OpenModeRefusesALoginWithATokenAndNoUserId) {
    // In open mode nothing checks tokens, so a token alone names nobody: it used to log the
    // session in as the empty user id.
    SessionState st;
    RecordingSession s;
    shard0.on_text(st, s, R"({"type":"login","token":"pt_whatever"})");
    ASSERT_EQ(s.last_type(), "error");
    EXPECT_EQ(s.received.back().at("code").as_string(), "missing_field");
    EXPECT_FALSE(st.logged_in());
    EXPECT_EQ(directory.shards_of(""), 0u);
    // The session may still log in properly.
    login(shard0, st, s, "alice");
}

TEST_F(ChatPipeline, OfflineRecipientGetsMessagesAtLoginInOrder) {
    SessionState a_st;
    RecordingSession a;
    login(shard0, a_st, a, "alice");
    for (int i = 0; i < 3; ++i) {
        chat(shard0, a_st, a, "bob", "m" + std::to_string(i));
    }
    pump();
    EXPECT_EQ(a.of_type("ack").size(), 3u);

    SessionState b_st;
    RecordingSession b;
    login(shard1, b_st, b, "bob"); // the seed's login: no since
    const auto chats = b.of_type("chat");
    ASSERT_EQ(chats.size(), 3u);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(chats[i].at("message").as_string(), "m" + std::to_string(i));
    }
    // A second seed-style login later does not repeat them: they were pushed.
    shard1.on_closed(b_st, b);
    pump();
    SessionState b2_st;
    RecordingSession b2;
    login(shard0, b2_st, b2, "bob");
    EXPECT_TRUE(b2.of_type("chat").empty());
}

TEST_F(ChatPipeline, ResumeWithSinceSendsExactlyWhatWasMissed) {
    SessionState a_st, b_st;
    RecordingSession a, b;
    login(shard0, a_st, a, "alice");
    login(shard1, b_st, b, "bob");
    for (int i = 0; i < 4; ++i) {
        chat(shard0, a_st, a, "bob", std::to_string(i));
    }
    pump();
    SessionState b2_st;
    RecordingSession b2;
    login(shard1, b2_st, b2, "bob", R"(,"since":2)");
    const auto chats = b2.of_type("chat");
    ASSERT_EQ(chats.size(), 2u);
    EXPECT_EQ(chats[0].at("seq").as_int64(), 3);
    EXPECT_EQ(chats[1].at("seq").as_int64(), 4);
    EXPECT_EQ(b2.received.back().at("seq").as_int64(), 4);
}

TEST_F(ChatPipeline, MessagesDuringCatchUpAreNeitherLostNorDuplicated) {
    SessionState a_st;
    RecordingSession a;
    login(shard0, a_st, a, "alice");
    chat(shard0, a_st, a, "bob", "before");
    pump();
    SessionState b_st;
    RecordingSession b;
    // Bob logs in while alice's next message is in the same storage batch as his catch-up.
    shard1.on_text(b_st, b, R"({"type":"login","user_id":"bob","since":0})");
    chat(shard0, a_st, a, "bob", "during");
    pump();
    chat(shard0, a_st, a, "bob", "after");
    pump();
    const auto chats = b.of_type("chat");
    ASSERT_EQ(chats.size(), 3u);
    EXPECT_EQ(chats[0].at("message").as_string(), "before");
    EXPECT_EQ(chats[1].at("message").as_string(), "during");
    EXPECT_EQ(chats[2].at("message").as_string(), "after");
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(chats[i].at("seq").as_int64(), i + 1);
    }
}

TEST_F(ChatPipeline, LongCatchUpComesInPagesPacedByTheSendQueue) {
    engine.emplace(*store, directory, *this, clock, StorageEngine::Options{24LL * 3600 * 1000, 10, 0, 1000});
    SessionState a_st;
    RecordingSession a;
    login(shard0, a_st, a, "alice");
    for (int i = 0; i < 25; ++i) {
        chat(shard0, a_st, a, "bob", std::to_string(i));
    }
    pump();
    SessionState b_st;
    RecordingSession b;
    b.queued = 1 << 20; // a full send queue: the next page waits
    shard1.on_text(b_st, b, R"({"type":"login","user_id":"bob"})");
    pump();
    EXPECT_EQ(b.of_type("chat").size(), 10u);
    EXPECT_TRUE(b_st.wants_next_page);
    b.queued = 0;
    shard1.on_send_queue_drained(b_st, b);
    pump();
    const auto chats = b.of_type("chat");
    ASSERT_EQ(chats.size(), 25u);
    for (int i = 0; i < 25; ++i) {
        EXPECT_EQ(chats[i].at("message").as_string(), std::to_string(i));
    }
    EXPECT_EQ(b.last_type(), "synced");
}

TEST_F(ChatPipeline, SenderFasterThanStorageIsPausedUntilAcksReturn) {
    SessionState a_st;
    RecordingSession a;
    login(shard0, a_st, a, "alice");
    const std::string text(10 * 1024, 'x');
    int sent = 0;
    while (a_st.may_read(shard0.max_inflight_bytes())) {
        chat(shard0, a_st, a, "bob", text);
        ++sent;
        ASSERT_LT(sent, 1000) << "the in-flight budget never ran out";
    }
    EXPECT_GE(a_st.inflight_bytes, shard0.max_inflight_bytes());
    a_st.reading_paused = true; // what net does when may_read() turns false
    pump();
    EXPECT_EQ(a.of_type("ack").size(), static_cast<std::size_t>(sent));
    EXPECT_EQ(a_st.inflight_bytes, 0u);
    EXPECT_FALSE(a_st.reading_paused);
    EXPECT_EQ(a.resumed, 1) << "acks woke the paused connection once";
}

TEST_F(ChatPipeline, RetryWithTheSameIdIsStoredOnce) {
    SessionState a_st, b_st;
    RecordingSession a, b;
    login(shard0, a_st, a, "alice");
    login(shard1, b_st, b, "bob");
    chat(shard0, a_st, a, "bob", "once", "\"r1\"");
    pump();
    chat(shard0, a_st, a, "bob", "once", "\"r1\"");
    pump();
    const auto acks = a.of_type("ack");
    ASSERT_EQ(acks.size(), 2u);
    EXPECT_EQ(acks[0].at("msg_id"), acks[1].at("msg_id"));
    EXPECT_TRUE(acks[1].at("duplicate").as_bool());
    EXPECT_EQ(b.of_type("chat").size(), 1u);
}

TEST_F(ChatPipeline, HistoryAndConversationsAreScopedToTheUser) {
    SessionState a_st, b_st, c_st;
    RecordingSession a, b, c;
    login(shard0, a_st, a, "alice");
    login(shard1, b_st, b, "bob");
    login(shard1, c_st, c, "carol");
    chat(shard0, a_st, a, "bob", "ab1");
    chat(shard1, c_st, c, "bob", "cb1");
    chat(shard1, b_st, b, "alice", "ba1");
    pump();
    shard0.on_text(a_st, a, R"({"type":"history","peer":"bob","id":9})");
    pump();
    const auto history = a.of_type("history");
    ASSERT_EQ(history.size(), 1u);
    const auto& messages = history[0].at("messages").as_array();
    ASSERT_EQ(messages.size(), 2u);
    EXPECT_EQ(messages[0].at("message").as_string(), "ba1") << "newest first";
    EXPECT_EQ(messages[1].at("message").as_string(), "ab1");
    // Alice asking for carol's conversation with bob sees only her own (empty) one with carol.
    shard0.on_text(a_st, a, R"({"type":"history","peer":"carol"})");
    pump();
    EXPECT_TRUE(a.of_type("history").back().at("messages").as_array().empty());

    shard1.on_text(b_st, b, R"({"type":"conversations"})");
    pump();
    const auto list = b.of_type("conversations");
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].at("conversations").as_array().size(), 2u);
}

TEST_F(ChatPipeline, ReadReceiptReachesTheSenderAndClearsUnread) {
    SessionState a_st, b_st, b2_st;
    RecordingSession a, b, b2;
    login(shard0, a_st, a, "alice");
    login(shard1, b_st, b, "bob");
    login(shard0, b2_st, b2, "bob");
    chat(shard0, a_st, a, "bob", "read me");
    pump();
    const auto msg_id = b.of_type("chat").at(0).at("msg_id").as_int64();
    shard1.on_text(b_st, b,
                   R"({"type":"receipt","status":"read","peer":"alice","up_to":)" + std::to_string(msg_id) +
                       "}");
    pump();
    ASSERT_EQ(a.last_type(), "receipt");
    EXPECT_EQ(a.received.back().at("status").as_string(), "read");
    EXPECT_EQ(a.received.back().at("user_id").as_string(), "bob");
    EXPECT_EQ(a.received.back().at("up_to").as_int64(), msg_id);
    EXPECT_EQ(b2.last_type(), "receipt") << "the reader's other devices learn it too";
    shard1.on_text(b_st, b, R"({"type":"conversations"})");
    pump();
    EXPECT_EQ(b.of_type("conversations").back().at("conversations").as_array().at(0).at("unread").as_int64(),
              0);
}

TEST_F(ChatPipeline, ClosedSessionIsForgottenAndDirectoryCleared) {
    SessionState b_st, a_st;
    RecordingSession b, a;
    login(shard1, b_st, b, "bob");
    login(shard0, a_st, a, "alice");
    shard1.on_closed(b_st, b);
    EXPECT_EQ(directory.shards_of("bob"), 0u);
    chat(shard0, a_st, a, "bob", "gone");
    pump();
    EXPECT_TRUE(b.of_type("chat").empty());
    EXPECT_EQ(a.last_type(), "ack");
}

TEST_F(ChatPipeline, ErrorsCarryTheRequestId) {
    SessionState st;
    RecordingSession s;
    shard0.on_text(st, s, R"({"type":"chat","to_user_id":"bob","message":"x","id":7})");
    ASSERT_EQ(s.last_type(), "error");
    EXPECT_EQ(s.received.back().at("code").as_string(), "not_logged_in");
    EXPECT_EQ(s.received.back().at("ref").as_int64(), 7);
}

TEST_F(ChatPipeline, SecondLoginOnOneSessionIsRefused) {
    SessionState st;
    RecordingSession s;
    login(shard0, st, s, "alice");
    shard0.on_text(st, s, R"({"type":"login","user_id":"mallory"})");
    EXPECT_EQ(s.received.back().at("code").as_string(), "already_logged_in");
    EXPECT_EQ(st.user_id, "alice");
    EXPECT_EQ(directory.shards_of("mallory"), 0u);
}

} // namespace
} // namespace parley::chat
