#include "store/message_store.hpp"

#include "store/journal_store.hpp"
#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"
#include "temp_dir.hpp"
#include "test_chat.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

// The MessageStore contract, one test body for every implementation. A new backend (PostgreSQL)
// adds a Backend struct to the list at the bottom and must pass all of it unchanged.

namespace parley::store {
namespace {

using testing_support::TempDir;

struct MemoryBackend {
    static std::unique_ptr<MessageStore> open(const std::filesystem::path&) { return make_memory_store(); }
};

struct SqliteBackend {
    static std::unique_ptr<MessageStore> open(const std::filesystem::path& dir) {
        // NORMAL: the contract is the same, and the suite runs faster without an fsync a commit.
        return open_sqlite_store(dir, SqliteOptions{.sync = sqlite_sync::normal});
    }
};

// The SQLite store with every append followed by maintain() and a pass as soon as one message
// waits, so every read goes through the runs a pass writes (the plain backend reads its tail).
class SqliteAfterEveryPass final : public MessageStore {
public:
    explicit SqliteAfterEveryPass(const std::filesystem::path& dir)
        : store_(
              open_sqlite_store(dir, SqliteOptions{.sync = sqlite_sync::normal, .index_pass_messages = 1})) {}

    bool waits_on_io() const override { return true; }
    boost::system::result<std::vector<AppendResult>>
    append(std::span<const NewMessage> batch, std::int64_t now_ms, std::int64_t window_ms) override {
        auto stored = store_->append(batch, now_ms, window_ms);
        if (stored) {
            EXPECT_TRUE(store_->maintain().has_value());
        }
        return stored;
    }
    boost::system::result<std::vector<InboxEntry>> inbox_since(const std::string& user, std::uint64_t since,
                                                               std::size_t limit) override {
        return store_->inbox_since(user, since, limit);
    }
    boost::system::result<std::uint64_t> last_seq(const std::string& user) override {
        return store_->last_seq(user);
    }
    boost::system::result<std::uint64_t> pushed_seq(const std::string& user) override {
        return store_->pushed_seq(user);
    }
    boost::system::result<void> set_pushed_seq(const std::string& user, std::uint64_t seq) override {
        return store_->set_pushed_seq(user, seq);
    }
    boost::system::result<std::vector<StoredMessage>> history(const std::string& user,
                                                              const std::string& peer, std::uint64_t before,
                                                              std::size_t limit) override {
        return store_->history(user, peer, before, limit);
    }
    boost::system::result<std::vector<Conversation>> conversations(const std::string& user) override {
        return store_->conversations(user);
    }
    boost::system::result<std::vector<std::uint64_t>>
    record_receipts(std::span<const Receipt> receipts) override {
        return store_->record_receipts(receipts);
    }
    boost::system::result<void> maintain() override { return store_->maintain(); }
    boost::system::result<std::size_t> prune(std::int64_t before_ms, std::size_t max_messages) override {
        return store_->prune(before_ms, max_messages);
    }

private:
    std::unique_ptr<MessageStore> store_;
};

struct SqliteRunsBackend {
    static std::unique_ptr<MessageStore> open(const std::filesystem::path& dir) {
        return std::make_unique<SqliteAfterEveryPass>(dir);
    }
};

// Every call through the journal, fdatasync included: the suite is small enough.
struct JournalBackend {
    static std::unique_ptr<MessageStore> open(const std::filesystem::path& dir) {
        return open_journal_store(dir);
    }
};

constexpr std::int64_t t0 = 1'700'000'000'000; // ms
constexpr std::int64_t day = std::int64_t{24} * 3600 * 1000;

using testing_support::chat;

template <class Backend> class MessageStoreContract : public ::testing::Test {
protected:
    MessageStoreContract() : store(Backend::open(dir.path())) {}

    // Appends and expects success; one result per input.
    std::vector<AppendResult> append(const std::vector<NewMessage>& batch, std::int64_t now = t0,
                                     std::int64_t window = day) {
        auto r = store->append(batch, now, window);
        EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
        if (!r) {
            return {};
        }
        EXPECT_EQ(r->size(), batch.size());
        return *r;
    }

    StoredMessage send(const std::string& from, const std::string& to, const std::string& text,
                       std::int64_t now = t0) {
        auto results = append({chat(from, to, text)}, now);
        if (results.empty()) {
            return {};
        }
        const AppendResult& r = results.front();
        return StoredMessage{r.msg_id, r.ts_ms, from, to, text, r.from_seq, r.to_seq};
    }

    std::vector<InboxEntry> inbox(const std::string& user, std::uint64_t since = 0,
                                  std::size_t limit = 1000) {
        auto r = store->inbox_since(user, since, limit);
        EXPECT_TRUE(r.has_value());
        return r ? *r : std::vector<InboxEntry>{};
    }

    std::vector<StoredMessage> history(const std::string& user, const std::string& peer,
                                       std::uint64_t before = 0, std::size_t limit = 1000) {
        auto r = store->history(user, peer, before, limit);
        EXPECT_TRUE(r.has_value());
        return r ? *r : std::vector<StoredMessage>{};
    }

    std::vector<Conversation> conversations(const std::string& user) {
        auto r = store->conversations(user);
        EXPECT_TRUE(r.has_value());
        return r ? *r : std::vector<Conversation>{};
    }

    std::uint64_t receipt(const std::string& user, const std::string& peer, receipt_kind kind,
                          std::uint64_t up_to) {
        auto r = store->record_receipt(Receipt{user, peer, kind, up_to});
        EXPECT_TRUE(r.has_value());
        return r ? *r : 0;
    }

    std::uint64_t last_seq(const std::string& user) {
        auto r = store->last_seq(user);
        EXPECT_TRUE(r.has_value());
        return r ? *r : 0;
    }

    std::uint64_t pushed_seq(const std::string& user) {
        auto r = store->pushed_seq(user);
        EXPECT_TRUE(r.has_value());
        return r ? *r : 0;
    }

    std::size_t prune(std::int64_t before_ms, std::size_t max) {
        auto r = store->prune(before_ms, max);
        EXPECT_TRUE(r.has_value());
        return r ? *r : 0;
    }

    const Conversation* find_conversation(const std::vector<Conversation>& list, const std::string& peer) {
        const auto it =
            std::find_if(list.begin(), list.end(), [&](const Conversation& c) { return c.peer == peer; });
        return it == list.end() ? nullptr : &*it;
    }

    static std::vector<std::uint64_t> ids(const std::vector<StoredMessage>& messages) {
        std::vector<std::uint64_t> out;
        for (const StoredMessage& m : messages) {
            out.push_back(m.msg_id);
        }
        return out;
    }

    static std::vector<std::uint64_t> seqs(const std::vector<InboxEntry>& entries) {
        std::vector<std::uint64_t> out;
        for (const InboxEntry& e : entries) {
            out.push_back(e.seq);
        }
        return out;
    }

    TempDir dir;
    std::unique_ptr<MessageStore> store;
};

using Backends = ::testing::Types<MemoryBackend, SqliteBackend, SqliteRunsBackend, JournalBackend>;

class BackendNames {
public:
    template <class T> static std::string GetName(int) {
        if constexpr (std::is_same_v<T, MemoryBackend>) {
            return "memory";
        } else if constexpr (std::is_same_v<T, SqliteBackend>) {
            return "sqlite";
        } else if constexpr (std::is_same_v<T, SqliteRunsBackend>) {
            return "sqlite_runs";
        } else {
            return "journal";
        }
    }
};

TYPED_TEST_SUITE(MessageStoreContract, Backends, BackendNames);

// --- append ----------------------------------------------------------------------------------

TYPED_TEST(MessageStoreContract, EmptyBatchStoresNothing) {
    EXPECT_TRUE(this->append({}).empty());
    EXPECT_EQ(this->last_seq("alice"), 0u);
}

TYPED_TEST(MessageStoreContract, AssignsIncreasingMsgIdsAndTheGivenTs) {
    const auto results = this->append(
        {chat("alice", "bob", "one"), chat("bob", "alice", "two"), chat("carol", "dave", "three")});
    ASSERT_EQ(results.size(), 3u);
    std::uint64_t previous = 0;
    for (const AppendResult& r : results) {
        EXPECT_FALSE(r.duplicate);
        EXPECT_GT(r.msg_id, previous);
        EXPECT_EQ(r.ts_ms, t0);
        previous = r.msg_id;
    }
    const auto bob = this->inbox("bob"); // "one", then "two"
    ASSERT_EQ(bob.size(), 2u);
    EXPECT_EQ(bob[0].message.msg_id, results[0].msg_id);
    EXPECT_EQ(bob[0].message.from, "alice");
    EXPECT_EQ(bob[0].message.to, "bob");
    EXPECT_EQ(bob[0].message.text, "one");
    EXPECT_EQ(bob[0].message.to_seq, results[0].to_seq);
    const auto later = this->send("alice", "bob", "four", t0 + 5);
    EXPECT_GT(later.msg_id, previous);
    EXPECT_EQ(later.ts_ms, t0 + 5);
}

TYPED_TEST(MessageStoreContract, MessageLandsInBothInboxesWithEachUsersSeq) {
    this->send("carol", "alice", "warm-up"); // alice's seq 1
    const auto m = this->send("alice", "bob", "hello");
    EXPECT_EQ(m.from_seq, 2u);
    EXPECT_EQ(m.to_seq, 1u);

    const auto alice = this->inbox("alice");
    ASSERT_EQ(alice.size(), 2u);
    EXPECT_EQ(alice[1].seq, 2u);
    EXPECT_EQ(alice[1].message.msg_id, m.msg_id);
    EXPECT_EQ(alice[1].message.text, "hello");
    EXPECT_EQ(alice[1].message.from_seq, 2u);
    EXPECT_EQ(alice[1].message.to_seq, 1u);

    const auto bob = this->inbox("bob");
    ASSERT_EQ(bob.size(), 1u);
    EXPECT_EQ(bob[0].seq, 1u);
    EXPECT_EQ(bob[0].message.msg_id, m.msg_id);
    EXPECT_EQ(bob[0].message.from, "alice");
    EXPECT_EQ(bob[0].message.to, "bob");
}

TYPED_TEST(MessageStoreContract, SeqsAreGapFreeAndIncreasingPerUser) {
    const std::vector<std::string> users{"alice", "bob", "carol"};
    std::vector<NewMessage> batch;
    for (int i = 0; i < 30; ++i) {
        batch.push_back(chat(users[i % 3], users[(i * 7 + 1) % 3], "m" + std::to_string(i)));
    }
    this->append(batch);
    this->append({chat("bob", "carol", "again"), chat("carol", "carol", "note")});
    for (const std::string& user : users) {
        const auto entries = this->inbox(user);
        ASSERT_FALSE(entries.empty()) << user;
        std::uint64_t previous_id = 0;
        for (std::size_t i = 0; i < entries.size(); ++i) {
            EXPECT_EQ(entries[i].seq, i + 1) << user;
            EXPECT_GT(entries[i].message.msg_id, previous_id) << user; // seq order is commit order
            previous_id = entries[i].message.msg_id;
            const StoredMessage& m = entries[i].message;
            EXPECT_TRUE(m.from == user || m.to == user);
            EXPECT_EQ(m.from == user ? m.from_seq : m.to_seq, entries[i].seq);
        }
        EXPECT_EQ(this->last_seq(user), entries.size()) << user;
    }
    EXPECT_EQ(this->last_seq("nobody"), 0u);
}

TYPED_TEST(MessageStoreContract, ChatToOneselfTakesOneInboxEntry) {
    const auto note = this->send("alice", "alice", "note to self");
    EXPECT_EQ(note.from_seq, 1u);
    EXPECT_EQ(note.to_seq, 1u);
    const auto entries = this->inbox("alice");
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].message.msg_id, note.msg_id);
    EXPECT_EQ(this->last_seq("alice"), 1u);
    const auto next = this->send("alice", "bob", "hi");
    EXPECT_EQ(next.from_seq, 2u);
    EXPECT_EQ(this->history("alice", "alice").size(), 1u);
    EXPECT_EQ(this->history("alice", "bob").size(), 1u);
}

