#include "store/data_dir_lock.hpp"
#include "store/sqlite_schema.hpp"
#include "store/sqlite_store.hpp"

#include "raw_file.hpp"
#include "temp_dir.hpp"
#include "test_chat.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

// What only the SQLite store has to show: data survives a restart and a SIGKILL, and a database
// it must not use (in use, corrupt, foreign, newer) is refused at open with a clear line and left
// exactly as it was. The shared behaviour is in message_store_contract_test.cpp.

namespace parley::store {
namespace {

namespace fs = std::filesystem;
using testing_support::TempDir;

constexpr std::int64_t t0 = 1'700'000'000'000;
constexpr std::int64_t day = std::int64_t{24} * 3600 * 1000;

using testing_support::chat;

fs::path db_file(const TempDir& dir) {
    return dir.path() / sqlite_db_file;
}

// The message open_sqlite_store() throws, or "" if it opened.
std::string open_error(const fs::path& dir) {
    try {
        auto store = open_sqlite_store(dir);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

using testing::raw_sql;
using testing::read_bytes;
using testing::write_bytes;

std::set<std::uint64_t> all_msg_ids(MessageStore& store, const std::vector<std::string>& users) {
    std::set<std::uint64_t> ids;
    for (const std::string& user : users) {
        auto entries = store.inbox_since(user, 0, 1'000'000);
        EXPECT_TRUE(entries.has_value());
        if (!entries) {
            continue;
        }
        for (std::size_t i = 0; i < entries->size(); ++i) {
            EXPECT_EQ((*entries)[i].seq, i + 1) << user << ": seqs must be gap-free";
            ids.insert((*entries)[i].message.msg_id);
        }
    }
    return ids;
}

TEST(SqliteStore, ReopenKeepsEverythingAndContinuesAboveIt) {
    TempDir dir;
    AppendResult first, second;
    {
        auto store = open_sqlite_store(dir.path());
        auto r = store->append(
            std::vector{chat("alice", "bob", "one", "\"c1\""), chat("bob", "alice", "two")}, t0, day);
        ASSERT_TRUE(r.has_value());
        first = (*r)[0];
        second = (*r)[1];
        ASSERT_TRUE(store->record_receipt({"alice", "bob", receipt_kind::read, second.msg_id}).has_value());
        ASSERT_TRUE(store->set_pushed_seq("bob", 2).has_value()); // persisted at close at the latest
    }
    auto store = open_sqlite_store(dir.path());
    auto alice = store->inbox_since("alice", 0, 10);
    ASSERT_TRUE(alice.has_value());
    ASSERT_EQ(alice->size(), 2u);
    EXPECT_EQ((*alice)[0].message.text, "one");
    EXPECT_EQ((*alice)[1].message.msg_id, second.msg_id);
    EXPECT_EQ(*store->pushed_seq("bob"), 2u);
    EXPECT_EQ(*store->last_seq("alice"), 2u);
    auto conversations = store->conversations("alice");
    ASSERT_TRUE(conversations.has_value());
    ASSERT_EQ(conversations->size(), 1u);
    EXPECT_EQ((*conversations)[0].read_up_to, second.msg_id);
    EXPECT_EQ((*conversations)[0].unread, 0u);

    auto r = store->append(std::vector{chat("alice", "bob", "three"), chat("alice", "bob", "one", "\"c1\"")},
                           t0 + 1000, day);
    ASSERT_TRUE(r.has_value());
    EXPECT_GT((*r)[0].msg_id, second.msg_id);
    EXPECT_EQ((*r)[0].from_seq, 3u);
    EXPECT_EQ((*r)[0].to_seq, 3u);
    EXPECT_TRUE((*r)[1].duplicate); // idempotency survives the restart
    EXPECT_EQ((*r)[1].msg_id, first.msg_id);
}

TEST(SqliteStore, ReopenAfterPruningEverythingReusesNoIdOrSeq) {
    TempDir dir;
    std::uint64_t last_id = 0;
    {
        auto store = open_sqlite_store(dir.path());
        for (int i = 0; i < 3; ++i) {
            auto r = store->append(std::vector{chat("alice", "bob", "x")}, t0, day);
            ASSERT_TRUE(r.has_value());
            last_id = r->front().msg_id;
        }
        ASSERT_EQ(*store->prune(t0 + 1, 100), 3u);
    }
    auto store = open_sqlite_store(dir.path());
    EXPECT_EQ(*store->last_seq("alice"), 3u);
    EXPECT_TRUE(store->conversations("alice")->empty());
    auto r = store->append(std::vector{chat("bob", "alice", "y")}, t0 + 2, day);
    ASSERT_TRUE(r.has_value());
    EXPECT_GT(r->front().msg_id, last_id);
    EXPECT_EQ(r->front().from_seq, 4u);
    EXPECT_EQ(r->front().to_seq, 4u);
}

// ADR 014: a commit writes one batch row; the runs readers look messages up by come with the
// next pass. Closing the store writes no runs, so a reopen finds a tail, as after a crash, and
// reads it back from the batches.
TEST(SqliteStore, MessagesNotInRunsYetAreReadFromTheTailAlsoAfterAReopen) {
    TempDir dir;
    {
        auto store = open_sqlite_store(dir.path());
        ASSERT_TRUE(
            store
                ->append(std::vector{chat("alice", "bob", "one", "c1"), chat("bob", "alice", "two")}, t0, day)
                .has_value());
        ASSERT_TRUE(store->append(std::vector{chat("alice", "alice", "note")}, t0 + 1, day).has_value());
        // Before any pass, the duplicate check and the receipts already see them.
        auto again = store->append(std::vector{chat("alice", "bob", "one", "c1")}, t0 + 2, day);
        ASSERT_TRUE(again.has_value());
        EXPECT_TRUE(again->front().duplicate);
        EXPECT_EQ(again->front().msg_id, 1u);
        auto delivered = store->record_receipt({"bob", "alice", receipt_kind::delivered, 99});
        ASSERT_TRUE(delivered.has_value());
        EXPECT_EQ(*delivered, 2u) << "clamped to the pair's last message, in the tail";
    }
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM batches"), "2")
        << "a row per batch, none for the retry";
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM inbox_runs"), "0") << "no pass ran";
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT value FROM meta WHERE key = 'indexed_through'"), "0");

    SqliteOptions pass_at_once;
    pass_at_once.index_pass_messages = 1;
    auto store = open_sqlite_store(dir.path(), pass_at_once);
    auto inbox = store->inbox_since("alice", 0, 10);
    ASSERT_TRUE(inbox.has_value());
    ASSERT_EQ(inbox->size(), 3u);
    EXPECT_EQ((*inbox)[0].seq, 1u);
    EXPECT_EQ((*inbox)[2].message.text, "note");
    EXPECT_EQ(store->last_seq("alice").value(), 3u);
    auto next = store->append(std::vector{chat("bob", "alice", "three"), chat("alice", "bob", "one", "c1")},
                              t0 + 3, day);
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ((*next)[0].msg_id, 4u);
    EXPECT_EQ((*next)[0].to_seq, 4u) << "seqs go on from the tail read back: no gap, no reuse";
    EXPECT_TRUE((*next)[1].duplicate) << "the reopened tail's client ids are remembered";
    auto history = store->history("bob", "alice", 0, 10);
    ASSERT_TRUE(history.has_value());
    ASSERT_EQ(history->size(), 3u);
    EXPECT_EQ(history->front().text, "three");

    ASSERT_TRUE(store->maintain().has_value()); // now a pass
    store.reset();
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT value FROM meta WHERE key = 'indexed_through'"), "4");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM inbox_runs"), "2") << "alice's and bob's";
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM conversation_runs"), "2")
        << "alice-bob, alice-alice";
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM client_id_runs"), "1");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM conversations"), "3")
        << "both sides, and alice-alice";
}

