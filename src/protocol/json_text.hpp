// Two rules of RFC 8259 that the decoder, the plain-chat scan and the encoder all apply: which
// bytes of a string must be escaped (§7), and what an integer token looks like (§6). Pure.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace parley::protocol::json_text {

// Quotation mark, reverse solidus and U+0000..U+001F must be escaped; nothing else must be, so
// UTF-8 passes through untouched and DEL (0x7f) stays as is.
inline bool needs_escape(unsigned char c) {
    return c < 0x20 || c == '"' || c == '\\';
}

inline constexpr std::uint64_t word_ones = 0x0101'0101'0101'0101ULL;
inline constexpr std::uint64_t word_high = 0x8080'8080'8080'8080ULL;

// needs_escape for eight bytes at once (the first in the lowest bits): the high bit of each byte
// that needs an escape is set, exactly so for the first such byte (a later one may be marked
// too). A word w has a byte below n (n <= 0x80) where (w - n * ones) & ~w & high has its high
// bit, and a borrow runs only upwards from it; a byte equal to c is a byte below 1 of w ^ (c * ones).
inline std::uint64_t escape_marks(std::uint64_t w) {
    static_assert(std::endian::native == std::endian::little, "the first byte is the word's lowest");
    const auto below = [](std::uint64_t v, std::uint64_t n) { return (v - n * word_ones) & ~v & word_high; };
    return below(w, 0x20) | below(w ^ ('"' * word_ones), 1) | below(w ^ ('\\' * word_ones), 1);
}

// Where a scan of a string stops: at a byte that needs an escape, and with `Stop::non_ascii`
// also at a byte of 0x80 or more (a byte of a multi-byte character).
enum class Stop : bool { escape, non_ascii };

namespace detail {

template <Stop stop> std::uint64_t word_stops(std::uint64_t w) {
    return stop == Stop::non_ascii ? escape_marks(w) | (w & word_high) : escape_marks(w);
}

template <Stop stop> std::uint64_t load_word_stops(const char* p) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, 8);
    return word_stops<stop>(w);
}

// Bit k set where byte k of the sixteen at `p` is a stop.
template <Stop stop> unsigned block_stops(const char* p) {
#if defined(__SSE2__)
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i low{};
    if constexpr (stop == Stop::non_ascii) {
        low = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)); // signed: 0x80..0xff are below 0x20 too
    } else {
        low = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v); // unsigned: v <= 0x1f
    }
    const __m128i marks = _mm_or_si128(
        low, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
    return static_cast<unsigned>(_mm_movemask_epi8(marks));
#else
    unsigned marks = 0;
    for (unsigned k = 0; k < 16; ++k) {
        const auto c = static_cast<unsigned char>(p[k]);
        if (needs_escape(c) || (stop == Stop::non_ascii && c >= 0x80)) {
            marks |= 1U << k;
        }
    }
    return marks;
#endif
}

} // namespace detail

// The index of the first byte of `s` to stop at, or s.size() if there is none. Sixteen bytes at
// a time; a string's last bytes are read as the sixteen (or eight, or four) that end it, which
// overlap bytes already passed: nothing past the end is read, and no byte loop runs but for
// strings of three bytes or fewer. (Against eight bytes at a time and a byte loop for the tail,
// this took ~300 instructions a routed message off the plain-chat scan and the chat's encoding;
// bench/instructions, ADR 015.)
template <Stop stop> std::size_t first_stop(std::string_view s) {
    const char* p = s.data();
    const std::size_t n = s.size();
    if (n >= 16) {
        std::size_t i = 0;
        for (; i + 16 <= n; i += 16) {
            if (const unsigned marks = detail::block_stops<stop>(p + i); marks != 0) {
                return i + static_cast<std::size_t>(std::countr_zero(marks));
            }
        }
        if (i == n) {
            return n;
        }
        // The first 16 - (n - i) of these were passed already, clean.
        const unsigned marks = detail::block_stops<stop>(p + n - 16) >> (16 - (n - i));
        return marks != 0 ? i + static_cast<std::size_t>(std::countr_zero(marks)) : n;
    }
    if (n >= 8) {
        if (const std::uint64_t marks = detail::load_word_stops<stop>(p); marks != 0) {
            return static_cast<std::size_t>(std::countr_zero(marks)) / 8;
        }
        if (n == 8) {
            return n;
        }
        // Clean bytes below the ones still to check borrow nothing into them (escape_marks).
        const std::uint64_t marks = detail::load_word_stops<stop>(p + n - 8) >> (8 * (16 - n));
        return marks != 0 ? 8 + static_cast<std::size_t>(std::countr_zero(marks)) / 8 : n;
    }
    if (n >= 4) {
        // Two overlapping halves in one word, the head's in the low bytes: a head with a mark is
        // answered from it; a clean head borrows nothing into the tail's half.
        std::uint32_t head = 0;
        std::uint32_t tail = 0;
        std::memcpy(&head, p, 4);
        std::memcpy(&tail, p + n - 4, 4);
        const std::uint64_t marks = detail::word_stops<stop>((std::uint64_t{tail} << 32) | head);
        // A mark in the tail's half is at byte n - 4 + k of s; in the head's, at byte k.
        if (const std::uint64_t in_head = marks & 0xffff'ffffULL; in_head != 0) {
            return static_cast<std::size_t>(std::countr_zero(in_head)) / 8;
        }
        if (const std::uint64_t in_tail = marks >> 32; in_tail != 0) {
            return n - 4 + static_cast<std::size_t>(std::countr_zero(in_tail)) / 8;
        }
        return n;
    }
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(p[i]);
        if (needs_escape(c) || (stop == Stop::non_ascii && c >= 0x80)) {
            return i;
        }
    }
    return n;
}

inline bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Consumes `0|[1-9][0-9]*` from the front of `s`; false if there is none.
inline bool take_int_digits(std::string_view& s) {
    if (s.empty() || !is_digit(s.front())) {
        return false;
    }
    const bool leading_zero = s.front() == '0';
    std::size_t n = 1;
    while (n < s.size() && is_digit(s[n])) {
        ++n;
    }
    if (leading_zero && n > 1) {
        return false;
    }
    s.remove_prefix(n);
    return true;
}

// `int` with no sign: what a non-negative integer user id or `since` must look like.
inline bool is_unsigned_integer(std::string_view token) {
    return take_int_digits(token) && token.empty();
}

// `[ minus ] int`: the integer ids Parley accepts and echoes verbatim.
inline bool is_integer(std::string_view token) {
    if (!token.empty() && token.front() == '-') {
        token.remove_prefix(1);
    }
    return is_unsigned_integer(token);
}

} // namespace parley::protocol::json_text