// --- idempotency ---------------------------------------------------------------------------

TYPED_TEST(MessageStoreContract, RepeatedClientIdWithinWindowIsStoredOnce) {
    const auto first = this->append({chat("alice", "bob", "hello", "\"c1\"")}, t0).front();
    EXPECT_FALSE(first.duplicate);
    const auto retry = this->append({chat("alice", "bob", "hello again", "\"c1\"")}, t0 + day - 1).front();
    EXPECT_TRUE(retry.duplicate);
    EXPECT_EQ(retry.msg_id, first.msg_id);
    EXPECT_EQ(retry.ts_ms, first.ts_ms);
    EXPECT_EQ(retry.from_seq, first.from_seq);
    EXPECT_EQ(retry.to_seq, first.to_seq);
    const auto bob = this->inbox("bob");
    ASSERT_EQ(bob.size(), 1u);
    EXPECT_EQ(bob[0].message.text, "hello") << "the retry changed nothing";
    EXPECT_EQ(this->last_seq("alice"), 1u);
    // Nothing was assigned to the duplicate: the next message follows without a gap.
    const auto next = this->send("alice", "bob", "next", t0 + 1);
    EXPECT_EQ(next.from_seq, 2u);
    EXPECT_EQ(next.to_seq, 2u);
}

TYPED_TEST(MessageStoreContract, RepeatedClientIdInOneBatchIsADuplicateOfTheFirst) {
    const auto results = this->append({chat("alice", "bob", "a", "7"), chat("alice", "carol", "b"),
                                       chat("alice", "bob", "a", "7"), chat("alice", "bob", "c", "8")});
    ASSERT_EQ(results.size(), 4u);
    EXPECT_FALSE(results[0].duplicate);
    EXPECT_FALSE(results[1].duplicate);
    EXPECT_TRUE(results[2].duplicate);
    EXPECT_EQ(results[2].msg_id, results[0].msg_id);
    EXPECT_FALSE(results[3].duplicate);
    EXPECT_EQ(this->inbox("alice").size(), 3u);
    EXPECT_EQ(this->inbox("bob").size(), 2u);
}

