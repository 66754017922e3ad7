#include "store/message_store.hpp"

#include "store/byte_arena.hpp"
#include "store/journal_store.hpp"
#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

// The memory store stands in for SQLite in tests and benchmarks, and the journal store is the
// memory store behind a journal, so all three must answer alike:
// the same random run of appends (with retries inside and outside the idempotency window),
// receipts, pushed seqs and prunes goes to both, and every answer is compared. The contract
// suite says what is right; this catches any case it did not think of where they differ.

namespace parley::store {
namespace {

void expect_same(const StoredMessage& a, const StoredMessage& b, const std::string& where) {
    EXPECT_EQ(a.msg_id, b.msg_id) << where;
    EXPECT_EQ(a.ts_ms, b.ts_ms) << where;
    EXPECT_EQ(a.from, b.from) << where;
    EXPECT_EQ(a.to, b.to) << where;
    EXPECT_EQ(a.text, b.text) << where;
    EXPECT_EQ(a.from_seq, b.from_seq) << where;
    EXPECT_EQ(a.to_seq, b.to_seq) << where;
}

// Sends one random run to `memory` and `other`, comparing every answer. `between_steps` runs
// before each step (with the step's random source) and may replace `other`.
// How the run's clients pick their ids: from a small pool (mostly retries, in no order), or the
// way most clients do, counting up (the memory store's ordered ids), with retries of recent ones,
// now and then an id out of order, and bursts of one conversation.
enum class client_ids { pool, counting };

void compare_random_run(std::unique_ptr<MessageStore>& memory, std::unique_ptr<MessageStore>& other,
                        const std::function<void(std::mt19937&)>& between_steps,
                        client_ids ids = client_ids::pool) {
    const std::vector<std::string> users{"ann", "ben", "cat", "dan", "eve"};
    const std::int64_t window = 1000;
    std::mt19937 random(7);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(random() % n); };
    std::int64_t now = 1'000'000;
    std::map<std::string, int, std::less<>> counters; // the counting clients' last id, by sender
    auto counted_id = [&](std::string_view from) {
        int& counter = counters.try_emplace(std::string(from)).first->second;
        const std::size_t roll = pick(10);
        if (roll < 6) {
            ++counter; // the next id: "m9" then "m10", shortlex order
        } else if (roll < 8) {
            return "\"m" + std::to_string(std::max(0, counter - static_cast<int>(pick(5)))) + "\""; // a retry
        } else if (roll == 8) {
            return std::to_string(pick(40)); // a JSON number, out of order with the rest
        } else {
            return std::string();
        }
        return "\"m" + std::to_string(counter) + "\"";
    };

