// An open-addressing table of (hash, msg_id) entries that a caller can prefetch: the stores'
// idempotency indexes, one entry per message sent with a client id the memory store cannot file
// in order (the memory store's index; a part of one generation of the SQLite store's
// ClientIdMemory). The keys themselves live in the messages, and the caller's `is_key` tells a
// match from a collision. Millions of entries make every lookup a cache (and TLB) miss, so the
// stores prefetch the slots of a batch ahead of looking them up, overlapping the misses instead of
// waiting for each in turn. Linear probing, deletion by backward shift (no tombstones).
//
// A slot is 8 bytes, so the table is half the size of one of two 64-bit words: fewer pages to
// miss, fault in and double. It holds 32 bits of the mixed hash (its tag, whose top bits also
// place the entry, so growing needs nothing else) and the msg_id as a 32-bit offset from the
// first one filed. Entries a lookup passes share the top bits that place them, so at 2^20 slots
// 12 bits tell them apart: about one entry passed in 4,096 is a false candidate, which `is_key`
// turns down at the cost of reading its message. Ids that do not fit the offset (four billion
// messages after the first) are kept whole beside the table.
//
// Growing is spread over the inserts that follow it: a table twice the size takes the new
// entries, and each insert moves a few slots of the old one into it (ADR 015). Doubling at once
// stopped the caller's thread for as long as it took to fault in and fill the new table: 9 ms at
// 400,000 entries, 0.3 s at 12 million (the memory store with clients whose ids are random).
#pragma once

#include "store/prefetch.hpp"

#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace parley::store {

class MessageIdTable {
public:
    MessageIdTable() = default;

    std::size_t size() const { return current_.used() + old_.used() + spilled_.size(); }

    // Starts loading the slots where a lookup of `hash` begins.
    void prefetch(std::size_t hash) const {
        const std::uint64_t tag = tag_of(hash);
        current_.prefetch(tag);
        old_.prefetch(tag);
    }

    // The msg_id of the entry for `hash` whose key `is_key(msg_id)` confirms; 0 if none.
    template <class IsKey> std::uint64_t find(std::size_t hash, IsKey&& is_key) const {
        const std::uint64_t tag = tag_of(hash);
        const auto confirmed = [&](std::uint64_t slot) { return is_key(msg_id_in(slot)); };
        if (const std::uint64_t slot = current_.find(tag, confirmed); slot != 0) {
            return msg_id_in(slot);
        }
        if (const std::uint64_t slot = old_.find(tag, confirmed); slot != 0) {
            return msg_id_in(slot);
        }
        if (!spilled_.empty()) {
            const auto [begin, end] = spilled_.equal_range(hash);
            for (auto it = begin; it != end; ++it) {
                if (is_key(it->second)) {
                    return it->second;
                }
            }
        }
        return 0;
    }

    // Files `msg_id` (> 0) under `hash`; a pair filed already is not filed twice. An earlier
    // msg_id of the same key stays unless the caller erases it.
    void insert(std::size_t hash, std::uint64_t msg_id);

    // Removes the entry of `msg_id` (filed under `hash`); false if there is none.
    bool erase(std::size_t hash, std::uint64_t msg_id);

    void clear();

    // Bytes of slots mapped (both tables while a growth is under way).
    std::size_t slot_bytes() const { return (current_.capacity() + old_.capacity()) * sizeof(std::uint64_t); }

    // Slots of the table before the last growth not yet moved into the current one (0 when no
    // growth is under way): for tests of the spreading.
    std::size_t slots_left_to_move() const { return old_.slots_left(); }

    // Slots an insert moves from the old table while a growth is under way. The move must end
    // before the new table, twice the old one's size, is 3/4 full: it had at most 3/4 of the old
    // size when it began, and after old size / moved_per_insert inserts it is over.
    static constexpr std::size_t moved_per_insert = 4;

private:
    static constexpr unsigned offset_bits = 32;
    static constexpr std::uint64_t offset_mask = (std::uint64_t{1} << offset_bits) - 1;