TYPED_TEST(MessageStoreContract, ClientIdsBelongToTheirSender) {
    const auto results =
        this->append({chat("alice", "bob", "a", "\"x\""), chat("bob", "alice", "b", "\"x\"")});
    EXPECT_FALSE(results[0].duplicate);
    EXPECT_FALSE(results[1].duplicate);
    EXPECT_NE(results[0].msg_id, results[1].msg_id);
}

TYPED_TEST(MessageStoreContract, EmptyClientIdNeverDeduplicates) {
    const auto results = this->append({chat("alice", "bob", "same"), chat("alice", "bob", "same")});
    EXPECT_FALSE(results[1].duplicate);
    EXPECT_EQ(this->inbox("bob").size(), 2u);
}

TYPED_TEST(MessageStoreContract, ClientIdOutsideTheWindowIsANewMessage) {
    const auto first = this->append({chat("alice", "bob", "one", "\"c\"")}, t0).front();
    const auto later = this->append({chat("alice", "bob", "two", "\"c\"")}, t0 + day + 1).front();
    EXPECT_FALSE(later.duplicate);
    EXPECT_GT(later.msg_id, first.msg_id);
    // Within the window of the newer one, a retry matches the newer one.
    const auto retry = this->append({chat("alice", "bob", "two", "\"c\"")}, t0 + day + 2).front();
    EXPECT_TRUE(retry.duplicate);
    EXPECT_EQ(retry.msg_id, later.msg_id);
}

