// jemalloc's options for the binaries that link it (ADR 010). jemalloc reads this string at its
// start, before MALLOC_CONF, which can still override any of it.
//
// Each pass of a shard's loop allocates an encoded chat and an ack for every message it routes
// and frees them all once they are written. jemalloc's thread cache keeps, per size class, about
// twice a slab's objects and at most 200; a pass of hundreds of messages overflowed it, so most of
// those frees, and the next pass's allocations, went through the arena's slower path. Up to 2,048
// (8 times a slab's objects) fit a pass of 100 connections' windows: bench/instructions counted
// 7,713 -> 7,303 instructions a message at 100 connections and 8,047 -> 7,822 at 2,000. The cache
// holds at most a few MB a thread, and jemalloc trims what a thread stops using.
extern "C" {
// The name and type are jemalloc's (a weak symbol in the library that this definition replaces).
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
const char* malloc_conf = "tcache_nslots_small_max:2048,lg_tcache_nslots_mul:3";
}
