// Prefetching for the stores' batch lookups into tables of millions of entries (ADR 015).
#pragma once

#include <algorithm>
#include <cstddef>

namespace parley::store {

// A prefetch the compiler keeps. GCC deletes a loop whose only effect is __builtin_prefetch (C++
// lets it assume such a loop ends, -ffinite-loops, and then nothing is left of it): that removed
// every prefetch of the memory store's block-wise lookups. An empty asm statement that takes the
// address is an effect the compiler must keep, and it adds no instruction.
inline void prefetch_to_read(const void* address) {
    __builtin_prefetch(address);
    asm volatile("" : : "r"(address));
}

// Prefetches for a loop over [0, size) a block ahead: the first block's items before the loop,
// and the next block's as each block begins, back to back. A prefetch that misses the TLB waits
// for its page walk on this VM; one issued alone among other work stalls the core for it, while
// walks issued together overlap, and the block's work then hides the cache misses. `prefetch(i)`
// starts loading what item i will read.
template <class Prefetch> class BlockPrefetch {
public:
    static constexpr std::size_t block = 32;

    BlockPrefetch(std::size_t size, Prefetch prefetch) : size_(size), prefetch_(prefetch) { issue(0); }

    // Called with each item's index, in order, before the item is handled.
    void before(std::size_t i) {
        if (i % block == 0) {
            issue(i + block);
        }
    }

private:
    void issue(std::size_t first) {
        for (std::size_t i = first; i < std::min(first + block, size_); ++i) {
            prefetch_(i);
        }
    }

    std::size_t size_;
    Prefetch prefetch_;
};

} // namespace parley::store
