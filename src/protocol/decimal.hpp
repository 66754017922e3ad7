// Integers as decimal text for the encoder: every chat and ack carries three of them (msg_id, a
// 13-digit ts, seq). The digit count comes from the bit width, and the digits are written two at
// a time from a table, right to left. std::to_chars counted the digits in a loop first; with
// this, encoding a chat and its ack takes a quarter fewer instructions (ADR 015).
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace parley::protocol {

// The powers of ten a uint64 holds, except that [0] is 0, not 1: so 0 counts one digit as 1
// does. At namespace scope: a table local to a function is copied to the stack on each call.
inline constexpr auto decimal_powers = [] {
    std::array<std::uint64_t, 20> powers{};
    std::uint64_t power = 1;
    for (std::size_t i = 1; i < powers.size(); ++i) {
        power *= 10;
        powers[i] = power;
    }
    return powers;
}();

// The number of decimal digits of `value` (1 for 0).
constexpr int decimal_digits(std::uint64_t value) {
    // 1233 / 4096 is just above log10(2): `guess` is floor(log10(2^bits)), the digits of the
    // smallest number of that width, less one; the comparison adds the one a larger value has.
    const auto guess = static_cast<int>((std::bit_width(value) * 1233) >> 12);
    return guess + (value >= decimal_powers[static_cast<std::size_t>(guess)] ? 1 : 0);
}

// Writes `value` at `out` (room for 20 characters) and returns the end of what it wrote.
inline char* write_decimal(char* out, std::uint64_t value) {
    static constexpr auto pairs = [] {
        std::array<char, 200> digits{};
        for (int i = 0; i < 100; ++i) {
            digits[static_cast<std::size_t>(2 * i)] = static_cast<char>('0' + i / 10);
            digits[static_cast<std::size_t>(2 * i + 1)] = static_cast<char>('0' + i % 10);
        }
        return digits;
    }();
    char* const end = out + decimal_digits(value);
    char* p = end;
    while (value >= 100) {
        p -= 2;
        std::memcpy(p, &pairs[2 * (value % 100)], 2);
        value /= 100;
    }
    if (value >= 10) {
        std::memcpy(p - 2, &pairs[2 * value], 2);
    } else {
        p[-1] = static_cast<char>('0' + value);
    }
    return end;
}

// Signed: a minus sign, then the magnitude (computed unsigned, so INT64_MIN has one). Room for
// 20 characters.
inline char* write_decimal(char* out, std::int64_t value) {
    if (value >= 0) {
        return write_decimal(out, static_cast<std::uint64_t>(value));
    }
    *out = '-';
    return write_decimal(out + 1, std::uint64_t{0} - static_cast<std::uint64_t>(value));
}

// A value's decimal text, written once and copied into many messages: every chat and ack of a
// storage batch carries the batch's ts (13 digits, half the digits an encoding writes, ~80
// instructions each time). digits() holds integer_room bytes, so a copy may take them all.
class DecimalText {
public:
    static constexpr std::size_t integer_room = 20; // any 64-bit value, sign included

    explicit DecimalText(std::int64_t value)
        : value_(value),
          size_(static_cast<std::uint8_t>(write_decimal(digits_.data(), value) - digits_.data())) {}
    std::int64_t value() const { return value_; }
    std::string_view text() const { return {digits_.data(), size_}; }
    const char* digits() const { return digits_.data(); }

private:
    std::int64_t value_;
    std::array<char, integer_room> digits_{};
    std::uint8_t size_;
};

} // namespace parley::protocol
