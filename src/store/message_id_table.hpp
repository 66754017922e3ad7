// An open-addressing table of (hash, msg_id) entries that a caller can prefetch: the stores'
// idempotency indexes, one entry per message sent with a client id (the memory store's whole
// index; a part of one generation of the SQLite store's ClientIdMemory). The keys themselves live
// in the messages, and the caller's `is_key` tells a match from a collision. Millions of entries
// make every lookup a cache (and TLB) miss, so the stores prefetch the slots of a batch ahead of
// looking them up, overlapping the misses instead of waiting for each in turn. Linear probing,
// deletion by backward shift (no tombstones).
//
// A slot is 8 bytes, so the table is half the size of one of two 64-bit words: fewer pages to
// miss, fault in and double. It holds 32 bits of the mixed hash (its tag, whose top bits also
// place the entry, so growing needs nothing else) and the msg_id as a 32-bit offset from the
// first one filed. Entries a lookup passes share the top bits that place them, so at 2^20 slots
// 12 bits tell them apart: about one entry passed in 4,096 is a false candidate, which `is_key`
// turns down at the cost of reading its message. Ids that do not fit the offset (four billion
// messages after the first) are kept whole beside the table.
#pragma once

#include "store/prefetch.hpp"

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace parley::store {

class MessageIdTable {
public:
    MessageIdTable() = default;

    std::size_t size() const { return size_ + spilled_.size(); }

    // Starts loading the slot where a lookup of `hash` begins.
    void prefetch(std::size_t hash) const {
        if (!slots_.empty()) {
            prefetch_to_read(&slots_[home(tag_of(hash))]);
        }
    }

    // The msg_id of the entry for `hash` whose key `is_key(msg_id)` confirms; 0 if none.
    template <class IsKey> std::uint64_t find(std::size_t hash, IsKey&& is_key) const {
        if (!slots_.empty()) {
            const std::uint64_t tag = tag_of(hash);
            for (std::size_t i = home(tag); slots_[i] != 0; i = (i + 1) & mask_) {
                if ((slots_[i] >> offset_bits) == tag && is_key(msg_id_in(slots_[i]))) {
                    return msg_id_in(slots_[i]);
                }
            }
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

private:
    static constexpr unsigned offset_bits = 32;
    static constexpr std::uint64_t offset_mask = (std::uint64_t{1} << offset_bits) - 1;

    // The top 32 bits of the hash, mixed: a caller may pass a hash whose low bits are poor.
    static std::uint64_t tag_of(std::size_t hash) {
        return (std::uint64_t{hash} * 0x9e3779b97f4a7c15ULL) >> offset_bits;
    }
    // The tag's top bits, as many as the table needs.
    std::size_t home(std::uint64_t tag) const { return static_cast<std::size_t>(tag >> (32 - index_bits_)); }
    std::uint64_t msg_id_in(std::uint64_t slot) const { return base_ + (slot & offset_mask) - 1; }
    // Whether msg_id can be kept as an offset from base_ (0 in a slot means empty).
    bool fits(std::uint64_t msg_id) const { return msg_id >= base_ && msg_id - base_ < offset_mask; }
    // Where the entry of msg_id filed under `hash` is in slots_; slots_.size() if not there.
    std::size_t slot_of(std::size_t hash, std::uint64_t msg_id) const;
    void grow();

    // Empty, or a power of two long (at most 2^32) and at most 3/4 full. A slot is 0 if empty,
    // else tag << 32 | (msg_id - base_ + 1).
    std::vector<std::uint64_t> slots_;
    std::size_t mask_ = 0;
    unsigned index_bits_ = 0; // log2(slots_.size())
    std::size_t size_ = 0;    // entries in slots_
    std::uint64_t base_ = 0;  // the first msg_id filed since the table was empty
    // Entries whose msg_id does not fit the offset, by hash.
    std::unordered_multimap<std::size_t, std::uint64_t> spilled_;
};

} // namespace parley::store