// Small passes, so a test can watch one being written.
SqliteOptions small_passes() {
    SqliteOptions options;
    options.index_pass_messages = 1000;
    return options;
}

std::vector<NewMessage> many_chats(int count, int senders, int recipients) {
    std::vector<NewMessage> batch;
    for (int i = 0; i < count; ++i) {
        batch.push_back(chat("u" + std::to_string(i % senders), "v" + std::to_string(i % recipients),
                             "m" + std::to_string(i), "id" + std::to_string(i)));
    }
    return batch;
}

TEST(SqliteStore, APassWritesOneRunPerUserAndPerConversation) {
    TempDir dir;
    auto store = open_sqlite_store(dir.path(), small_passes());
    // 12 users (u0..u6 send, v0..v4 receive), 5,000 messages, 35 pairs: 10,000 inbox entries.
    const auto batch = many_chats(5000, 7, 5);
    ASSERT_TRUE(store->append(batch, t0, day).has_value());
    ASSERT_TRUE(store->maintain().has_value());
    // Retries of the first and the last message, found through the batch row now.
    auto retry = store->append(std::vector{batch[0], batch[4999]}, t0 + 1, day);
    ASSERT_TRUE(retry.has_value());
    EXPECT_TRUE((*retry)[0].duplicate);
    EXPECT_EQ((*retry)[0].msg_id, 1u);
    EXPECT_TRUE((*retry)[1].duplicate);
    EXPECT_EQ((*retry)[1].msg_id, 5000u);
    store.reset();
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM batches"), "1");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT value FROM meta WHERE key = 'indexed_through'"), "5000");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM inbox_runs"), "12");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM conversation_runs"), "35");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM client_id_runs"), "1");

    store = open_sqlite_store(dir.path(), small_passes());
    auto again = store->append(std::vector{batch[17]}, t0 + 2, day);
    ASSERT_TRUE(again.has_value());
    EXPECT_TRUE(again->front().duplicate) << "remembered from the client-id run at the reopen";
    EXPECT_EQ(again->front().msg_id, 18u);
    auto inbox = store->inbox_since("v0", 0, 5000);
    ASSERT_TRUE(inbox.has_value());
    ASSERT_EQ(inbox->size(), 1000u);
    for (std::size_t i = 0; i < inbox->size(); ++i) {
        ASSERT_EQ((*inbox)[i].seq, i + 1);
        ASSERT_EQ((*inbox)[i].message.msg_id, 5 * i + 1);
    }
    auto history = store->history("u0", "v0", 0, 5000);
    ASSERT_TRUE(history.has_value());
    EXPECT_EQ(history->size(), 5000u / 35 + 1) << "u0 and v0 meet every 35th message";
    EXPECT_EQ(history->front().msg_id, 4971u); // message 4,970 = 35 * 142, ids from 1
}