    for (int step = 0; step < 400; ++step) {
        const std::string where = "step " + std::to_string(step);
        between_steps(random);
        now += static_cast<std::int64_t>(pick(4) == 0 ? 700 : 20);
        const std::size_t action = pick(10);
        if (action < 5) {
            std::vector<NewMessage> batch(1 + pick(6));
            ByteArena bytes; // what the batch views
            const bool burst = ids == client_ids::counting && pick(2) == 0;
            for (NewMessage& m : batch) {
                if (burst && &m != &batch.front()) {
                    m.from = batch.front().from;
                    m.to = batch.front().to;
                } else {
                    m.from = users[pick(users.size())];
                    m.to = users[pick(users.size())];
                }
                m.text = bytes.keep("t" + std::to_string(pick(1000)));
                if (ids == client_ids::pool) {
                    m.client_id =
                        pick(3) == 0 ? "" : bytes.keep(std::to_string(pick(15))); // a small pool: retries
                } else {
                    m.client_id = bytes.keep(counted_id(m.from));
                }
            }
            auto a = memory->append(batch, now, window);
            auto b = other->append(batch, now, window);
            ASSERT_TRUE(a && b) << where;
            ASSERT_EQ(a->size(), b->size());
            for (std::size_t i = 0; i < a->size(); ++i) {
                EXPECT_EQ((*a)[i].duplicate, (*b)[i].duplicate) << where;
                EXPECT_EQ((*a)[i].msg_id, (*b)[i].msg_id) << where;
                EXPECT_EQ((*a)[i].ts_ms, (*b)[i].ts_ms) << where;
                EXPECT_EQ((*a)[i].from_seq, (*b)[i].from_seq) << where;
                EXPECT_EQ((*a)[i].to_seq, (*b)[i].to_seq) << where;
            }
        } else if (action == 5) {
            std::vector<Receipt> receipts(1 + pick(3));
            for (Receipt& r : receipts) {
                r = {users[pick(users.size())], users[pick(users.size())],
                     pick(2) == 0 ? receipt_kind::read : receipt_kind::delivered, pick(300)};
            }
            auto a = memory->record_receipts(receipts);
            auto b = other->record_receipts(receipts);
            ASSERT_TRUE(a && b) << where;
            EXPECT_EQ(*a, *b) << where;
        } else if (action == 6) {
            const std::string& user = users[pick(users.size())];
            const std::uint64_t seq = pick(100);
            ASSERT_TRUE(memory->set_pushed_seq(user, seq) && other->set_pushed_seq(user, seq));
        } else if (action == 7) {
            const std::int64_t before = now - static_cast<std::int64_t>(pick(3000));
            const std::size_t max = pick(8);
            auto a = memory->prune(before, max);
            auto b = other->prune(before, max);
            ASSERT_TRUE(a && b) << where;
            EXPECT_EQ(*a, *b) << where;
        }

        // Every read, for every user, after every step.
        for (const std::string& user : users) {
            EXPECT_EQ(*memory->last_seq(user), *other->last_seq(user)) << where << " " << user;
            EXPECT_EQ(*memory->pushed_seq(user), *other->pushed_seq(user)) << where << " " << user;
            const std::uint64_t since = pick(20);
            const std::size_t limit = 1 + pick(10);
            auto ia = memory->inbox_since(user, since, limit);
            auto ib = other->inbox_since(user, since, limit);
            ASSERT_TRUE(ia && ib);
            ASSERT_EQ(ia->size(), ib->size()) << where << " inbox of " << user;
            for (std::size_t i = 0; i < ia->size(); ++i) {
                EXPECT_EQ((*ia)[i].seq, (*ib)[i].seq) << where;
                expect_same((*ia)[i].message, (*ib)[i].message, where + " inbox of " + user);
            }
            const std::string& peer = users[pick(users.size())];
            const std::uint64_t before = pick(2) == 0 ? 0 : pick(300);
            auto ha = memory->history(user, peer, before, limit);
            auto hb = other->history(user, peer, before, limit);
            ASSERT_TRUE(ha && hb);
            ASSERT_EQ(ha->size(), hb->size()) << where << " history " << user << "/" << peer;
            for (std::size_t i = 0; i < ha->size(); ++i) {
                expect_same((*ha)[i], (*hb)[i], where + " history");
            }
            auto ca = memory->conversations(user);
            auto cb = other->conversations(user);
            ASSERT_TRUE(ca && cb);
            ASSERT_EQ(ca->size(), cb->size()) << where << " conversations of " << user;
            for (std::size_t i = 0; i < ca->size(); ++i) {
                const Conversation& a = (*ca)[i];
                const Conversation& b = (*cb)[i];
                EXPECT_EQ(a.peer, b.peer) << where;
                EXPECT_EQ(a.unread, b.unread) << where << " " << user << "/" << a.peer;
                EXPECT_EQ(a.read_up_to, b.read_up_to) << where;
                EXPECT_EQ(a.peer_read_up_to, b.peer_read_up_to) << where;
                EXPECT_EQ(a.peer_delivered_up_to, b.peer_delivered_up_to) << where;
                expect_same(a.last, b.last, where + " conversation");
            }
        }
        if (::testing::Test::HasFailure()) {
            return; // the first difference is the useful one
        }
    }
}

TEST(StoreEquivalence, MemoryAndSqliteAgreeOnARandomRun) {
    testing_support::TempDir dir;
    auto memory = make_memory_store();
    std::unique_ptr<MessageStore> sqlite = open_sqlite_store(dir.path(), {.sync = sqlite_sync::normal});
    compare_random_run(memory, sqlite, [](std::mt19937&) {});
}

// Clients counting their ids up: the memory store files those beside each sender, not in its
// table, and must still answer every retry, within the window or not, before and after prunes,
// as the SQLite store does.
TEST(StoreEquivalence, MemoryAndSqliteAgreeOnARandomRunOfCountingClients) {
    testing_support::TempDir dir;
    auto memory = make_memory_store();
    std::unique_ptr<MessageStore> sqlite = open_sqlite_store(dir.path(), {.sync = sqlite_sync::normal});
    compare_random_run(
        memory, sqlite, [](std::mt19937&) {}, client_ids::counting);
}

// The SQLite store reads its newest messages from memory and the rest through the runs its
// passes write: with a pass whenever 8 messages wait, written 2 runs a slice (one slice per
// maintain(), before every step, so reads come between slices), and a reopen about every tenth
// step (which reads the tail back from the batches, and finishes a pass cut short), every read
// mixes both.
TEST(StoreEquivalence, MemoryAndSqliteAgreeAcrossPassesSlicesAndReopens) {
    testing_support::TempDir dir;
    const SqliteOptions options{.sync = sqlite_sync::normal, .index_pass_messages = 8, .index_slice_runs = 2};
    auto memory = make_memory_store();
    std::unique_ptr<MessageStore> sqlite = open_sqlite_store(dir.path(), options);
    int reopens = 0;
    compare_random_run(memory, sqlite, [&](std::mt19937& random) {
        ASSERT_TRUE(sqlite->maintain());
        if (random() % 10 == 0) {
            sqlite.reset();
            sqlite = open_sqlite_store(dir.path(), options);
            ++reopens;
        }
    });
    EXPECT_GT(reopens, 20);
}

// The journal store rebuilds its state by replaying its file: closing and reopening it at random
// points of the run (about every tenth step) must change no answer, pushed seqs included (a clean
// close writes them). maintain() runs before every step and compacts once the journal passes 1 KiB
// and twice the image, so most reopens replay an image and the records after it.
void journal_random_run(bool background_compaction, int& compactions, int& reopens) {
    testing_support::TempDir dir;
    JournalOptions options;
    options.compact_at_least_bytes = 1024;
    options.background_compaction = background_compaction;
    options.info = [&](const std::string&) { ++compactions; };
    auto memory = make_memory_store();
    std::unique_ptr<MessageStore> journal = open_journal_store(dir.path(), options);
    compare_random_run(memory, journal, [&](std::mt19937& random) {
        // Receipts for a conversation that does not exist change nothing but are journaled: the
        // garbage that makes compaction worth its while.
        for (int i = 0; i < 4; ++i) {
            ASSERT_EQ(journal->record_receipt({"nobody", "nothing", receipt_kind::read, 1}).value(), 0u);
        }
        ASSERT_TRUE(journal->maintain());
        if (random() % 10 == 0) {
            journal.reset();
            journal = open_journal_store(dir.path(), options);
            ++reopens;
        }
    });
}

TEST(StoreEquivalence, MemoryAndJournalAgreeOnARandomRunAcrossReopensAndCompactions) {
    int compactions = 0;
    int reopens = 0;
    journal_random_run(false, compactions, reopens);
    EXPECT_GT(reopens, 20);
    EXPECT_GE(compactions, 4);
}

// The same with the image written by a forked child: maintain() finds it done some steps later
// (records written meanwhile then follow the image), or a reopen ends it unfinished. How many
// finish depends on timing, so only the answers are checked.
TEST(StoreEquivalence, MemoryAndJournalAgreeWithCompactionsInAChildProcess) {
    int compactions = 0;
    int reopens = 0;
    journal_random_run(true, compactions, reopens);
    EXPECT_GT(reopens, 20);
}

} // namespace
} // namespace parley::store

