#include "store/data_dir_lock.hpp"
#include "store/sqlite_schema.hpp"
#include "store/sqlite_store.hpp"

#include "raw_file.hpp"
#include "temp_dir.hpp"

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

NewMessage chat(std::string from, std::string to, std::string text, std::string client_id = "") {
    return {std::move(from), std::move(to), std::move(text), std::move(client_id)};
}

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
    StoredMessage first, second;
    {
        auto store = open_sqlite_store(dir.path());
        auto r = store->append(
            std::vector{chat("alice", "bob", "one", "\"c1\""), chat("bob", "alice", "two")}, t0, day);
        ASSERT_TRUE(r.has_value());
        first = (*r)[0].message;
        second = (*r)[1].message;
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
    EXPECT_GT((*r)[0].message.msg_id, second.msg_id);
    EXPECT_EQ((*r)[0].message.from_seq, 3u);
    EXPECT_EQ((*r)[0].message.to_seq, 3u);
    EXPECT_TRUE((*r)[1].duplicate); // idempotency survives the restart
    EXPECT_EQ((*r)[1].message.msg_id, first.msg_id);
}

TEST(SqliteStore, ReopenAfterPruningEverythingReusesNoIdOrSeq) {
    TempDir dir;
    std::uint64_t last_id = 0;
    {
        auto store = open_sqlite_store(dir.path());
        for (int i = 0; i < 3; ++i) {
            auto r = store->append(std::vector{chat("alice", "bob", "x")}, t0, day);
            ASSERT_TRUE(r.has_value());
            last_id = r->front().message.msg_id;
        }
        ASSERT_EQ(*store->prune(t0 + 1, 100), 3u);
    }
    auto store = open_sqlite_store(dir.path());
    EXPECT_EQ(*store->last_seq("alice"), 3u);
    EXPECT_TRUE(store->conversations("alice")->empty());
    auto r = store->append(std::vector{chat("bob", "alice", "y")}, t0 + 2, day);
    ASSERT_TRUE(r.has_value());
    EXPECT_GT(r->front().message.msg_id, last_id);
    EXPECT_EQ(r->front().message.from_seq, 4u);
    EXPECT_EQ(r->front().message.to_seq, 4u);
}

// ADR 008: a commit writes only the message rows; inbox entries and index rows follow later.
// Closing the store does not index, so a reopen finds an unindexed tail, as after a crash.
TEST(SqliteStore, MessagesNotIndexedYetAreFoundAndIndexedAtTheNextOpen) {
    TempDir dir;
    {
        auto store = open_sqlite_store(dir.path());
        ASSERT_TRUE(
            store
                ->append(std::vector{chat("alice", "bob", "one", "c1"), chat("bob", "alice", "two")}, t0, day)
                .has_value());
        ASSERT_TRUE(store->append(std::vector{chat("alice", "alice", "note")}, t0 + 1, day).has_value());
        // Before anything reads them, the duplicate check and the receipts already see them.
        auto again = store->append(std::vector{chat("alice", "bob", "one", "c1")}, t0 + 2, day);
        ASSERT_TRUE(again.has_value());
        EXPECT_TRUE(again->front().duplicate);
        EXPECT_EQ(again->front().message.msg_id, 1u);
        auto delivered = store->record_receipt({"bob", "alice", receipt_kind::delivered, 99});
        ASSERT_TRUE(delivered.has_value());
        EXPECT_EQ(*delivered, 2u) << "clamped to the pair's last message, not indexed yet";
    }
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM inbox"), "0") << "the tail was left unindexed";
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT value FROM meta WHERE key = 'indexed_through'"), "0");

    {
        auto store = open_sqlite_store(dir.path()); // indexes the tail, then closes
    }
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM inbox"), "5") << "2 + 2 + 1 for the note to self";
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM conversation_messages"), "3");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM client_ids"), "1");
    auto store = open_sqlite_store(dir.path());
    auto inbox = store->inbox_since("alice", 0, 10);
    ASSERT_TRUE(inbox.has_value());
    ASSERT_EQ(inbox->size(), 3u);
    EXPECT_EQ((*inbox)[0].seq, 1u);
    EXPECT_EQ((*inbox)[2].message.text, "note");
    EXPECT_EQ(store->last_seq("alice").value(), 3u);
    auto next = store->append(std::vector{chat("bob", "alice", "three"), chat("alice", "bob", "one", "c1")},
                              t0 + 3, day);
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ((*next)[0].message.msg_id, 4u);
    EXPECT_EQ((*next)[0].message.to_seq, 4u) << "seqs go on from the indexed inbox: no gap, no reuse";
    EXPECT_TRUE((*next)[1].duplicate) << "found through the client-id index now";
    auto history = store->history("bob", "alice", 0, 10);
    ASSERT_TRUE(history.has_value());
    ASSERT_EQ(history->size(), 3u);
    EXPECT_EQ(history->front().text, "three");
}