// A pass is written a few runs at a time, one transaction per maintain(), so the batches behind
// it wait for a slice only. Until its last slice the tail keeps what the slices wrote, and reads
// skip it there; a stop in the middle of a pass (as after a crash) is finished at the next open.
TEST(SqliteStore, APassInSlicesChangesNoReadAndAnInterruptedOneIsFinishedAtOpen) {
    TempDir dir;
    SqliteOptions slices = small_passes();
    slices.index_slice_runs = 4;
    const std::vector<std::string> users{"u0", "u1", "u2", "u3", "u4", "u5",
                                         "u6", "v0", "v1", "v2", "v3", "v4"};
    auto store = open_sqlite_store(dir.path(), slices);
    ASSERT_TRUE(store->append(many_chats(5000, 7, 5), t0, day).has_value());
    const auto before = all_msg_ids(*store, users);
    ASSERT_TRUE(store->maintain().has_value()); // inbox runs of u0..u3
    EXPECT_EQ(all_msg_ids(*store, users), before) << "no entry lost or found twice";
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(store->maintain().has_value()); // the other 8 inbox runs, then 4 of the 35 pairs
    }
    EXPECT_EQ(all_msg_ids(*store, users), before);
    auto history = store->history("u0", "v0", 0, 5000);
    ASSERT_TRUE(history.has_value());
    EXPECT_EQ(history->size(), 143u) << "u0-v0 is one of the pairs written";
    auto unread = store->conversations("v0");
    ASSERT_TRUE(unread.has_value());
    ASSERT_EQ(unread->size(), 7u);
    for (const Conversation& c : *unread) {
        // u_k meets v0 at i = 35q + r with r = 0, 15, 30, 10, 25, 5, 20 for k = 0..6: 143 times
        // below 5,000 for r < 30, 142 for u2's r = 30.
        EXPECT_EQ(c.unread, c.peer == "u2" ? 142u : 143u) << c.peer;
    }
    store.reset(); // in the middle of the pass
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT value FROM meta WHERE key = 'indexed_through'"), "0");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM inbox_runs"), "12");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM conversation_runs"), "4");

    store = open_sqlite_store(dir.path(), slices);
    EXPECT_EQ(all_msg_ids(*store, users), before);
    history = store->history("u0", "v0", 0, 5000);
    ASSERT_TRUE(history.has_value());
    EXPECT_EQ(history->size(), 143u);
    store.reset();
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT value FROM meta WHERE key = 'indexed_through'"), "5000")
        << "the open finished the pass";
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM inbox_runs"), "12") << "no run twice";
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM conversation_runs"), "35");
}

// Reads look through the tail in memory: they write nothing and wait for no pass, however long
// the tail is (ADR 013 made a login's read write its user's rows first).
TEST(SqliteStore, ReadsDuringALongTailWriteNothing) {
    TempDir dir;
    auto store = open_sqlite_store(dir.path(), small_passes());
    ASSERT_TRUE(store->append(many_chats(5000, 7, 5), t0, day).has_value());
    auto v0 = store->inbox_since("v0", 0, 5000);
    ASSERT_TRUE(v0.has_value());
    ASSERT_EQ(v0->size(), 1000u);
    auto u3 = store->inbox_since("u3", 700, 5000);
    ASSERT_TRUE(u3.has_value());
    ASSERT_EQ(u3->size(), 714u - 700u) << "u3 sent every 7th of 5,000 messages";
    EXPECT_EQ(u3->front().seq, 701u);
    auto conversations = store->conversations("u3");
    ASSERT_TRUE(conversations.has_value());
    EXPECT_EQ(conversations->size(), 5u);
    ASSERT_TRUE(store->prune(t0 - 1, 10).has_value()); // nothing old enough: but it writes the runs
    store.reset();
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM inbox_runs"), "12");
    store = open_sqlite_store(dir.path(), small_passes());
    ASSERT_TRUE(store->append(many_chats(10, 7, 5), t0 + 1, 0).has_value());
    ASSERT_TRUE(store->inbox_since("v0", 0, 1).has_value());
    ASSERT_TRUE(store->history("u0", "v0", 0, 1).has_value());
    store.reset();
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT value FROM meta WHERE key = 'indexed_through'"), "5000");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM inbox_runs"), "12") << "the reads wrote no run";
}