TYPED_TEST(MessageStoreContract, IdsOutOfOrderInOneBatchAreRememberedAll) {
    // The memory store files ids above all a sender used before beside the sender, the others in
    // its table: here "k5" goes first and "k3", above all ids before the batch, comes after it.
    this->append({chat("alice", "bob", "k1", "\"k1\"")}, t0);
    const auto batch =
        this->append({chat("alice", "bob", "k5", "\"k5\""), chat("alice", "bob", "k3", "\"k3\"")}, t0);
    ASSERT_EQ(batch.size(), 2u);
    const auto retries =
        this->append({chat("alice", "bob", "k3", "\"k3\""), chat("alice", "bob", "k5", "\"k5\""),
                      chat("alice", "bob", "k1", "\"k1\""), chat("alice", "bob", "k4", "\"k4\"")},
                     t0 + 1);
    ASSERT_EQ(retries.size(), 4u);
    EXPECT_TRUE(retries[0].duplicate);
    EXPECT_EQ(retries[0].msg_id, batch[1].msg_id);
    EXPECT_TRUE(retries[1].duplicate);
    EXPECT_EQ(retries[1].msg_id, batch[0].msg_id);
    EXPECT_TRUE(retries[2].duplicate);
    EXPECT_FALSE(retries[3].duplicate) << "k4 was never sent";
    EXPECT_EQ(this->inbox("bob").size(), 4u);
}

TYPED_TEST(MessageStoreContract, CountingIdsOfEveryLengthAreRemembered) {
    // The memory store keeps a sender's highest id inside its user record up to 39 bytes and in a
    // block of its own past that: ids counting up from 30 to 60 bytes (quotes included) cross
    // that line both ways, then a long one falls back to a short one that is above it no more.
    std::vector<std::string> ids;
    for (std::size_t length = 28; length <= 58; length += 3) {
        ids.push_back("\"" + std::string(length - 1, '0') + std::to_string(length % 10) + "\"");
    }
    std::vector<NewMessage> firsts;
    for (const std::string& id : ids) {
        firsts.push_back(chat("alice", "bob", "text " + id, id));
    }
    const auto stored = this->append(firsts, t0);
    ASSERT_EQ(stored.size(), ids.size());
    std::vector<NewMessage> retries;
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
        retries.push_back(chat("alice", "bob", "text " + *it, *it));
    }
    retries.push_back(chat("alice", "bob", "short", "\"z\""));
    retries.push_back(chat("alice", "bob", "long again", "\"" + std::string(70, '9') + "\""));
    const auto again = this->append(retries, t0 + 1);
    ASSERT_EQ(again.size(), ids.size() + 2);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        EXPECT_TRUE(again[i].duplicate) << ids[ids.size() - 1 - i];
        EXPECT_EQ(again[i].msg_id, stored[ids.size() - 1 - i].msg_id);
    }
    EXPECT_FALSE(again[ids.size()].duplicate) << "a short id never sent";
    EXPECT_FALSE(again[ids.size() + 1].duplicate) << "the longest id, never sent";
    const auto last = this->append({chat("alice", "bob", "short", "\"z\"")}, t0 + 2).front();
    EXPECT_TRUE(last.duplicate);
    EXPECT_EQ(last.msg_id, again[ids.size()].msg_id);
    EXPECT_EQ(this->inbox("bob").size(), ids.size() + 2);
}

