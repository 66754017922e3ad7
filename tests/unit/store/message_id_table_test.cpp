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