TEST(SqliteStore, IndexingKeepsUpWhenBatchesOutgrowAPass) {
    TempDir dir;
    auto store = open_sqlite_store(dir.path(), small_passes());
    std::uint64_t appended = 0;
    for (int round = 0; round < 12; ++round) {
        std::vector<NewMessage> batch;
        for (int i = 0; i < 10000; ++i) {
            batch.push_back(chat("u" + std::to_string(i % 11), "v" + std::to_string(i % 13), "m"));
        }
        ASSERT_TRUE(store->append(batch, t0, day).has_value());
        appended += batch.size();
        ASSERT_TRUE(store->maintain().has_value());
    }
    store.reset();
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT value FROM meta WHERE key = 'indexed_through'"),
              std::to_string(appended))
        << "a pass covers the whole tail, whatever its size";
}

// Prune deletes from the oldest batch on and may cut one: the rest is written back, and runs
// that still name deleted messages are read past them.
TEST(SqliteStore, PruneCutsABatchAndReadsPastWhatItDeleted) {
    TempDir dir;
    std::vector<NewMessage> ten;
    for (int i = 0; i < 10; ++i) {
        ten.push_back(chat("alice", "bob", "old" + std::to_string(i), "c" + std::to_string(i)));
    }
    {
        auto store = open_sqlite_store(dir.path());
        ASSERT_TRUE(store->append(ten, t0, day).has_value());
        ASSERT_TRUE(store->append(std::vector{chat("bob", "alice", "new")}, t0 + 10, day).has_value());
        ASSERT_EQ(store->prune(t0 + 5, 3).value(), 3u);
        auto inbox = store->inbox_since("bob", 0, 100);
        ASSERT_TRUE(inbox.has_value());
        ASSERT_EQ(inbox->size(), 8u);
        EXPECT_EQ(inbox->front().seq, 4u);
        EXPECT_EQ(inbox->front().message.text, "old3");
        auto retry = store->append(std::vector{ten[1], ten[4]}, t0 + 11, day);
        ASSERT_TRUE(retry.has_value());
        EXPECT_FALSE((*retry)[0].duplicate) << "pruned: no longer deduplicates";
        EXPECT_TRUE((*retry)[1].duplicate);
        EXPECT_EQ((*retry)[1].msg_id, 5u);
    }
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT min(first_id) FROM batches"), "4") << "the cut batch starts at 4";
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT value FROM meta WHERE key = 'pruned_through'"), "3");
    auto store = open_sqlite_store(dir.path());
    auto conversations = store->conversations("bob");
    ASSERT_TRUE(conversations.has_value());
    ASSERT_EQ(conversations->size(), 1u);
    EXPECT_EQ(conversations->front().unread, 8u) << "7 old ones left and the retry of ten[1]";
    auto history = store->history("alice", "bob", 0, 100);
    ASSERT_TRUE(history.has_value());
    EXPECT_EQ(history->size(), 9u);
    EXPECT_EQ(history->back().msg_id, 4u);
    ASSERT_EQ(store->prune(t0 + 100, 100).value(), 9u);
    EXPECT_EQ(store->last_seq("bob").value(), 12u);
    EXPECT_TRUE(store->conversations("bob")->empty());
    store.reset();
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM inbox_runs") +
                  raw_sql(db_file(dir), "SELECT count(*) FROM batches"),
              "00")
        << "runs that name only deleted messages go too";
    store = open_sqlite_store(dir.path());
    EXPECT_EQ(store->last_seq("bob").value(), 12u) << "the floor outlives the runs";
}

// Damaged bytes in a row are an error for the request that reads them, never a crash or a wrong
// answer; in the tail, which is read at open, they stop the open with a line naming the file.
TEST(SqliteStore, DamagedRowsAreErrorsNotCrashes) {
    TempDir dir;
    SqliteOptions pass_at_once;
    pass_at_once.index_pass_messages = 1;
    {
        auto store = open_sqlite_store(dir.path(), pass_at_once);
        ASSERT_TRUE(
            store->append(std::vector{chat("alice", "bob", "x"), chat("bob", "alice", "y")}, t0, day));
        ASSERT_TRUE(store->maintain());
    }
    raw_sql(db_file(dir), "UPDATE batches SET body = x'05ff'");
    {
        auto store = open_sqlite_store(dir.path(), pass_at_once);
        EXPECT_FALSE(store->inbox_since("alice", 0, 10).has_value());
        EXPECT_FALSE(store->history("alice", "bob", 0, 10).has_value());
        EXPECT_FALSE(store->conversations("bob").has_value());
        EXPECT_TRUE(store->last_seq("alice").has_value());
    }
    raw_sql(db_file(dir), "UPDATE inbox_runs SET entries = x'80'");
    {
        auto store = open_sqlite_store(dir.path(), pass_at_once);
        auto inbox = store->inbox_since("bob", 0, 10);
        ASSERT_FALSE(inbox.has_value());
        EXPECT_NE(inbox.error().message().find("malformed"), std::string::npos) << inbox.error().message();
        ASSERT_TRUE(store->append(std::vector{chat("carol", "dan", "z")}, t0, day)); // the tail now
    }
    raw_sql(db_file(dir), "UPDATE batches SET body = x'01' WHERE first_id = 3");
    const std::string error = open_error(dir.path());
    EXPECT_NE(error.find("parley.db"), std::string::npos) << error;
    EXPECT_NE(error.find("cannot read the newest messages"), std::string::npos) << error;
}