TYPED_TEST(MessageStoreContract, WindowOfZeroTurnsDedupOff) {
    this->append({chat("alice", "bob", "one", "\"c\"")}, t0, 0);
    const auto again = this->append({chat("alice", "bob", "one", "\"c\"")}, t0, 0).front();
    EXPECT_FALSE(again.duplicate);
    EXPECT_EQ(this->inbox("bob").size(), 2u);
}

// --- inbox ---------------------------------------------------------------------------------

TYPED_TEST(MessageStoreContract, InboxSincePagesInSeqOrder) {
    std::vector<NewMessage> batch;
    for (int i = 0; i < 10; ++i) {
        batch.push_back(chat(i % 2 == 0 ? "bob" : "alice", i % 2 == 0 ? "alice" : "bob", std::to_string(i)));
    }
    this->append(batch);
    EXPECT_EQ(this->seqs(this->inbox("alice", 0, 3)), (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(this->seqs(this->inbox("alice", 3, 3)), (std::vector<std::uint64_t>{4, 5, 6}));
    EXPECT_EQ(this->seqs(this->inbox("alice", 9, 3)), (std::vector<std::uint64_t>{10}));
    EXPECT_TRUE(this->inbox("alice", 10, 3).empty());
    EXPECT_TRUE(this->inbox("alice", 0, 0).empty());
    EXPECT_TRUE(this->inbox("nobody", 0, 10).empty());
    const auto page = this->inbox("alice", 4, 2);
    EXPECT_EQ(page[0].message.text, "4");
    EXPECT_EQ(page[1].message.text, "5");
}

// --- history -------------------------------------------------------------------------------

TYPED_TEST(MessageStoreContract, HistoryIsNewestFirstAndPagesWithBefore) {
    std::vector<std::uint64_t> sent;
    for (int i = 0; i < 7; ++i) {
        sent.push_back(
            this->send(i % 2 == 0 ? "alice" : "bob", i % 2 == 0 ? "bob" : "alice", std::to_string(i)).msg_id);
        this->send("carol", "alice", "noise"); // interleaved ids from another conversation
    }
    const std::vector<std::uint64_t> newest_first(sent.rbegin(), sent.rend());
    EXPECT_EQ(this->ids(this->history("alice", "bob")), newest_first);
    EXPECT_EQ(this->ids(this->history("bob", "alice")), newest_first); // one conversation, both sides

    const auto page1 = this->history("alice", "bob", 0, 3);
    EXPECT_EQ(this->ids(page1), (std::vector<std::uint64_t>{sent[6], sent[5], sent[4]}));
    const auto page2 = this->history("alice", "bob", page1.back().msg_id, 3);
    EXPECT_EQ(this->ids(page2), (std::vector<std::uint64_t>{sent[3], sent[2], sent[1]}));
    const auto page3 = this->history("alice", "bob", page2.back().msg_id, 3);
    EXPECT_EQ(this->ids(page3), (std::vector<std::uint64_t>{sent[0]}));
    EXPECT_TRUE(this->history("alice", "bob", sent[0], 3).empty());
    EXPECT_TRUE(this->history("alice", "bob", 0, 0).empty());
    EXPECT_EQ(page1[0].text, "6");
    EXPECT_EQ(page1[0].from, "alice");
    EXPECT_EQ(page1[1].from, "bob");
}

TYPED_TEST(MessageStoreContract, HistoryNeverShowsAnotherConversation) {
    this->append({chat("alice", "bob", "ab"), chat("bob", "alice", "ba"), chat("alice", "carol", "ac"),
                  chat("carol", "bob", "cb"), chat("bob", "carol", "bc"), chat("alice", "alice", "aa"),
                  chat("bob", "bob", "bb")});
    for (const auto& [user, peer] : std::vector<std::pair<std::string, std::string>>{
             {"alice", "bob"}, {"alice", "carol"}, {"bob", "carol"}, {"alice", "alice"}, {"bob", "bob"}}) {
        const std::set<std::string> allowed{user, peer};
        for (const StoredMessage& m : this->history(user, peer)) {
            EXPECT_TRUE(allowed.count(m.from) == 1 && allowed.count(m.to) == 1)
                << user << "/" << peer << " sees " << m.from << "->" << m.to;
        }
    }
    EXPECT_EQ(this->history("alice", "bob").size(), 2u);
    EXPECT_EQ(this->history("carol", "bob").size(), 2u);
    EXPECT_EQ(this->history("alice", "alice").size(), 1u);
    EXPECT_TRUE(this->history("alice", "dave").empty());
    EXPECT_TRUE(this->history("dave", "erin").empty());
}

// --- conversations and receipts ------------------------------------------------------------

TYPED_TEST(MessageStoreContract, ConversationsAreOnePerPeerMostRecentFirst) {
    this->send("alice", "bob", "1");
    this->send("carol", "alice", "2");
    const auto last_with_bob = this->send("bob", "alice", "3");
    this->send("bob", "carol", "not alice's");
    const auto list = this->conversations("alice");
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0].peer, "bob");
    EXPECT_EQ(list[0].last.msg_id, last_with_bob.msg_id);
    EXPECT_EQ(list[0].last.text, "3");
    EXPECT_EQ(list[0].last.from, "bob");
    EXPECT_EQ(list[1].peer, "carol");
    EXPECT_EQ(list[1].last.text, "2");

    const auto bobs = this->conversations("bob");
    ASSERT_EQ(bobs.size(), 2u);
    EXPECT_EQ(bobs[0].peer, "carol");
    EXPECT_EQ(bobs[1].peer, "alice");
    EXPECT_TRUE(this->conversations("nobody").empty());
}

