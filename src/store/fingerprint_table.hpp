// One part of the SQLite store's idempotency memory (client_id_memory.hpp): (fingerprint, msg_id)
// pairs in 8 bytes a slot, half of what a map of two 64-bit words takes. A slot keeps 32 bits of
// the fingerprint (its tag) and the msg_id as a 32-bit offset from the part's first one. The
// tag's top bits also place the entry, so the table can grow without the rest of the
// fingerprint; the entries a lookup passes share those bits with it, and the other 32 - log2(size)
// tell them apart. A lookup therefore gives candidates, which the store confirms against the
// stored message anyway: a false one (about one in 2^12 of the entries passed, for a part of a
// million slots) costs one read. Open addressing with linear probing, no deletion (a generation
// is dropped whole), and prefetch(): the store looks up a whole batch's fingerprints after
// prefetching their slots, so the cache misses of a table of millions of entries overlap.
#pragma once

#include "store/prefetch.hpp"

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace parley::store {

class FingerprintTable {
public:
    // Files `msg_id` under `fingerprint`; a pair filed already is not filed twice.
    void insert(std::uint64_t fingerprint, std::uint64_t msg_id);

    // Starts loading the slot where a lookup of `fingerprint` begins.
    void prefetch(std::uint64_t fingerprint) const {
        if (!slots_.empty()) {
            prefetch_to_read(&slots_[home(tag_of(fingerprint))]);
        }
    }

    // Calls `stop(msg_id)` for every msg_id filed under a fingerprint that may be `fingerprint`,
    // until it returns true; returns whether one did.
    template <class Stop> bool any_candidate(std::uint64_t fingerprint, Stop&& stop) const {
        if (!slots_.empty()) {
            const std::uint64_t tag = tag_of(fingerprint);
            for (std::size_t i = home(tag); slots_[i] != 0; i = (i + 1) & mask_) {
                if ((slots_[i] >> offset_bits) == tag && stop(base_ + (slots_[i] & offset_mask) - 1)) {
                    return true;
                }
            }
        }
        if (!spilled_.empty()) {
            const auto [begin, end] = spilled_.equal_range(fingerprint);
            for (auto it = begin; it != end; ++it) {
                if (stop(it->second)) {
                    return true;
                }
            }
        }
        return false;
    }

    std::size_t size() const { return size_ + spilled_.size(); }

private:
    static constexpr unsigned offset_bits = 32;
    static constexpr std::uint64_t offset_mask = (std::uint64_t{1} << offset_bits) - 1;

    static constexpr unsigned tag_bits = 64 - offset_bits;
    // The fingerprint's low bits: it is mixed already (log_rows::client_id_fingerprint), and the
    // parts take its top bits.
    static std::uint64_t tag_of(std::uint64_t fingerprint) {
        return fingerprint & ((std::uint64_t{1} << tag_bits) - 1);
    }
    // The tag's top bits, as many as the table needs (past 2^32 slots a part, spread out).
    std::size_t home(std::uint64_t tag) const {
        return static_cast<std::size_t>(index_bits_ <= tag_bits ? tag >> (tag_bits - index_bits_)
                                                                : tag << (index_bits_ - tag_bits));
    }
    void grow();

    // Empty, or a power of two long and at most 3/4 full. A slot is 0 if empty, else
    // tag << 32 | (msg_id - base_ + 1).
    std::vector<std::uint64_t> slots_;
    std::size_t mask_ = 0;
    unsigned index_bits_ = 0; // log2(slots_.size())
    std::size_t size_ = 0;
    std::uint64_t base_ = 0; // the first msg_id filed; 0: none yet
    // Pairs whose msg_id is below base_ or 2^32 - 1 past it, kept whole: ids only grow, so only
    // a part that sees four billion messages within one generation (a window) has any.
    std::unordered_multimap<std::uint64_t, std::uint64_t> spilled_;
};

} // namespace parley::store