TEST(SqliteStore, MigratesAVersion1DatabaseAndKeepsItsMessages) {
    TempDir dir;
    const std::string v1(sqlite_migrations().front().sql);
    raw_sql(db_file(dir), v1 +
                              "INSERT INTO users (id, name) VALUES (1, 'alice'), (2, 'bob');"
                              "INSERT INTO messages (id, ts, sender, recipient, lo, hi, sender_seq, "
                              "recipient_seq, client_id, body) "
                              "VALUES (1, " +
                              std::to_string(t0) +
                              ", 1, 2, 1, 2, 1, 1, 'c1', 'old');"
                              "INSERT INTO inbox (user, seq, msg_id) VALUES (1, 1, 1), (2, 1, 1);"
                              "INSERT INTO conversations (user, peer) VALUES (1, 2), (2, 1);"
                              "PRAGMA user_version = 1; PRAGMA application_id = " +
                              std::to_string(0x50524c59) + ";");
    { auto migrated = open_sqlite_store(dir.path()); }
    EXPECT_EQ(raw_sql(db_file(dir), "PRAGMA user_version"), "3");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM sqlite_schema WHERE name IN ('messages', 'inbox')"),
              "0");
    auto store = open_sqlite_store(dir.path());
    auto history = store->history("alice", "bob", 0, 10);
    ASSERT_TRUE(history.has_value());
    ASSERT_EQ(history->size(), 1u);
    EXPECT_EQ(history->front().text, "old");
    auto retry = store->append(std::vector{chat("alice", "bob", "old", "c1")}, t0 + 1, day);
    ASSERT_TRUE(retry.has_value());
    EXPECT_TRUE(retry->front().duplicate) << "the client id moved into the new index";
    auto next = store->append(std::vector{chat("bob", "alice", "new")}, t0 + 2, day);
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(next->front().msg_id, 2u);
    EXPECT_EQ(next->front().from_seq, 2u);
}

// Version 2 to 3 moves every message into batches and runs (ADR 014) in one transaction at open:
// those version 2 had indexed and those still in its tail alike, with their ids, seqs, client
// ids and the conversations' read marks.
TEST(SqliteStore, MovesAVersion2DatabaseIntoBatchesAndRuns) {
    TempDir dir;
    std::string sql;
    for (const Migration& m : sqlite_migrations()) {
        if (m.version <= 2) {
            sql += std::string(m.sql);
        }
    }
    const std::string ts = std::to_string(t0);
    sql += "INSERT INTO users (id, name, pushed_seq) VALUES (1, 'alice', 1), (2, 'bob', 0);"
           "INSERT INTO messages (id, ts, sender, recipient, lo, hi, sender_seq, recipient_seq, client_id, "
           "body) "
           "VALUES (1, " +
           ts + ", 1, 2, 1, 2, 1, 1, 'c1', 'one'), (2, " + ts +
           ", 2, 1, 1, 2, 2, 2, NULL, 'two'), "
           "(3, " +
           ts +
           ", 1, 1, 1, 1, 3, 3, 'c3', 'note');"
           // Messages 1 and 2 were indexed; 3 is version 2's tail.
           "INSERT INTO inbox (user, seq, msg_id) VALUES (1, 1, 1), (2, 1, 1), (1, 2, 2), (2, 2, 2);"
           "INSERT INTO conversation_messages (lo, hi, msg_id) VALUES (1, 2, 1), (1, 2, 2);"
           "INSERT INTO client_ids (sender, client_id, msg_id) VALUES (1, 'c1', 1);"
           "UPDATE meta SET value = 2 WHERE key = 'indexed_through';"
           "INSERT INTO conversations (user, peer, read_up_to, delivered_up_to) VALUES (1, 2, 2, 2), (2, 1, "
           "0, 1);"
           "PRAGMA user_version = 2; PRAGMA application_id = " +
           std::to_string(0x50524c59) + ";";
    raw_sql(db_file(dir), sql);
    { auto migrated = open_sqlite_store(dir.path()); }
    EXPECT_EQ(raw_sql(db_file(dir), "PRAGMA user_version"), "3");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM sqlite_schema WHERE name IN "
                                    "('messages', 'inbox', 'conversation_messages', 'client_ids')"),
              "0");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM batches"), "1");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT value FROM meta WHERE key = 'indexed_through'"), "3");

    auto store = open_sqlite_store(dir.path());
    auto inbox = store->inbox_since("alice", 0, 10);
    ASSERT_TRUE(inbox.has_value());
    ASSERT_EQ(inbox->size(), 3u);
    EXPECT_EQ((*inbox)[1].message.text, "two");
    EXPECT_EQ((*inbox)[2].seq, 3u);
    EXPECT_EQ((*inbox)[2].message.text, "note");
    EXPECT_EQ(store->pushed_seq("alice").value(), 1u);
    auto conversations = store->conversations("bob");
    ASSERT_TRUE(conversations.has_value());
    ASSERT_EQ(conversations->size(), 1u);
    EXPECT_EQ(conversations->front().peer_read_up_to, 2u);
    EXPECT_EQ(conversations->front().peer_delivered_up_to, 2u);
    EXPECT_EQ(conversations->front().unread, 1u) << "bob read nothing; one of the two is from alice";
    auto retry = store->append(
        std::vector{chat("alice", "bob", "one", "c1"), chat("alice", "alice", "note", "c3")}, t0 + 1, day);
    ASSERT_TRUE(retry.has_value());
    EXPECT_TRUE((*retry)[0].duplicate);
    EXPECT_EQ((*retry)[0].msg_id, 1u);
    EXPECT_TRUE((*retry)[1].duplicate);
    EXPECT_EQ((*retry)[1].msg_id, 3u);
    auto next = store->append(std::vector{chat("bob", "alice", "new")}, t0 + 2, day);
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(next->front().msg_id, 4u);
    EXPECT_EQ(next->front().from_seq, 3u);
    EXPECT_EQ(next->front().to_seq, 4u);
}