namespace parley::store {
namespace {

// A memory store's image (the journal store's compaction) must rebuild a store that answers
// exactly as the imaged one: the run's second store is replaced, about every tenth step, by a
// fresh one given its image.
void rebuilt_from_image_run(client_ids ids) {
    auto memory = make_memory_store();
    std::unique_ptr<MessageStore> copy = make_memory_store();
    int rebuilds = 0;
    compare_random_run(
        memory, copy,
        [&](std::mt19937& random) {
            if (random() % 10 == 0) {
                std::unique_ptr<MessageStore> rebuilt = make_memory_store();
                bool read = true;
                std::size_t written = 0;
                write_memory_image(*copy, [&](std::string_view part) {
                    written += part.size();
                    read = read && read_memory_image_part(*rebuilt, part);
                });
                ASSERT_TRUE(read);
                ASSERT_TRUE(memory_image_complete(*rebuilt));
                const std::size_t estimate = memory_image_bytes(*copy);
                EXPECT_LE(written, estimate + 64);
                EXPECT_GE(written + 64, estimate);
                copy = std::move(rebuilt);
                ++rebuilds;
            }
        },
        ids);
    EXPECT_GT(rebuilds, 20);
}

TEST(StoreEquivalence, AMemoryStoreRebuiltFromItsImageAgreesOnARandomRun) {
    rebuilt_from_image_run(client_ids::pool);
}

TEST(StoreEquivalence, AMemoryStoreRebuiltFromItsImageAgreesOnARandomRunOfCountingClients) {
    rebuilt_from_image_run(client_ids::counting);
}

} // namespace
} // namespace parley::store
