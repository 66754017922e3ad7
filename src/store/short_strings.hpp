// Equality and the client-id order of short strings (user names, client ids: mostly under 40
// bytes), compared eight bytes at a time inline. Each chat compares several (is this sender the
// last one's, is this id above the sender's highest); as calls into libc's memcmp they were ~160
// instructions a message on the benchmarks' hot path (callgrind), mostly call overhead.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace parley::store {

namespace short_strings_detail {

inline constexpr std::size_t inline_limit = 64; // longer strings go to memcmp

inline std::uint64_t load8(const char* p) {
    std::uint64_t v = 0;
    std::memcpy(&v, p, 8);
    return v;
}

// Words loaded from memory compare in byte order once their bytes are reversed (little-endian).
inline std::uint64_t in_byte_order(std::uint64_t word) {
    if constexpr (std::endian::native == std::endian::little) {
        return __builtin_bswap64(word);
    } else {
        return word;
    }
}

} // namespace short_strings_detail

inline bool same_bytes(std::string_view a, std::string_view b) {
    using namespace short_strings_detail;
    const std::size_t n = a.size();
    if (n != b.size()) {
        return false;
    }
    if (n < 8) {
        for (std::size_t i = 0; i < n; ++i) {
            if (a[i] != b[i]) {
                return false;
            }
        }
        return true;
    }
    if (n > inline_limit) {
        return std::memcmp(a.data(), b.data(), n) == 0;
    }
    for (std::size_t i = 0; i + 8 < n; i += 8) {
        if (load8(a.data() + i) != load8(b.data() + i)) {
            return false;
        }
    }
    // The last eight bytes, overlapping the words before when n is not a multiple of eight.
    return load8(a.data() + n - 8) == load8(b.data() + n - 8);
}

// The order in which a client's ids are taken to grow: shorter first, then byte by byte (as
// unsigned bytes, like memcmp). Counters (with or without a prefix, as JSON numbers or
// strings), timestamps, ULIDs and UUIDv7s sent in order all grow in it.
inline bool id_before(std::string_view a, std::string_view b) {
    using namespace short_strings_detail;
    const std::size_t n = a.size();
    if (n != b.size()) {
        return n < b.size();
    }
    if (n < 8) {
        for (std::size_t i = 0; i < n; ++i) {
            const auto x = static_cast<unsigned char>(a[i]);
            const auto y = static_cast<unsigned char>(b[i]);
            if (x != y) {
                return x < y;
            }
        }
        return false;
    }
    if (n > inline_limit) {
        return std::memcmp(a.data(), b.data(), n) < 0;
    }
    for (std::size_t i = 0; i + 8 < n; i += 8) {
        const std::uint64_t x = load8(a.data() + i);
        const std::uint64_t y = load8(b.data() + i);
        if (x != y) {
            return in_byte_order(x) < in_byte_order(y);
        }
    }
    // Every byte before the last word is equal, so the overlap decides nothing.
    return in_byte_order(load8(a.data() + n - 8)) < in_byte_order(load8(b.data() + n - 8));
}

} // namespace parley::store