    // A table's slots, 2^index_bits of them, zeroed pages from the kernel that are touched only
    // as entries land on them. While the table is the old one of a growth, its entries are moved
    // out from the front, and it is a ring over [first, end): a lookup whose home lies before
    // `first` starts at `first`, and one that runs off the end goes on at `first`, not at 0. So
    // every entry stays on an unbroken run of filled slots from where its lookup starts, and a
    // lookup of an absent entry stops at an empty slot: the ring is never left all filled.
    class Slots {
    public:
        Slots() = default;
        explicit Slots(unsigned index_bits);
        Slots(Slots&& other) noexcept;
        Slots& operator=(Slots&& other) noexcept;
        Slots(const Slots&) = delete;
        Slots& operator=(const Slots&) = delete;
        ~Slots();

        std::size_t capacity() const { return capacity_; }
        unsigned index_bits() const { return index_bits_; }
        std::size_t used() const { return used_; }
        std::size_t slots_left() const { return capacity_ - first_; }
        // Whether one more entry keeps it at most 3/4 full.
        bool has_room() const { return (used_ + 1) * 4 <= capacity_ * 3; }

        void prefetch(std::uint64_t tag) const {
            if (used_ != 0) {
                prefetch_to_read(&slots_[start(tag)]);
            }
        }
        // The first slot of `tag` that `confirmed(slot)` accepts; 0 if none.
        template <class Confirmed> std::uint64_t find(std::uint64_t tag, Confirmed&& confirmed) const {
            if (used_ == 0) {
                return 0;
            }
            return slots_[seek(tag, [&](std::uint64_t slot) {
                return (slot >> offset_bits) == tag && confirmed(slot);
            })]; // 0 if the run ended first
        }
        // Where `slot` is; capacity() if it is not there.
        std::size_t position(std::uint64_t slot) const;
        // Files `slot` unless it is there already (then false); needs room.
        bool put(std::uint64_t slot);
        // Empties the slot at `at`, pulling later entries of its run back (backward shift).
        void remove_at(std::size_t at);
        // Takes the slot at the front out of the ring: its value, 0 if it was empty. Pages
        // wholly before the front go back to the kernel.
        std::uint64_t take_front();

    private:
        // The lookup of `tag`, the one walk every operation shares: from where it starts along the
        // run, the first slot `match` accepts, or the empty slot the run ends at. Needs slots.
        template <class Match> std::size_t seek(std::uint64_t tag, Match&& match) const {
            std::size_t i = start(tag);
            while (slots_[i] != 0 && !match(slots_[i])) {
                i = next(i);
            }
            return i;
        }
        // Where a lookup of `tag` starts: its home, or the front if the home was taken out.
        std::size_t start(std::uint64_t tag) const {
            const auto home = static_cast<std::size_t>(tag >> (offset_bits - index_bits_));
            return home < first_ ? first_ : home;
        }
        std::size_t next(std::size_t i) const { return i + 1 == capacity_ ? first_ : i + 1; }
        void release();

        std::uint64_t* slots_ = nullptr;
        std::size_t capacity_ = 0;
        std::size_t first_ = 0; // slots before it were moved out (only in a growth's old table)
        std::size_t used_ = 0;
        unsigned index_bits_ = 0;
    };

    // The top 32 bits of the hash, mixed: a caller may pass a hash whose low bits are poor.
    static std::uint64_t tag_of(std::size_t hash) {
        return (std::uint64_t{hash} * 0x9e3779b97f4a7c15ULL) >> offset_bits;
    }
    std::uint64_t msg_id_in(std::uint64_t slot) const { return base_ + (slot & offset_mask) - 1; }
    // Whether msg_id can be kept as an offset from base_ (0 in a slot means empty).
    bool fits(std::uint64_t msg_id) const { return msg_id >= base_ && msg_id - base_ < offset_mask; }
    std::uint64_t slot_for(std::size_t hash, std::uint64_t msg_id) const {
        return tag_of(hash) << offset_bits | (msg_id - base_ + 1);
    }
    // Starts a growth: the current table becomes the old one (which must be empty by then).
    void grow();
    // Moves up to `count` slots of the old table into the current one.
    void move_old(std::size_t count);

    Slots current_;          // where new entries go
    Slots old_;              // the table before the last growth, until its entries are moved
    std::uint64_t base_ = 0; // the first msg_id filed since the table was empty
    // Entries whose msg_id does not fit the offset, by hash.
    std::unordered_multimap<std::size_t, std::uint64_t> spilled_;
};

} // namespace parley::store
