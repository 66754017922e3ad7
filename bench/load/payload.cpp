// Fixed-width hex keeps encode and decode branch-free and the text exactly 32 bytes.
#include "payload.hpp"

#include <array>

namespace parley::bench {
namespace {

constexpr std::array<char, 16> hex_digits = {'0', '1', '2', '3', '4', '5', '6', '7',
                                             '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

// Writes `digits` hex digits of v at `at`, most significant first.
void put_hex(char* at, std::uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; --i) {
        at[i] = hex_digits[v & 0xF];
        v >>= 4;
    }
}

// -1 for anything that is not a lower-case hex digit.
int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

std::optional<std::uint64_t> read_hex(std::string_view s) {
    std::uint64_t v = 0;
    for (const char c : s) {
        const int d = hex_value(c);
        if (d < 0) {
            return std::nullopt;
        }
        v = (v << 4) | static_cast<std::uint64_t>(d);
    }
    return v;
}

// Where the value of `"key":` starts in `json`, or npos. The quote after the key makes a key
// that is a suffix of another ("id" in "msg_id") not match.
std::size_t value_at(std::string_view json, std::string_view key) {
    std::size_t from = 0;
    for (;;) {
        const std::size_t at = json.find(key, from);
        if (at == std::string_view::npos) {
            return at;
        }
        const std::size_t end = at + key.size();
        if (at > 0 && json[at - 1] == '"' && end + 1 < json.size() && json[end] == '"' &&
            json[end + 1] == ':') {
            return end + 2;
        }
        from = at + 1;
    }
}

} // namespace

void append_text(std::string& out, const Stamp& stamp, std::size_t text_bytes) {
    std::array<char, min_text_bytes> text{};
    put_hex(text.data(), stamp.sender, 8);
    put_hex(text.data() + 8, stamp.seq, 8);
    put_hex(text.data() + 16, static_cast<std::uint64_t>(stamp.sent_ns), 16);
    out.append(text.data(), text.size());
    if (text_bytes > min_text_bytes) {
        out.append(text_bytes - min_text_bytes, '.');
    }
}

std::optional<Stamp> parse_text(std::string_view text) {
    if (text.size() < min_text_bytes) {
        return std::nullopt;
    }
    const auto sender = read_hex(text.substr(0, 8));
    const auto seq = read_hex(text.substr(8, 8));
    const auto sent = read_hex(text.substr(16, 16));
    if (!sender || !seq || !sent) {
        return std::nullopt;
    }
    return Stamp{static_cast<std::uint32_t>(*sender), static_cast<std::uint32_t>(*seq),
                 static_cast<std::int64_t>(*sent)};
}

namespace {

// A one-to-one map of 32-bit numbers that leaves no order: each step (odd multiply, xor with a
// right shift) can be undone.
std::uint32_t scramble(std::uint32_t v) {
    v *= 0x9e3779b1U;
    v ^= v >> 15;
    v *= 0x85ebca77U;
    v ^= v >> 13;
    return v;
}

} // namespace

void append_client_id(std::string& out, std::uint32_t seq, std::int64_t sent_ns, bool scrambled) {
    std::array<char, 24> id{};
    put_hex(id.data(), scrambled ? scramble(seq) : seq, 8);
    put_hex(id.data() + 8, static_cast<std::uint64_t>(sent_ns), 16);
    out.append(id.data(), id.size());
}

std::optional<std::int64_t> parse_client_id(std::string_view id) {
    if (id.size() != 24 || !read_hex(id.substr(0, 8))) {
        return std::nullopt;
    }
    const auto sent = read_hex(id.substr(8));
    if (!sent) {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(*sent);
}

std::optional<std::string_view> string_field(std::string_view json, std::string_view key) {
    const std::size_t at = value_at(json, key);
    if (at == std::string_view::npos || at >= json.size() || json[at] != '"') {
        return std::nullopt;
    }
    const std::size_t end = json.find('"', at + 1);
    if (end == std::string_view::npos) {
        return std::nullopt;
    }
    return json.substr(at + 1, end - at - 1);
}

} // namespace parley::bench