TEST(SqliteStore, CreatesTheDataDirectory) {
    TempDir dir;
    const fs::path nested = dir.path() / "a" / "b";
    auto store = open_sqlite_store(nested);
    EXPECT_TRUE(fs::exists(nested / sqlite_db_file));
    EXPECT_TRUE(fs::exists(nested / data_dir_lock_file));
}

TEST(SqliteStore, UsesWalModeAndRecordsItsSchema) {
    TempDir dir;
    {
        auto store = open_sqlite_store(dir.path());
        ASSERT_TRUE(store->append(std::vector{chat("alice", "bob", "x")}, t0, day).has_value());
    }
    EXPECT_EQ(raw_sql(db_file(dir), "PRAGMA journal_mode"), "wal"); // WAL mode is kept in the file
    EXPECT_EQ(raw_sql(db_file(dir), "PRAGMA user_version"), std::to_string(latest_schema_version()));
    EXPECT_EQ(raw_sql(db_file(dir), "PRAGMA application_id"), std::to_string(0x50524c59));
}

// The WAL is copied into parley.db each time it holds `wal_autocheckpoint_bytes` (4 MiB): a
// checkpoint holds the storage thread while it writes the pages the WAL changed, and the acks
// queued meanwhile wait (ADR 015, sixth addendum). The WAL file is reused from its start after a
// checkpoint, so its size is the most it ever held: ~20 MiB of messages must leave it within
// twice the limit (40 MiB, the old default, fails), and the messages in parley.db.
TEST(SqliteStore, TheWalIsCopiedIntoTheDatabaseEveryFewMebibytes) {
    TempDir dir;
    const SqliteOptions options;
    auto store = open_sqlite_store(dir.path(), options);
    const std::string text(1000, 'w');
    for (int b = 0; b < 80; ++b) {
        std::vector<NewMessage> batch;
        for (int i = 0; i < 256; ++i) {
            batch.push_back(chat("u" + std::to_string(i % 50), "v" + std::to_string(i % 40), text,
                                 "b" + std::to_string(b) + "-" + std::to_string(i)));
        }
        ASSERT_TRUE(store->append(batch, t0, day).has_value());
        ASSERT_TRUE(store->maintain().has_value()); // as the storage thread does between batches
    }
    EXPECT_LE(fs::file_size(dir.path() / "parley.db-wal"), 2 * options.wal_autocheckpoint_bytes);
    EXPECT_GE(fs::file_size(db_file(dir)), std::uintmax_t{16} << 20);
}

TEST(SqliteStore, ANewFileGetsSixteenKibPagesAndAnOldFileKeepsItsOwn) {
    TempDir fresh;
    {
        auto store = open_sqlite_store(fresh.path());
        ASSERT_TRUE(store->append(std::vector{chat("alice", "bob", "x")}, t0, day).has_value());
    }
    EXPECT_EQ(raw_sql(db_file(fresh), "PRAGMA page_size"), "16384");

    // A file made with 4 KiB pages (as every file before this option) is opened as it is: in WAL
    // mode the page size cannot change, and nothing in it is lost.
    TempDir old;
    SqliteOptions small;
    small.new_file_page_bytes = 4096;
    {
        auto store = open_sqlite_store(old.path(), small);
        ASSERT_TRUE(store->append(std::vector{chat("alice", "bob", "kept")}, t0, day).has_value());
    }
    {
        auto store = open_sqlite_store(old.path());
        const auto inbox = store->inbox_since("bob", 0, 10);
        ASSERT_TRUE(inbox.has_value());
        ASSERT_EQ(inbox->size(), 1u);
        EXPECT_EQ((*inbox)[0].message.text, "kept");
        ASSERT_TRUE(store->append(std::vector{chat("alice", "bob", "more")}, t0, day).has_value());
    }
    EXPECT_EQ(raw_sql(db_file(old), "PRAGMA page_size"), "4096");
}