TYPED_TEST(MessageStoreContract, UnreadCountsFollowReadReceipts) {
    const auto b1 = this->send("bob", "alice", "b1");
    const auto b2 = this->send("bob", "alice", "b2");
    this->send("alice", "bob", "a1");
    const auto b3 = this->send("bob", "alice", "b3");
    this->send("carol", "alice", "c1");

    auto alice = this->conversations("alice");
    ASSERT_NE(this->find_conversation(alice, "bob"), nullptr);
    EXPECT_EQ(this->find_conversation(alice, "bob")->unread, 3u); // only bob's messages count
    EXPECT_EQ(this->find_conversation(alice, "carol")->unread, 1u);
    EXPECT_EQ(this->find_conversation(this->conversations("bob"), "alice")->unread, 1u);

    EXPECT_EQ(this->receipt("alice", "bob", receipt_kind::read, b2.msg_id), b2.msg_id);
    alice = this->conversations("alice");
    EXPECT_EQ(this->find_conversation(alice, "bob")->unread, 1u);
    EXPECT_EQ(this->find_conversation(alice, "bob")->read_up_to, b2.msg_id);
    EXPECT_EQ(this->find_conversation(alice, "carol")->unread, 1u); // other conversations untouched
    const auto bob = this->conversations("bob");
    EXPECT_EQ(this->find_conversation(bob, "alice")->peer_read_up_to, b2.msg_id);
    EXPECT_EQ(this->find_conversation(bob, "alice")->peer_delivered_up_to, b2.msg_id); // read implies it
    EXPECT_EQ(this->find_conversation(bob, "alice")->read_up_to, 0u);

    this->receipt("alice", "bob", receipt_kind::read, b3.msg_id);
    EXPECT_EQ(this->find_conversation(this->conversations("alice"), "bob")->unread, 0u);
    (void)b1;
}

TYPED_TEST(MessageStoreContract, ReceiptMarksOnlyMoveForward) {
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 5; ++i) {
        ids.push_back(this->send("bob", "alice", std::to_string(i)).msg_id);
    }
    EXPECT_EQ(this->receipt("alice", "bob", receipt_kind::delivered, ids[3]), ids[3]);
    EXPECT_EQ(this->receipt("alice", "bob", receipt_kind::delivered, ids[1]), ids[3]);
    EXPECT_EQ(this->receipt("alice", "bob", receipt_kind::read, ids[2]), ids[2]);
    EXPECT_EQ(this->receipt("alice", "bob", receipt_kind::read, ids[0]), ids[2]);
    // read implies delivered: a read mark above the delivered mark raises it.
    EXPECT_EQ(this->receipt("alice", "bob", receipt_kind::read, ids[4]), ids[4]);
    EXPECT_EQ(this->receipt("alice", "bob", receipt_kind::delivered, ids[0]), ids[4]);
    const auto bob = this->conversations("bob");
    EXPECT_EQ(this->find_conversation(bob, "alice")->peer_read_up_to, ids[4]);
    EXPECT_EQ(this->find_conversation(bob, "alice")->peer_delivered_up_to, ids[4]);
}

TYPED_TEST(MessageStoreContract, ReceiptIsClampedToTheConversationsLastMessage) {
    const auto m = this->send("bob", "alice", "only");
    EXPECT_EQ(this->receipt("alice", "bob", receipt_kind::read, m.msg_id + 1000), m.msg_id);
    const auto next = this->send("bob", "alice", "later");
    EXPECT_EQ(this->find_conversation(this->conversations("alice"), "bob")->unread, 1u);
    EXPECT_EQ(this->receipt("alice", "bob", receipt_kind::read, next.msg_id), next.msg_id);
}

