#include "store/client_id_memory.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

// The SQLite store's idempotency memory (ADR 014, 015): what was remembered within the window is
// found, candidates go to the caller's confirm() newest generation first, and nothing older than
// two windows stays.

namespace parley::store {
namespace {

constexpr std::int64_t window = 1000;

// The first candidate for `fingerprint` (what a store that accepts anything would take).
std::uint64_t first(const ClientIdMemory& memory, std::uint64_t fingerprint) {
    return memory.find(fingerprint, [](std::uint64_t) { return true; });
}

TEST(ClientIdMemory, OffersEveryMsgIdRememberedUnderAFingerprint) {
    ClientIdMemory memory;
    memory.mark_loaded(0);
    EXPECT_EQ(first(memory, 42), 0u);
    memory.remember(42, 5);
    memory.remember(42, 7); // the same key stored again later (its first copy out of the window)
    memory.remember(42, 7); // remembered twice (in a run and in the tail): kept once
    memory.remember(0xffff'0000'0000'0001ULL, 9);
    std::vector<std::uint64_t> offered;
    EXPECT_EQ(memory.find(42,
                          [&](std::uint64_t id) {
                              offered.push_back(id);
                              return false;
                          }),
              0u)
        << "nothing confirmed, nothing found";
    std::sort(offered.begin(), offered.end());
    EXPECT_EQ(offered, (std::vector<std::uint64_t>{5, 7}));
    EXPECT_EQ(memory.find(42, [](std::uint64_t id) { return id == 7; }), 7u);
    EXPECT_EQ(first(memory, 0xffff'0000'0000'0001ULL), 9u);
    EXPECT_EQ(first(memory, 43), 0u);
    EXPECT_EQ(memory.size(), 3u);
}

// Ids far apart within one generation (below the first one remembered, or 2^32 past it) do not
// fit a slot's offset and are kept aside, still found.
TEST(ClientIdMemory, IdsThatDoNotFitASlotAreStillFound) {
    ClientIdMemory memory;
    memory.mark_loaded(0);
    constexpr std::uint64_t far = (std::uint64_t{1} << 32) + 100;
    memory.remember(1, 50);
    memory.remember(1, 10);       // below the part's first id
    memory.remember(1, 50 + far); // past what 40 bits hold
    memory.remember(1, 50 + far); // once
    std::vector<std::uint64_t> offered;
    memory.find(1, [&](std::uint64_t id) {
        offered.push_back(id);
        return false;
    });
    std::sort(offered.begin(), offered.end());
    EXPECT_EQ(offered, (std::vector<std::uint64_t>{10, 50, 50 + far}));
    EXPECT_EQ(memory.size(), 3u);
}

// Many fingerprints, so every part grows many times: each stays findable, with its own id, and a
// fingerprint never remembered finds nothing its confirm() accepts.
TEST(ClientIdMemory, EveryFingerprintStaysFindableThroughGrowth) {
    ClientIdMemory memory;
    memory.mark_loaded(0);
    std::mt19937_64 random(7);
    std::vector<std::uint64_t> fingerprints(1'000'000);
    for (std::size_t i = 0; i < fingerprints.size(); ++i) {
        fingerprints[i] = random() | 1;
        memory.remember(fingerprints[i], 1000 + i);
    }
    EXPECT_EQ(memory.size(), fingerprints.size());
    for (std::size_t i = 0; i < fingerprints.size(); ++i) {
        memory.prefetch(fingerprints[i]);
        const std::uint64_t want = 1000 + i;
        ASSERT_EQ(memory.find(fingerprints[i], [&](std::uint64_t id) { return id == want; }), want) << i;
    }
    std::size_t false_candidates = 0;
    for (int i = 0; i < 100'000; ++i) {
        memory.find(random() | 1, [&](std::uint64_t) {
            ++false_candidates;
            return false;
        });
    }
    // Entries placed at the same slot as a lookup share the top 15 bits of its tag (parts of
    // 32,768 slots here); the other 17 tell them apart: well under one false candidate in these
    // 100,000 lookups. With 24-bit tags (9 bits left) there were 159.
    EXPECT_LE(false_candidates, 5u);
}

TEST(ClientIdMemory, KeepsOneWindowAtLeastAndTwoAtMost) {
    ClientIdMemory memory;
    memory.mark_loaded(0);
    memory.remember(1, 1); // at 0
    memory.age(999, window);
    EXPECT_EQ(first(memory, 1), 1u);
    memory.age(1000, window); // a window since the generation began: it becomes the old one
    memory.remember(2, 2);    // at 1000
    EXPECT_EQ(first(memory, 1), 1u) << "still within the window of a message at 1000 - 1000";
    EXPECT_EQ(first(memory, 2), 2u);
    memory.age(1999, window);
    EXPECT_EQ(first(memory, 1), 1u);
    memory.age(2000, window); // two windows after it: gone
    EXPECT_EQ(first(memory, 1), 0u);
    EXPECT_EQ(first(memory, 2), 2u);
    memory.remember(2, 3); // the same key again, newer
    memory.age(3000, window);
    EXPECT_EQ(first(memory, 2), 3u) << "the newer one moved with its generation";
    EXPECT_EQ(memory.size(), 1u);
}

TEST(ClientIdMemory, IsEmptyAndUnloadedUntilFilled) {
    ClientIdMemory memory;
    EXPECT_FALSE(memory.loaded());
    EXPECT_EQ(memory.size(), 0u);
    memory.mark_loaded(5);
    EXPECT_TRUE(memory.loaded());
}

// A generation aged out gives its memory back a part a call, not all at once (unmapping a day's
// ids would stall the storage thread), and what it held is no longer found meanwhile.
TEST(ClientIdMemory, ADroppedGenerationIsFreedAPartACall) {
    ClientIdMemory memory;
    memory.mark_loaded(0);
    std::mt19937_64 random(3);
    std::vector<std::uint64_t> oldest;
    for (std::uint64_t id = 1; id <= 20'000; ++id) { // every part gets entries
        oldest.push_back(random());
        memory.remember(oldest.back(), id);
    }
    memory.age(window, window); // the oldest become the previous generation
    memory.remember(7, 30'000);
    EXPECT_EQ(memory.dropped_bytes(), 0u);
    memory.age(2 * window, window); // and are dropped
    const std::size_t held = memory.dropped_bytes();
    EXPECT_GT(held, 0u);
    for (const std::uint64_t fingerprint : oldest) {
        ASSERT_EQ(first(memory, fingerprint), 0u) << "nothing older than two windows is found";
    }
    EXPECT_EQ(first(memory, 7), 30'000u);
    std::size_t calls = 0;
    for (std::size_t before = held; memory.dropped_bytes() != 0 && calls < 1000; ++calls) {
        memory.age(2 * window + 1, window); // within the window: frees one part
        ASSERT_LT(memory.dropped_bytes(), before);
        ASSERT_LE(before - memory.dropped_bytes(), held / 16) << "a part at a time, not the whole";
        before = memory.dropped_bytes();
    }
    EXPECT_EQ(calls, 64u) << "one part a call";
    EXPECT_EQ(first(memory, 7), 30'000u);
}

} // namespace
} // namespace parley::store
