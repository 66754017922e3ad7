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

} // namespace
} // namespace parley::store
