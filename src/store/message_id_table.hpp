// An open-addressing table of (hash, msg_id) entries that a caller can prefetch: the memory
// store's idempotency index, one entry per message sent with a client id. The keys themselves
// live in the messages; the table keeps their full hash, and the caller's `is_key` tells a match
// from a collision. Millions of entries make every lookup a cache (and TLB) miss, so append()
// prefetches the slots of a block of its batch together and then looks them up, overlapping the
// misses instead of waiting for each in turn. Linear probing, deletion by backward shift (no
// tombstones).
#pragma once

#include "store/prefetch.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace parley::store {

class MessageIdTable {
public:
    MessageIdTable() = default;

    std::size_t size() const { return size_; }

    // Starts loading the slot where a lookup of `hash` begins.
    void prefetch(std::size_t hash) const {
        if (!slots_.empty()) {
            prefetch_to_read(&slots_[home(hash)]);
        }
    }

    // The msg_id of the entry for `hash` whose key `is_key(msg_id)` confirms; 0 if none.
    template <class IsKey> std::uint64_t find(std::size_t hash, IsKey&& is_key) const {
        if (slots_.empty()) {
            return 0;
        }
        for (std::size_t i = home(hash);; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.msg_id == 0) {
                return 0;
            }
            if (s.hash == hash && is_key(s.msg_id)) {
                return s.msg_id;
            }
        }
    }

    // Adds an entry; the caller has erased any earlier one for the same key. `msg_id` > 0.
    void insert(std::size_t hash, std::uint64_t msg_id);

    // Removes the entry of `msg_id` (filed under `hash`); false if there is none.
    bool erase(std::size_t hash, std::uint64_t msg_id);

    void clear();

private:
    struct Slot {
        std::size_t hash = 0;
        std::uint64_t msg_id = 0; // 0: empty (msg ids start at 1)
    };

    // The top bits of the hash, mixed: a caller may pass a hash whose low bits are poor.
    std::size_t home(std::size_t hash) const {
        return static_cast<std::size_t>((std::uint64_t{hash} * 0x9e3779b97f4a7c15ULL) >> shift_);
    }
    void grow();

    std::vector<Slot> slots_; // empty, or a power of two long and at most 3/4 full
    std::size_t mask_ = 0;
    unsigned shift_ = 64; // 64 - log2(slots_.size()); used only while slots_ is not empty
    std::size_t size_ = 0;
};

} // namespace parley::store
