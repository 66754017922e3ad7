// MessageIdTable: lookups confirmed by the caller's key check, collisions, growth, and deletion by
// backward shift, against a plain reference.
#include "store/message_id_table.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>

namespace parley::store {
namespace {

TEST(MessageIdTable, EmptyFindsNothing) {
    MessageIdTable table;
    table.prefetch(42); // nothing to load; must not touch memory
    EXPECT_EQ(table.find(42, [](std::uint64_t) { return true; }), 0u);
    EXPECT_FALSE(table.erase(42, 1));
    EXPECT_EQ(table.size(), 0u);
}

TEST(MessageIdTable, TheKeyCheckTellsEntriesOfOneHashApart) {
    MessageIdTable table;
    table.insert(7, 100);
    table.insert(7, 200); // another key with the same hash
    EXPECT_EQ(table.find(7, [](std::uint64_t id) { return id == 200; }), 200u);
    EXPECT_EQ(table.find(7, [](std::uint64_t id) { return id == 100; }), 100u);
    EXPECT_EQ(table.find(7, [](std::uint64_t) { return false; }), 0u) << "a hash match alone is no match";
    EXPECT_EQ(table.find(8, [](std::uint64_t) { return true; }), 0u);
    EXPECT_TRUE(table.erase(7, 100));
    EXPECT_FALSE(table.erase(7, 100));
    EXPECT_EQ(table.find(7, [](std::uint64_t) { return true; }), 200u);
    EXPECT_EQ(table.size(), 1u);
}

// Random inserts and erases over a small hash space, so runs of colliding entries are long and
// wrap around the end of the table; every entry must stay findable through growth and deletions.
TEST(MessageIdTable, AgreesWithAReferenceThroughCollisionsGrowthAndDeletions) {
    for (const std::size_t hash_space : {std::size_t{3}, std::size_t{50}, std::size_t{1} << 40}) {
        std::mt19937_64 random(hash_space);
        MessageIdTable table;
        std::map<std::uint64_t, std::size_t> reference; // msg_id -> hash
        std::uint64_t next_id = 1;
        for (int step = 0; step < 20'000; ++step) {
            if (reference.empty() || random() % 3 != 0) {
                const std::size_t hash = random() % hash_space * 0x100000001ULL; // low bits often equal
                table.insert(hash, next_id);
                reference.emplace(next_id++, hash);
            } else {
                auto victim = reference.lower_bound(random() % next_id);
                if (victim == reference.end()) {
                    victim = reference.begin();
                }
                ASSERT_TRUE(table.erase(victim->second, victim->first)) << "step " << step;
                reference.erase(victim);
            }
            if (step % 997 == 0 || step == 19'999) {
                ASSERT_EQ(table.size(), reference.size());
                for (const auto& [id, hash] : reference) {
                    table.prefetch(hash);
                    ASSERT_EQ(
                        table.find(hash, [id = id](std::uint64_t candidate) { return candidate == id; }), id)
                        << "space " << hash_space << ", step " << step;
                }
            }
        }
        table.clear();
        EXPECT_EQ(table.size(), 0u);
        EXPECT_EQ(table.find(0, [](std::uint64_t) { return true; }), 0u);
    }
}

// A hash whose mixed tag is `tag`: the table places an entry by its tag's top bits, so a test
// can put entries exactly where it wants them (the mixing multiplies by an odd constant, which
// has an inverse modulo 2^64).
std::size_t hash_with_tag(std::uint32_t tag) {
    const std::uint64_t odd = 0x9e3779b97f4a7c15ULL;
    std::uint64_t inverse = odd; // Newton's iteration: each step doubles the correct low bits
    for (int i = 0; i < 5; ++i) {
        inverse *= 2 - odd * inverse;
    }
    return static_cast<std::size_t>((std::uint64_t{tag} << 32) * inverse);
}

// Inserts msg_ids first..last under hashes from `hash_of(id)`, recording them in `reference`.
template <class HashOf>
void insert_range(MessageIdTable& table, std::map<std::uint64_t, std::size_t>& reference, std::uint64_t first,
                  std::uint64_t last, HashOf hash_of) {
    for (std::uint64_t id = first; id <= last; ++id) {
        const std::size_t hash = hash_of(id);
        table.insert(hash, id);
        reference.emplace(id, hash);
    }
}

::testing::AssertionResult finds_all(const MessageIdTable& table,
                                     const std::map<std::uint64_t, std::size_t>& reference) {
    if (table.size() != reference.size()) {
        return ::testing::AssertionFailure() << "size " << table.size() << ", expected " << reference.size();
    }
    for (const auto& [id, hash] : reference) {
        const std::uint64_t found =
            table.find(hash, [id = id](std::uint64_t candidate) { return candidate == id; });
        if (found != id) {
            return ::testing::AssertionFailure() << "msg_id " << id << " not found (got " << found << ")";
        }
    }
    return ::testing::AssertionSuccess();
}

// Growing moves the old table's entries a few slots an insert, not all at once (a doubling of
// millions of entries stopped the store's thread for a third of a second). Right after the insert
// that starts a growth nearly the whole old table is still to move; each later insert moves at
// most a few slots (or the short run at the very end); the growth is over within a quarter of the
// old size in inserts, before the new table is itself 3/4 full. Every entry is found all along.
TEST(MessageIdTable, GrowingMovesAFewSlotsAnInsert) {
    std::mt19937_64 random(11);
    MessageIdTable table;
    std::map<std::uint64_t, std::size_t> reference;
    std::uint64_t id = 1;
    std::size_t growths = 0;
    while (growths < 3 && id < 2'000'000) {
        const std::size_t hash = random();
        table.insert(hash, id);
        reference.emplace(id++, hash);
        const std::size_t left = table.slots_left_to_move();
        if (left == 0 || reference.size() < 10'000) {
            continue;
        }
        ++growths;
        // The old table held 3/4 of its slots; nearly all of them wait.
        const std::size_t old_slots = reference.size() * 4 / 3;
        ASSERT_GT(left, old_slots - MessageIdTable::moved_per_insert - 64) << "growth " << growths;
        ASSERT_TRUE(finds_all(table, reference));
        std::size_t inserts = 0;
        for (std::size_t before = left; table.slots_left_to_move() != 0; ++inserts) {
            const std::size_t more = random();
            table.insert(more, id);
            reference.emplace(id++, more);
            const std::size_t now = table.slots_left_to_move();
            ASSERT_LT(now, before) << "each insert moves some";
            ASSERT_LE(before - now, MessageIdTable::moved_per_insert + 64) << "never a large share at once";
            before = now;
            if (inserts % 1024 == 0) {
                ASSERT_TRUE(finds_all(table, reference));
            }
        }
        EXPECT_LE(inserts, old_slots / MessageIdTable::moved_per_insert + 1);
        ASSERT_TRUE(finds_all(table, reference));
    }
    EXPECT_EQ(growths, 3u) << "a growth from 10,000 entries on is spread over inserts";
}

// While a growth is under way an entry is in the old table or the new one: lookups, erases and
// second filings of a pair must find it in either. The entries here are placed at the end of the
// table so that their run wraps around to its start, which is moved first: lookups in what is
// left must still go round to the entries of that run not yet moved. Checked after every insert.
TEST(MessageIdTable, EntriesAreFoundErasedAndNotFiledTwiceWhileTheyMove) {
    for (const std::uint32_t tag : {std::uint32_t{0xffffffff}, std::uint32_t{0xfff00000}, std::uint32_t{0}}) {
        std::mt19937_64 random(tag);
        MessageIdTable table;
        std::map<std::uint64_t, std::size_t> reference;
        // 40 entries under one tag: a run of 40 from its home, wrapping for the top tags.
        insert_range(table, reference, 1, 40, [&](std::uint64_t) { return hash_with_tag(tag); });
        insert_range(table, reference, 41, 48, [&](std::uint64_t) { return random(); });
        std::uint64_t id = 49;
        bool saw_growth = false;
        for (int step = 0; step < 3'000; ++step) {
            const std::size_t hash = step % 5 == 0 ? hash_with_tag(tag) : random();
            table.insert(hash, id);
            reference.emplace(id++, hash);
            if (table.slots_left_to_move() != 0) {
                saw_growth = true;
                // A pair filed again while it waits in the old table takes no second entry.
                const auto oldest = reference.begin();
                table.insert(oldest->second, oldest->first);
                // Erase an entry, in whichever table it is.
                const auto victim = reference.lower_bound(random() % id);
                if (victim != reference.end()) {
                    ASSERT_TRUE(table.erase(victim->second, victim->first)) << "step " << step;
                    ASSERT_FALSE(table.erase(victim->second, victim->first));
                    reference.erase(victim);
                }
            }
            ASSERT_TRUE(finds_all(table, reference)) << "tag " << tag << ", step " << step;
            ASSERT_EQ(table.find(hash_with_tag(tag), [](std::uint64_t) { return false; }), 0u)
                << "a lookup of an absent entry ends";
        }
        EXPECT_TRUE(saw_growth);
    }
}

// Erasing every entry the old table still holds ends the growth (its pages are given back).
TEST(MessageIdTable, ErasingWhatWaitsToMoveEndsTheGrowth) {
    MessageIdTable table;
    std::map<std::uint64_t, std::size_t> reference;
    std::uint64_t id = 1;
    for (; (table.slots_left_to_move() == 0 || reference.size() < 1'000) && id < 1'000'000; ++id) {
        table.insert(id * 0x9e3779b97f4a7c15ULL, id);
        reference.emplace(id, id * 0x9e3779b97f4a7c15ULL);
    }
    ASSERT_NE(table.slots_left_to_move(), 0u) << "a growth is under way";
    // The one filed last is in the new table, and so are the few moved; erase all others.
    for (auto it = reference.begin(); it != reference.end();) {
        if (it->first + 1 == id || table.slots_left_to_move() == 0) {
            ++it;
            continue;
        }
        ASSERT_TRUE(table.erase(it->second, it->first));
        it = reference.erase(it);
    }
    EXPECT_EQ(table.slots_left_to_move(), 0u);
    EXPECT_TRUE(finds_all(table, reference));
}

// The SQLite store files what it loads at start and what it stores; a message can be both (in a
// run and in the tail after a crash) and must then take one entry, in the table or beside it.
TEST(MessageIdTable, APairFiledTwiceTakesOneEntry) {
    MessageIdTable table;
    const std::uint64_t far = (std::uint64_t{1} << 32) + 10; // beside the table
    for (int twice = 0; twice < 2; ++twice) {
        table.insert(5, 1);
        table.insert(5, 2); // same hash, another message
        table.insert(6, far);
    }
    EXPECT_EQ(table.size(), 3u);
    EXPECT_TRUE(table.erase(5, 1));
    EXPECT_FALSE(table.erase(5, 1));
    EXPECT_TRUE(table.erase(6, far));
    EXPECT_FALSE(table.erase(6, far));
    EXPECT_EQ(table.size(), 1u);
}

// A slot keeps a msg_id as a 32-bit offset from the first one filed; ids past that, or below it,
// are kept whole beside the table and must be found and erased the same way.
TEST(MessageIdTable, IdsTooFarFromTheFirstAreKeptAsWell) {
    MessageIdTable table;
    const std::uint64_t first = 1000;
    const std::uint64_t far = first + (std::uint64_t{1} << 32) + 5;
    table.insert(11, first);
    table.insert(12, far);
    table.insert(13, first - 1); // below the first one filed
    table.insert(14, first + 1);
    EXPECT_EQ(table.size(), 4u);
    for (const auto& [hash, id] :
         {std::pair<std::size_t, std::uint64_t>{11, first}, {12, far}, {13, first - 1}, {14, first + 1}}) {
        EXPECT_EQ(table.find(hash, [id = id](std::uint64_t candidate) { return candidate == id; }), id);
    }
    EXPECT_EQ(table.find(12, [](std::uint64_t) { return true; }), far);
    EXPECT_TRUE(table.erase(12, far));
    EXPECT_FALSE(table.erase(12, far));
    EXPECT_TRUE(table.erase(13, first - 1));
    EXPECT_EQ(table.find(12, [](std::uint64_t) { return true; }), 0u);
    EXPECT_EQ(table.size(), 2u);
    // Emptied, the table starts again from the next id filed, however far that is.
    EXPECT_TRUE(table.erase(11, first));
    EXPECT_TRUE(table.erase(14, first + 1));
    table.insert(15, far);
    table.insert(16, far + 1);
    EXPECT_EQ(table.find(16, [&](std::uint64_t candidate) { return candidate == far + 1; }), far + 1);
    EXPECT_EQ(table.size(), 2u);
}

// A slot keeps 32 bits of the hash, and the top ones place it, so some entries a lookup passes
// are false candidates the key check must turn down (each costs the store a message read). Of a
// million entries and 100,000 lookups of hashes not in the table, about 80 are expected; a slot
// that kept fewer bits (24: ~20,000) or compared none fails the bound.
TEST(MessageIdTable, FewFalseCandidatesInAMillionEntries) {
    std::mt19937_64 random(7);
    MessageIdTable table;
    for (std::uint64_t id = 1; id <= 1'000'000; ++id) {
        table.insert(random(), id);
    }
    std::size_t candidates = 0;
    for (int i = 0; i < 100'000; ++i) {
        EXPECT_EQ(table.find(random(), [&](std::uint64_t) { return ++candidates, false; }), 0u);
    }
    EXPECT_LE(candidates, 400u);
}

} // namespace
} // namespace parley::store