// Small passes, so a test can watch one being written slice by slice.
SqliteOptions small_passes() {
    SqliteOptions options;
    options.index_pass_messages = 1000;
    options.index_slice_messages = 1000;
    options.index_max_slices = 4;
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

TEST(SqliteStore, MaintainIndexesTheTailInPassesOfSlicesByUser) {
    TempDir dir;
    auto store = open_sqlite_store(dir.path(), small_passes());
    const auto read_file = [&](const std::string& sql) {
        store.reset(); // the file is locked while open
        const std::string value = raw_sql(db_file(dir), sql);
        store = open_sqlite_store(dir.path(), small_passes());
        return value;
    };
    // 12 users (u0..u6 send, v0..v4 receive), 5,000 messages: 10,000 inbox entries.
    const auto batch = many_chats(5000, 7, 5);
    ASSERT_TRUE(store->append(batch, t0, day).has_value());
    ASSERT_TRUE(store->maintain().has_value()); // the pass's first slice of four
    ASSERT_TRUE(store->maintain().has_value()); // the second
    // A retry of a message whose rows are written and of one whose rows are not: both found.
    auto retry = store->append(std::vector{batch[0], batch[4999]}, t0 + 1, day);
    ASSERT_TRUE(retry.has_value());
    EXPECT_TRUE((*retry)[0].duplicate);
    EXPECT_EQ((*retry)[0].message.msg_id, 1u);
    EXPECT_TRUE((*retry)[1].duplicate);
    EXPECT_EQ((*retry)[1].message.msg_id, 5000u);
    ASSERT_TRUE(store->maintain().has_value());
    ASSERT_TRUE(store->maintain().has_value()); // the last slice
    EXPECT_EQ(read_file("SELECT value FROM meta WHERE key = 'indexed_through'"), "5000")
        << "the pass ends with its last slice";
    EXPECT_EQ(read_file("SELECT count(*) FROM inbox"), "10000");
    EXPECT_EQ(read_file("SELECT count(*) FROM client_ids"), "5000");
    ASSERT_TRUE(store->append(std::vector{chat("v0", "u0", "more")}, t0 + 2, day).has_value());
    auto page = store->inbox_since("v0", 0, 5000);
    ASSERT_TRUE(page.has_value());
    EXPECT_EQ(page->size(), 1001u) << "a read indexes what is not indexed yet first";
    EXPECT_EQ(read_file("SELECT value FROM meta WHERE key = 'indexed_through'"), "5001");
}

TEST(SqliteStore, ASliceCoversSomeOfTheActiveUsersWhateverTheirIds) {
    TempDir dir;
    auto store = open_sqlite_store(dir.path(), small_passes());
    // 500 users who never chat take the low ids; the 12 who do come after them.
    std::vector<NewMessage> first;
    for (int i = 0; i < 500; ++i) {
        first.push_back(chat("idle" + std::to_string(i), "idle" + std::to_string(i), "hello"));
    }
    ASSERT_TRUE(store->append(first, t0, day).has_value());
    ASSERT_TRUE(store->inbox_since("idle0", 0, 1).has_value()); // indexes those
    ASSERT_TRUE(store->append(many_chats(5000, 7, 5), t0 + 1, day).has_value());
    ASSERT_TRUE(store->maintain().has_value());
    store.reset();
    const auto inbox = std::stoi(raw_sql(db_file(dir), "SELECT count(*) FROM inbox WHERE msg_id > 500"));
    EXPECT_GT(inbox, 0) << "the first slice wrote rows";
    EXPECT_LT(inbox, 10000) << "the first slice is not the whole pass: the slices cut the active users";
}

// A crash between two slices of a pass leaves some of its rows written and indexed_through
// before them; the reopen indexes the whole tail again, over the rows already there.
TEST(SqliteStore, AReopenAfterAPartWrittenPassIndexesTheRestOnce) {
    TempDir dir;
    {
        auto store = open_sqlite_store(dir.path(), small_passes());
        ASSERT_TRUE(store->append(many_chats(5000, 7, 5), t0, day).has_value());
        ASSERT_TRUE(store->maintain().has_value());
        ASSERT_TRUE(store->maintain().has_value());
    } // closing does not index: as after a crash
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT value FROM meta WHERE key = 'indexed_through'"), "0");
    const auto written = std::stoi(raw_sql(db_file(dir), "SELECT count(*) FROM inbox"));
    EXPECT_GT(written, 0);
    EXPECT_LT(written, 10000);
    auto store = open_sqlite_store(dir.path(), small_passes());
    auto inbox = store->inbox_since("v0", 0, 5000);
    ASSERT_TRUE(inbox.has_value());
    ASSERT_EQ(inbox->size(), 1000u);
    for (std::size_t i = 0; i < inbox->size(); ++i) {
        EXPECT_EQ((*inbox)[i].seq, i + 1);
    }
    auto history = store->history("u0", "v0", 0, 5000);
    ASSERT_TRUE(history.has_value());
    EXPECT_EQ(history->size(), 5000u / 35 + 1) << "u0 and v0 meet every 35th message";
    store.reset();
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM inbox"), "10000");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM conversation_messages"), "5000");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM client_ids"), "5000");
}