TEST(SqliteStore, SecondOpenOfTheSameDataDirFailsWhileTheFirstIsOpen) {
    TempDir dir;
    auto first = open_sqlite_store(dir.path());
    const std::string error = open_error(dir.path());
    EXPECT_NE(error.find("locked"), std::string::npos) << error;
    EXPECT_NE(error.find("in use"), std::string::npos) << error;
    EXPECT_NE(error.find(db_file(dir).string()), std::string::npos) << error;
    EXPECT_NE(error.find("pid " + std::to_string(::getpid())), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    // The first store is unaffected, and once it is closed the directory opens again.
    EXPECT_TRUE(first->append(std::vector{chat("alice", "bob", "still here")}, t0, day).has_value());
    first.reset();
    EXPECT_EQ(open_error(dir.path()), "");
}

TEST(SqliteStore, DatabaseHeldByAnotherProgramIsReportedAsLocked) {
    TempDir dir;
    open_sqlite_store(dir.path()).reset();
    // A sqlite3 shell that ignores parley.lock and holds a write transaction.
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(db_file(dir).c_str(), &other), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
    const std::string error = open_error(dir.path());
    sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(other);
    EXPECT_NE(error.find("locked"), std::string::npos) << error;
    EXPECT_NE(error.find(db_file(dir).string()), std::string::npos) << error;
}

TEST(SqliteStore, RefusesRandomBytesAndLeavesThemUntouched) {
    TempDir dir;
    std::mt19937 random(42);
    std::string garbage(std::size_t{64} * 1024, '\0');
    for (char& c : garbage) {
        c = static_cast<char>(random());
    }
    write_bytes(db_file(dir), garbage);
    const std::string error = open_error(dir.path());
    EXPECT_NE(error.find("not an SQLite database"), std::string::npos) << error;
    EXPECT_NE(error.find(db_file(dir).string()), std::string::npos) << error;
    EXPECT_EQ(read_bytes(db_file(dir)), garbage);
    EXPECT_FALSE(fs::exists(dir.path() / "parley.db-wal"));
}

TEST(SqliteStore, RefusesACorruptDatabaseAndLeavesItUntouched) {
    TempDir dir;
    {
        auto store = open_sqlite_store(dir.path(), {.sync = sqlite_sync::normal});
        std::vector<NewMessage> batch;
        for (int i = 0; i < 3000; ++i) {
            batch.push_back(
                chat("u" + std::to_string(i % 17), "u" + std::to_string(i % 5), std::string(200, 'x')));
        }
        ASSERT_TRUE(store->append(batch, t0, day).has_value());
    }
    const std::size_t page = 4096;
    ASSERT_GT(fs::file_size(db_file(dir)), 60 * page);
    write_bytes(db_file(dir), std::string(20 * page, '\x5a'), static_cast<std::streamoff>(30 * page));
    const std::string damaged = read_bytes(db_file(dir));
    const std::string error = open_error(dir.path());
    EXPECT_NE(error.find("corrupt"), std::string::npos) << error;
    EXPECT_NE(error.find(db_file(dir).string()), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    EXPECT_EQ(read_bytes(db_file(dir)), damaged);
}

TEST(SqliteStore, RefusesADatabaseFromANewerParley) {
    TempDir dir;
    open_sqlite_store(dir.path()).reset();
    raw_sql(db_file(dir), "PRAGMA user_version = 99");
    const std::string before = read_bytes(db_file(dir));
    const std::string error = open_error(dir.path());
    EXPECT_NE(error.find("newer"), std::string::npos) << error;
    EXPECT_NE(error.find("99"), std::string::npos) << error;
    EXPECT_EQ(read_bytes(db_file(dir)), before);
}

TEST(SqliteStore, RefusesAnotherProgramsDatabase) {
    TempDir dir;
    raw_sql(db_file(dir), "CREATE TABLE accounts (id INTEGER PRIMARY KEY); INSERT INTO accounts VALUES (1)");
    const std::string before = read_bytes(db_file(dir));
    const std::string error = open_error(dir.path());
    EXPECT_NE(error.find("not a Parley database"), std::string::npos) << error;
    EXPECT_EQ(read_bytes(db_file(dir)), before);

    TempDir versioned;
    raw_sql(db_file(versioned), "CREATE TABLE t (x); PRAGMA user_version = 1");
    EXPECT_NE(open_error(versioned.path()).find("not a Parley database"), std::string::npos);
}

// The child of FailedAppendLeavesNoTrace: exits 0 if all went as it should, else prints why.
[[noreturn]] void append_past_the_file_size_limit(const fs::path& dir) {
    auto fail = [](const char* what) {
        std::fprintf(stderr, "FAILED: %s\n", what);
        std::exit(1);
    };
    auto store = open_sqlite_store(dir, {.sync = sqlite_sync::normal});
    auto before = store->append(std::vector{chat("alice", "bob", "before")}, t0, day);
    if (!before) {
        fail("first append");
    }
    ::signal(SIGXFSZ, SIG_IGN); // a write past the limit then fails with EFBIG instead of killing
    rlimit limit{fs::file_size(dir / "parley.db-wal"), RLIM_INFINITY};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    std::vector<NewMessage> big;
    for (int i = 0; i < 2000; ++i) {
        big.push_back(chat(i % 2 == 0 ? "alice" : "zed", "bob", std::string(1000, 'y')));
    }
    if (store->append(big, t0, day)) {
        fail("the big append should have failed");
    }
    limit.rlim_cur = RLIM_INFINITY;
    ::setrlimit(RLIMIT_FSIZE, &limit);
    auto after = store->append(std::vector{chat("alice", "bob", "after")}, t0, day);
    if (!after) {
        fail("append after the failure");
    }
    const AppendResult& a = before->front();
    const AppendResult& b = after->front();
    if (b.msg_id != a.msg_id + 1 || b.from_seq != 2 || b.to_seq != 2) {
        fail("ids or seqs skipped");
    }
    if (*store->last_seq("zed") != 0 || store->inbox_since("bob", 0, 100)->size() != 2 ||
        store->conversations("bob")->size() != 1) {
        fail("part of the failed batch is visible");
    }
    store.reset();
    store = open_sqlite_store(dir);
    if (store->inbox_since("bob", 0, 100)->size() != 2 || *store->last_seq("zed") != 0) {
        fail("part of the failed batch came back after reopening");
    }
    std::exit(0);
}

// A write that fails half-way (here: the file size limit, as a full disk would) stores nothing of
// the batch, and the ids and seqs it would have taken are the next batch's. Runs in a child
// process so the limit cannot touch the test runner.
TEST(SqliteStore, FailedAppendLeavesNoTrace) {
    TempDir dir;
    EXPECT_EXIT(append_past_the_file_size_limit(dir.path()), ::testing::ExitedWithCode(0), "");
}

// SIGKILL while appending: every batch the child reported as committed (its "ack") is there after
// reopening, with gap-free seqs, and new ids continue above. A process crash, not a power cut: the
// kernel still writes what it was given, so this checks SQLite's commit and our counters' recovery,
// not the fsync (synchronous=FULL is what covers a power cut).
TEST(SqliteStore, SigkillLosesNoAckedMessage) {
    TempDir dir;
    const std::vector<std::string> users{"alice", "bob", "carol", "dave"};
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(pipe_fds[0]);
        try {
            auto store = open_sqlite_store(dir.path());
            for (int batch = 0;; ++batch) {
                std::vector<NewMessage> messages;
                for (int i = 0; i < 20; ++i) {
                    messages.push_back(chat(users[(batch + i) % 4], users[(batch * 3 + i + 1) % 4],
                                            "b" + std::to_string(batch) + "m" + std::to_string(i),
                                            std::to_string(batch * 100 + i)));
                }
                auto r = store->append(messages, t0 + batch, day);
                if (!r) {
                    ::_exit(2);
                }
                const std::string ack = std::to_string(r->back().msg_id) + "\n";
                if (::write(pipe_fds[1], ack.data(), ack.size()) != static_cast<ssize_t>(ack.size())) {
                    ::_exit(3);
                }
            }
        } catch (...) {
            ::_exit(4);
        }
    }
    ::close(pipe_fds[1]);

    std::string acks;
    auto lines = [&] { return std::count(acks.begin(), acks.end(), '\n'); };
    char buffer[4096];
    bool killed = false;
    for (;;) {
        const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
        if (n <= 0) {
            break; // EOF: the child is gone (and everything it acked has been read)
        }
        acks.append(buffer, static_cast<std::size_t>(n));
        if (!killed && lines() >= 150) {
            ::kill(child, SIGKILL); // mid-run: it is appending the next batch right now
            killed = true;
        }
    }
    ::close(pipe_fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child exited early, status " << status;

    std::uint64_t max_acked = 0;
    std::size_t start = 0;
    for (std::size_t end; (end = acks.find('\n', start)) != std::string::npos; start = end + 1) {
        max_acked = std::max<std::uint64_t>(max_acked, std::stoull(acks.substr(start, end - start)));
    }
    ASSERT_GE(max_acked, 150u * 20);

    auto store = open_sqlite_store(dir.path());
    const std::set<std::uint64_t> stored = all_msg_ids(*store, users);
    for (std::uint64_t id = 1; id <= max_acked; ++id) {
        ASSERT_EQ(stored.count(id), 1u) << "acked msg_id " << id << " is missing";
    }
    auto next = store->append(std::vector{chat("alice", "bob", "after the crash")}, t0 + 100000, day);
    ASSERT_TRUE(next.has_value());
    EXPECT_GT(next->front().msg_id, *stored.rbegin());
    EXPECT_EQ(next->front().from_seq, *store->last_seq("alice"));
    // A retry of the last acked batch after the restart is recognised, not stored twice.
    const int last_batch = static_cast<int>(lines()) - 1;
    auto retry =
        store->append(std::vector{chat(users[(last_batch + 19) % 4], users[(last_batch * 3 + 20) % 4],
                                       "retry", std::to_string(last_batch * 100 + 19))},
                      t0 + 100001, day);
    ASSERT_TRUE(retry.has_value());
    EXPECT_TRUE(retry->front().duplicate);
    EXPECT_EQ(retry->front().msg_id, max_acked);
}

} // namespace
} // namespace parley::store
