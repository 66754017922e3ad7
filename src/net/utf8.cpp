// UTF-8 validation as a small deterministic automaton over byte classes (RFC 3629 §4).
// Owns the byte-class and transition tables. Both are built at compile time from the RFC's
// grammar, one named rule per line, so each entry can be checked against the RFC rather than
// trusted as a wall of numbers. No allocation, no I/O.
#include "net/utf8.hpp"

#include <array>
#include <cstddef>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace parley::net {
namespace {

// Bytes the grammar treats alike (RFC 3629 §4, the UTF8-1..UTF8-4 productions).
enum byte_class : std::uint8_t {
    ascii,     // 00..7F
    cont_low,  // 80..8F
    cont_mid,  // 90..9F
    cont_high, // A0..BF
    never,     // C0, C1 (would be overlong), F5..FF (would pass U+10FFFF)
    lead2,     // C2..DF
    lead3_e0,  // E0: the next byte must be A0..BF, else overlong
    lead3,     // E1..EC, EE..EF
    lead3_ed,  // ED: the next byte must be 80..9F, else a surrogate U+D800..DFFF
    lead4_f0,  // F0: the next byte must be 90..BF, else overlong
    lead4,     // F1..F3
    lead4_f4,  // F4: the next byte must be 80..8F, else above U+10FFFF
    class_count
};

// Where the decoder stands between bytes.
enum state : std::uint8_t {
    accept = 0, // on a code point boundary; must be 0 (Utf8Validator::complete tests state_ == 0)
    reject = 1, // sticky: no continuation can make the bytes valid again
    need1,      // one continuation byte (80..BF) still due
    need2,
    need3,
    after_e0, // A0..BF, then one more
    after_ed, // 80..9F, then one more
    after_f0, // 90..BF, then two more
    after_f4, // 80..8F, then two more
    state_count
};

constexpr byte_class classify(unsigned b) {
    if (b < 0x80) {
        return ascii;
    }
    if (b < 0x90) {
        return cont_low;
    }
    if (b < 0xA0) {
        return cont_mid;
    }
    if (b < 0xC0) {
        return cont_high;
    }
    if (b < 0xC2 || b > 0xF4) {
        return never;
    }
    if (b < 0xE0) {
        return lead2;
    }
    if (b == 0xE0) {
        return lead3_e0;
    }
    if (b == 0xED) {
        return lead3_ed;
    }
    if (b < 0xF0) {
        return lead3;
    }
    if (b == 0xF0) {
        return lead4_f0;
    }
    if (b == 0xF4) {
        return lead4_f4;
    }
    return lead4;
}

constexpr std::array<std::uint8_t, 256> make_classes() {
    std::array<std::uint8_t, 256> classes{};
    for (unsigned b = 0; b < 256; ++b) {
        classes[b] = classify(b);
    }
    return classes;
}

// The transition table is flat: the row of a state, then the column of a byte class.
constexpr std::size_t cell(unsigned s, unsigned c) {
    return s * unsigned{class_count} + c;
}

constexpr std::array<std::uint8_t, cell(state_count, 0)> make_transitions() {
    std::array<std::uint8_t, cell(state_count, 0)> next{};
    for (auto& to : next) {
        to = reject; // anything the grammar does not allow below
    }
    auto allow = [&next](state from, byte_class c, state to) { next[cell(from, c)] = to; };

    allow(accept, ascii, accept);
    allow(accept, lead2, need1);
    allow(accept, lead3_e0, after_e0);
    allow(accept, lead3, need2);
    allow(accept, lead3_ed, after_ed);
    allow(accept, lead4_f0, after_f0);
    allow(accept, lead4, need3);
    allow(accept, lead4_f4, after_f4);
    for (byte_class c : {cont_low, cont_mid, cont_high}) {
        allow(need1, c, accept);
        allow(need2, c, need1);
        allow(need3, c, need2);
    }
    allow(after_e0, cont_high, need1);
    allow(after_ed, cont_low, need1);
    allow(after_ed, cont_mid, need1);
    allow(after_f0, cont_mid, need2);
    allow(after_f0, cont_high, need2);
    allow(after_f4, cont_low, need2);
    return next;
}

constexpr auto classes = make_classes();
constexpr auto transitions = make_transitions();

// Runs the automaton from `s` over `bytes`; stops at the first byte that rejects.
std::uint32_t run(std::uint32_t s, std::string_view bytes) {
    const char* data = bytes.data();
    const std::size_t n = bytes.size();
    std::size_t i = 0;
    while (i < n) {
        if (s == accept) {
            // Chat text is mostly ASCII: between code points, skip whole blocks of 16 bytes and
            // then 8-byte words with no high bit set instead of stepping the automaton byte by
            // byte (blocks took ~60 instructions a routed message off the words alone).
            constexpr std::uint64_t high_bits = 0x8080808080808080ULL;
#if defined(__SSE2__)
            while (n - i >= 16 &&
                   _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i))) == 0) {
                i += 16;
            }
#endif
            while (n - i >= 8) {
                std::uint64_t word = 0;
                std::memcpy(&word, data + i, sizeof word);
                if ((word & high_bits) != 0) {
                    break;
                }
                i += 8;
            }
            if (i == n) {
                break;
            }
            // A tail shorter than a word: the word that ends with it (it overlaps bytes already
            // passed, which changes nothing) says at once whether the tail is ASCII too.
            if (n - i < 8 && n >= 8) {
                std::uint64_t word = 0;
                std::memcpy(&word, data + n - 8, sizeof word);
                if ((word & high_bits) == 0) {
                    break;
                }
            }
        }
        const auto byte = static_cast<unsigned char>(data[i]);
        s = transitions[cell(s, classes[byte])];
        ++i;
        if (s == reject) {
            break;
        }
    }
    return s;
}

} // namespace

bool is_valid_utf8(std::string_view bytes) {
    return run(accept, bytes) == accept;
}

bool Utf8Validator::feed(std::string_view bytes) {
    state_ = run(state_, bytes);
    return state_ != reject;
}

} // namespace parley::net