// A login's inbox read during a long tail writes only its own user's inbox rows (ADR 013);
// the ninth such read in a pass indexes the whole tail, as a reconnect storm would want.
TEST(SqliteStore, AnInboxReadDuringALongTailIndexesOnlyItsUserUntilReadsPileUp) {
    TempDir dir;
    auto store = open_sqlite_store(dir.path(), small_passes());
    ASSERT_TRUE(store->append(many_chats(5000, 7, 5), t0, day).has_value());
    auto v0 = store->inbox_since("v0", 0, 5000);
    ASSERT_TRUE(v0.has_value());
    ASSERT_EQ(v0->size(), 1000u) << "every entry of v0's inbox, none indexed before the read";
    for (std::size_t i = 0; i < v0->size(); ++i) {
        EXPECT_EQ((*v0)[i].seq, i + 1);
    }
    auto u3 = store->inbox_since("u3", 700, 5000);
    ASSERT_TRUE(u3.has_value());
    ASSERT_EQ(u3->size(), 714u - 700u) << "u3 sent every 7th of 5,000 messages";
    EXPECT_EQ(u3->front().seq, 701u);
    store.reset();
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT value FROM meta WHERE key = 'indexed_through'"), "0");
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM inbox"), "1714") << "v0's and u3's rows only";
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM client_ids"), "0");

    store = open_sqlite_store(dir.path(), small_passes()); // indexes the tail
    // The same client ids again: a window of 0 stores them anyway.
    ASSERT_TRUE(store->append(many_chats(5000, 7, 5), t0 + 1, 0).has_value());
    for (int read = 0; read < 9; ++read) {
        auto page = store->inbox_since("u" + std::to_string(read % 7), 0, 1);
        ASSERT_TRUE(page.has_value());
        ASSERT_EQ(page->size(), 1u);
    }
    store.reset();
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT value FROM meta WHERE key = 'indexed_through'"), "10000")
        << "the ninth read in the pass indexed the whole tail";
    EXPECT_EQ(raw_sql(db_file(dir), "SELECT count(*) FROM inbox"), "20000") << "and no row twice";
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
    const auto indexed =
        std::stoull(raw_sql(db_file(dir), "SELECT value FROM meta WHERE key = 'indexed_through'"));
    // A pass has at most 4 slices, one per maintain(): what is left is at most 4 batches' worth.
    // Slices of 1,000 messages without that bound would take 10 calls per batch's worth.
    EXPECT_GE(indexed, appended - 40000) << "the tail grew without bound";
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
    EXPECT_EQ(raw_sql(db_file(dir), "PRAGMA user_version"), "2");
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
    EXPECT_EQ(next->front().message.msg_id, 2u);
    EXPECT_EQ(next->front().message.from_seq, 2u);
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
    EXPECT_EQ(raw_sql(db_file(dir), "PRAGMA user_version"), "2");
    EXPECT_EQ(raw_sql(db_file(dir), "PRAGMA application_id"), std::to_string(0x50524c59));
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
    const StoredMessage& a = before->front().message;
    const StoredMessage& b = after->front().message;
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
                const std::string ack = std::to_string(r->back().message.msg_id) + "\n";
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
    EXPECT_GT(next->front().message.msg_id, *stored.rbegin());
    EXPECT_EQ(next->front().message.from_seq, *store->last_seq("alice"));
    // A retry of the last acked batch after the restart is recognised, not stored twice.
    const int last_batch = static_cast<int>(lines()) - 1;
    auto retry =
        store->append(std::vector{chat(users[(last_batch + 19) % 4], users[(last_batch * 3 + 20) % 4],
                                       "retry", std::to_string(last_batch * 100 + 19))},
                      t0 + 100001, day);
    ASSERT_TRUE(retry.has_value());
    EXPECT_TRUE(retry->front().duplicate);
    EXPECT_EQ(retry->front().message.msg_id, max_acked);
}

} // namespace
} // namespace parley::store