TYPED_TEST(MessageStoreContract, ReceiptWithoutAConversationStoresNothing) {
    this->send("alice", "bob", "hi");
    this->send("carol", "dave", "hi");
    EXPECT_EQ(this->receipt("alice", "nobody", receipt_kind::read, 5), 0u);
    EXPECT_EQ(this->receipt("alice", "carol", receipt_kind::delivered, 5), 0u);
    EXPECT_EQ(this->receipt("nobody", "alice", receipt_kind::read, 5), 0u);
    const auto list = this->conversations("alice");
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].peer, "bob");
    EXPECT_TRUE(this->conversations("nobody").empty());
}

TYPED_TEST(MessageStoreContract, ReceiptsInOneBatchApplyInOrder) {
    const auto b1 = this->send("bob", "alice", "1");
    const auto b2 = this->send("bob", "alice", "2");
    const std::vector<Receipt> batch{{"alice", "bob", receipt_kind::delivered, b2.msg_id},
                                     {"alice", "bob", receipt_kind::read, b1.msg_id},
                                     {"alice", "nobody", receipt_kind::read, b1.msg_id},
                                     {"alice", "bob", receipt_kind::delivered, b1.msg_id}};
    auto marks = this->store->record_receipts(batch);
    ASSERT_TRUE(marks.has_value());
    EXPECT_EQ(*marks, (std::vector<std::uint64_t>{b2.msg_id, b1.msg_id, 0, b2.msg_id}));
    EXPECT_TRUE(this->store->record_receipts({})->empty());
}

TYPED_TEST(MessageStoreContract, ChatWithOneselfIsAConversation) {
    const auto note = this->send("alice", "alice", "note");
    const auto list = this->conversations("alice");
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].peer, "alice");
    EXPECT_EQ(list[0].last.msg_id, note.msg_id);
    EXPECT_EQ(list[0].unread, 1u);
    EXPECT_EQ(this->receipt("alice", "alice", receipt_kind::read, note.msg_id), note.msg_id);
    EXPECT_EQ(this->conversations("alice")[0].unread, 0u);
    EXPECT_EQ(this->conversations("alice")[0].peer_read_up_to, note.msg_id);
}

// --- pushed_seq ----------------------------------------------------------------------------

TYPED_TEST(MessageStoreContract, PushedSeqOnlyRisesAndNeverPassesLastSeq) {
    for (int i = 0; i < 5; ++i) {
        this->send("bob", "alice", std::to_string(i));
    }
    EXPECT_EQ(this->pushed_seq("alice"), 0u);
    ASSERT_TRUE(this->store->set_pushed_seq("alice", 3).has_value());
    EXPECT_EQ(this->pushed_seq("alice"), 3u);
    ASSERT_TRUE(this->store->set_pushed_seq("alice", 2).has_value());
    EXPECT_EQ(this->pushed_seq("alice"), 3u);
    ASSERT_TRUE(this->store->set_pushed_seq("alice", 99).has_value());
    EXPECT_EQ(this->pushed_seq("alice"), 5u);
    EXPECT_EQ(this->pushed_seq("bob"), 0u);
    ASSERT_TRUE(this->store->set_pushed_seq("nobody", 4).has_value());
    EXPECT_EQ(this->pushed_seq("nobody"), 0u);
}

// --- prune ---------------------------------------------------------------------------------

TYPED_TEST(MessageStoreContract, PruneDeletesTheOldestFirstInSteps) {
    const auto old1 = this->send("alice", "bob", "old1", t0);
    const auto old2 = this->send("bob", "alice", "old2", t0 + 10);
    const auto old3 = this->send("alice", "bob", "old3", t0 + 20);
    const auto fresh = this->send("alice", "bob", "fresh", t0 + 100);

    EXPECT_EQ(this->prune(t0 + 50, 0), 0u);
    EXPECT_EQ(this->prune(t0 + 50, 2), 2u);
    EXPECT_EQ(this->ids(this->history("alice", "bob")),
              (std::vector<std::uint64_t>{fresh.msg_id, old3.msg_id}));
    EXPECT_EQ(this->prune(t0 + 50, 2), 1u);
    EXPECT_EQ(this->prune(t0 + 50, 2), 0u);
    EXPECT_EQ(this->ids(this->history("alice", "bob")), (std::vector<std::uint64_t>{fresh.msg_id}));

    // Their inbox entries went with them; the survivors keep their seqs.
    const auto alice = this->inbox("alice");
    ASSERT_EQ(alice.size(), 1u);
    EXPECT_EQ(alice[0].seq, 4u);
    EXPECT_EQ(alice[0].message.msg_id, fresh.msg_id);
    EXPECT_EQ(this->seqs(this->inbox("bob")), (std::vector<std::uint64_t>{4}));
    EXPECT_EQ(this->seqs(this->inbox("bob", 1, 10)), (std::vector<std::uint64_t>{4}));
    (void)old1;
    (void)old2;
}

