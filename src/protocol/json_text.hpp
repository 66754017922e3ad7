// Two rules of RFC 8259 that the decoder, the plain-chat scan and the encoder all apply: which
// bytes of a string must be escaped (§7), and what an integer token looks like (§6). Pure.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

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
