#include "protocol/plain_chat.hpp"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace parley::protocol {

namespace {

// Takes `literal` from the front of `s`; false, leaving `s`, if it does not start with it.
bool take(std::string_view& s, std::string_view literal) {
    if (!s.starts_with(literal)) {
        return false;
    }
    s.remove_prefix(literal.size());
    return true;
}

// How many bytes from the front of `s` are plain: ASCII that stands for itself in a JSON string
// (0x20..0x7f but the quote and the backslash). Eight bytes at a time, as the encoder's escape
// check: a word w has a byte below n (n <= 0x80) where (w - n * ones) & ~w & high has its high bit
// set, exactly for the first such byte (a borrow runs only upwards from it); a byte equal to c is
// a byte below 1 of w ^ (c * ones); a byte of 0x80 or more has its own high bit.
std::size_t plain_run(std::string_view s) {
    static_assert(std::endian::native == std::endian::little, "the first byte is the word's lowest");
    constexpr std::uint64_t ones = 0x0101'0101'0101'0101ULL;
    constexpr std::uint64_t high = 0x8080'8080'8080'8080ULL;
    const auto below = [](std::uint64_t w, std::uint64_t n) { return (w - n * ones) & ~w & high; };
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w = 0;
        std::memcpy(&w, s.data() + i, 8);
        const std::uint64_t stops =
            below(w, 0x20) | below(w ^ ('"' * ones), 1) | below(w ^ ('\\' * ones), 1) | (w & high);
        if (stops != 0) {
            return i + static_cast<std::size_t>(std::countr_zero(stops)) / 8;
        }
    }
    for (; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
            return i;
        }
    }
    return i;
}

// Takes the rest of a JSON string whose opening quote is taken already, giving its text: false
// if a byte before the closing quote is not plain (a control character, which JSON forbids raw;
// a byte of a multi-byte character; a backslash, whose escape only a parser decodes).
bool take_plain_string_rest(std::string_view& s, std::string_view& text) {
    const std::size_t n = plain_run(s);
    if (n == s.size() || s[n] != '"') {
        return false;
    }
    text = s.substr(0, n);
    s.remove_prefix(n + 1);
    return true;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Takes an RFC 8259 integer, `-?(0|[1-9][0-9]*)`, giving its token.
bool take_integer(std::string_view& s, std::string_view& token) {
    std::size_t n = s.starts_with('-') ? 1 : 0;
    if (n == s.size() || !is_digit(s[n])) {
        return false;
    }
    const bool leading_zero = s[n] == '0';
    const std::size_t first_digit = n;
    while (n < s.size() && is_digit(s[n])) {
        ++n;
    }
    if (leading_zero && n > first_digit + 1) {
        return false;
    }
    token = s.substr(0, n);
    s.remove_prefix(n);
    return true;
}

} // namespace

std::optional<PlainChat> scan_plain_chat(std::string_view frame) {
    PlainChat chat;
    std::string_view s = frame;
    if (!take(s, R"({"type":"chat","to_user_id":")") || !take_plain_string_rest(s, chat.to_user_id) ||
        !take(s, R"(,"message":")") || !take_plain_string_rest(s, chat.message)) {
        return std::nullopt;
    }
    if (take(s, R"(,"id":)")) {
        const std::string_view id_start = s;
        std::string_view ignored;
        if (take(s, "\"")) {
            if (!take_plain_string_rest(s, ignored)) {
                return std::nullopt;
            }
            chat.id_json = id_start.substr(0, id_start.size() - s.size());
        } else if (!take_integer(s, chat.id_json)) {
            return std::nullopt;
        }
    }
    if (s != "}") {
        return std::nullopt;
    }
    return chat;
}

} // namespace parley::protocol
