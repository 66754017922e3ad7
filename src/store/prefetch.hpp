// A prefetch the compiler keeps. GCC deletes a loop whose only effect is __builtin_prefetch (C++
// lets it assume such a loop ends, -ffinite-loops, and then nothing is left of it): that removed
// every prefetch of the memory store's block-wise lookups. An empty asm statement that takes the
// address is an effect the compiler must keep, and it adds no instruction.
#pragma once

namespace parley::store {

inline void prefetch_to_read(const void* address) {
    __builtin_prefetch(address);
    asm volatile("" : : "r"(address));
}

} // namespace parley::store