TYPED_TEST(MessageStoreContract, PruneStopsAtTheFirstMessageThatIsNotOldEnough) {
    this->send("alice", "bob", "old", t0);
    this->send("alice", "bob", "new", t0 + 100);
    this->send("alice", "bob", "clock stepped back", t0 + 10);
    EXPECT_EQ(this->prune(t0 + 50, 10), 1u);
    EXPECT_EQ(this->history("alice", "bob").size(), 2u);
    EXPECT_EQ(this->prune(t0 + 200, 10), 2u);
}

TYPED_TEST(MessageStoreContract, ConversationsWithNothingLeftDisappear) {
    this->send("alice", "bob", "old", t0);
    this->send("bob", "alice", "old reply", t0 + 1);
    this->receipt("alice", "bob", receipt_kind::read, 100);
    this->send("alice", "carol", "new", t0 + 100);
    this->send("bob", "carol", "newer", t0 + 101);
    this->send("alice", "alice", "old note", t0 + 2); // old, but behind newer ids: a later pass

    EXPECT_EQ(this->prune(t0 + 50, 100), 2u); // stops at the first new one
    auto alice = this->conversations("alice");
    ASSERT_EQ(alice.size(), 2u);
    EXPECT_EQ(alice[0].peer, "alice");
    EXPECT_EQ(alice[1].peer, "carol");
    EXPECT_EQ(this->conversations("bob").size(), 1u);
    EXPECT_EQ(this->conversations("bob")[0].peer, "carol");
    EXPECT_EQ(this->receipt("alice", "bob", receipt_kind::read, 100), 0u); // nothing left to mark

    EXPECT_EQ(this->prune(t0 + 1000, 100), 3u);
    EXPECT_TRUE(this->conversations("alice").empty());
    EXPECT_TRUE(this->conversations("carol").empty());

    // The pair talks again: a conversation again, with no read mark left from before.
    this->send("bob", "alice", "again", t0 + 2000);
    alice = this->conversations("alice");
    ASSERT_EQ(alice.size(), 1u);
    EXPECT_EQ(alice[0].peer, "bob");
    EXPECT_EQ(alice[0].unread, 1u);
    EXPECT_EQ(alice[0].read_up_to, 0u);
}

TYPED_TEST(MessageStoreContract, ABurstOfAConversationPrunedAwayStartsItAnew) {
    // The memory store remembers where it last filed a conversation, for bursts: a prune that
    // deletes that conversation must not leave the next burst of it filing into what is gone.
    this->append({chat("alice", "bob", "1"), chat("alice", "bob", "2"), chat("bob", "alice", "3")}, t0);
    EXPECT_EQ(this->prune(t0 + 1, 10), 3u);
    ASSERT_TRUE(this->conversations("alice").empty());
    const auto again = this->append({chat("bob", "alice", "4"), chat("bob", "alice", "5")}, t0 + 2);
    ASSERT_EQ(again.size(), 2u);
    EXPECT_EQ(this->ids(this->history("alice", "bob")),
              (std::vector<std::uint64_t>{again[1].msg_id, again[0].msg_id}));
    for (const std::string& user : {std::string("alice"), std::string("bob")}) {
        const auto list = this->conversations(user);
        ASSERT_EQ(list.size(), 1u) << user;
        EXPECT_EQ(list[0].last.msg_id, again[1].msg_id) << user;
    }
    EXPECT_EQ(this->conversations("alice")[0].unread, 2u);
    EXPECT_EQ(this->receipt("alice", "bob", receipt_kind::read, again[1].msg_id), again[1].msg_id);
    EXPECT_EQ(this->conversations("alice")[0].unread, 0u);
}

TYPED_TEST(MessageStoreContract, SeqsAndMsgIdsNeverRestartAfterPrune) {
    const auto first = this->send("alice", "bob", "1", t0);
    const auto second = this->send("alice", "bob", "2", t0);
    EXPECT_EQ(this->prune(t0 + 1, 10), 2u);
    EXPECT_TRUE(this->inbox("alice").empty());
    EXPECT_EQ(this->last_seq("alice"), 2u);
    EXPECT_EQ(this->last_seq("bob"), 2u);
    const auto third = this->send("alice", "bob", "3", t0 + 2);
    EXPECT_GT(third.msg_id, second.msg_id);
    EXPECT_EQ(third.from_seq, 3u);
    EXPECT_EQ(third.to_seq, 3u);
    (void)first;
}

TYPED_TEST(MessageStoreContract, PrunedMessagesNoLongerDeduplicate) {
    const auto first = this->append({chat("alice", "bob", "hi", "\"k\"")}, t0).front();
    EXPECT_EQ(this->prune(t0 + 1, 10), 1u);
    const auto again = this->append({chat("alice", "bob", "hi", "\"k\"")}, t0 + 2).front();
    EXPECT_FALSE(again.duplicate);
    EXPECT_GT(again.msg_id, first.msg_id);
}

} // namespace
} // namespace parley::store
