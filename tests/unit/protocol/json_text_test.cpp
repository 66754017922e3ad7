// json_text::first_stop against the byte-by-byte rule it must equal: every length up to three
// blocks (each of its paths: bytes, two half words, two words, blocks and an overlapping last
// block), a stop byte of every kind at every position, a second stop after the first, and
// random strings. Each string sits in a heap block of exactly its size with stop bytes around
// it in memory, so a read past either end changes the answer or is reported by ASan.
#include "protocol/json_text.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <random>
#include <string>
#include <string_view>

namespace parley::protocol::json_text {
namespace {

bool is_stop(Stop stop, unsigned char c) {
    return needs_escape(c) || (stop == Stop::non_ascii && c >= 0x80);
}

std::size_t first_stop_bytewise(Stop stop, std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (is_stop(stop, static_cast<unsigned char>(s[i]))) {
            return i;
        }
    }
    return s.size();
}

std::size_t first_stop_of(Stop stop, std::string_view s) {
    return stop == Stop::escape ? first_stop<Stop::escape>(s) : first_stop<Stop::non_ascii>(s);
}

// `text` copied into a heap block of exactly its size, then scanned.
std::size_t scanned_alone(Stop stop, const std::string& text) {
    const auto copy = std::make_unique<char[]>(text.size() + 1); // +1: make_unique<char[]>(0) is fine too
    text.copy(copy.get(), text.size());
    return first_stop_of(stop, std::string_view(copy.get(), text.size()));
}

// `text` inside a buffer whose bytes before and after it are all stops.
std::size_t scanned_between_stops(Stop stop, const std::string& text, std::size_t offset) {
    std::string buffer(offset, '"');
    buffer += text;
    buffer.append(40, '\\');
    return first_stop_of(stop, std::string_view(buffer).substr(offset, text.size()));
}

constexpr unsigned char stop_bytes[] = {0x00, 0x09, 0x1f, '"', '\\', 0x80, 0xc3, 0xff};
constexpr unsigned char plain_bytes[] = {' ', 'a', '~', 0x7f, '!', '0', '#', ']'}; // ']' = '\\' + 1

TEST(JsonTextFirstStop, EveryLengthWithOneStopAnywhereOrNone) {
    for (const Stop stop : {Stop::escape, Stop::non_ascii}) {
        for (std::size_t n = 0; n <= 48; ++n) {
            std::string text(n, 'x');
            for (std::size_t k = 0; k < n; ++k) {
                text[k] = static_cast<char>(plain_bytes[k % std::size(plain_bytes)]);
            }
            ASSERT_EQ(scanned_alone(stop, text), n) << "clean, length " << n;
            for (std::size_t offset = 0; offset < 3; ++offset) {
                ASSERT_EQ(scanned_between_stops(stop, text, offset), n)
                    << "clean between stops, length " << n;
            }
            for (std::size_t at = 0; at < n; ++at) {
                for (const unsigned char c : stop_bytes) {
                    std::string with = text;
                    with[at] = static_cast<char>(c);
                    const std::size_t expected = first_stop_bytewise(stop, with);
                    ASSERT_EQ(expected, is_stop(stop, c) ? at : n); // the reference itself
                    ASSERT_EQ(scanned_alone(stop, with), expected)
                        << "length " << n << ", byte " << int{c} << " at " << at;
                    // A second stop after the first must not move the answer (word marks may
                    // mark a later byte too; only the first counts).
                    for (std::size_t later = at + 1; later < n; later += 5) {
                        std::string two = with;
                        two[later] = '"';
                        ASSERT_EQ(scanned_alone(stop, two), first_stop_bytewise(stop, two))
                            << "length " << n << ", byte " << int{c} << " at " << at << ", quote at "
                            << later;
                    }
                }
            }
        }
    }
}

TEST(JsonTextFirstStop, RandomStringsAgreeWithTheByteRule) {
    std::mt19937 rng(20261127);
    std::uniform_int_distribution<std::size_t> length(0, 80);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> rare(0, 40);
    for (int round = 0; round < 20000; ++round) {
        std::string text(length(rng), ' ');
        for (char& c : text) {
            // Mostly plain letters; now and then any byte at all.
            c = static_cast<char>(rare(rng) == 0 ? byte(rng) : 'a' + rare(rng) % 26);
        }
        for (const Stop stop : {Stop::escape, Stop::non_ascii}) {
            ASSERT_EQ(scanned_alone(stop, text), first_stop_bytewise(stop, text)) << round;
            ASSERT_EQ(scanned_between_stops(stop, text, static_cast<std::size_t>(round % 7)),
                      first_stop_bytewise(stop, text))
                << round;
        }
    }
}

} // namespace
} // namespace parley::protocol::json_text
