#include "net/utf8.hpp"

// UTF-8 validation: the RFC 3629 boundaries one case at a time, then the automaton checked
// exhaustively against a plain decode-and-check reference written here, and the incremental
// validator split at every position.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace {

using parley::net::is_valid_utf8;
using parley::net::Utf8Validator;

// Reference: decode each sequence by its lead byte, then check the decoded value (RFC 3629 §3, §4).
// Deliberately the obvious algorithm, so a table error in the automaton shows up as a mismatch.
bool reference_valid(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto lead = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (lead < 0x80) {
            len = 1;
            cp = lead;
        } else if ((lead & 0xE0) == 0xC0) {
            len = 2;
            cp = lead & 0x1Fu;
        } else if ((lead & 0xF0) == 0xE0) {
            len = 3;
            cp = lead & 0x0Fu;
        } else if ((lead & 0xF8) == 0xF0) {
            len = 4;
            cp = lead & 0x07u;
        } else {
            return false;
        }
        if (s.size() - i < len) {
            return false;
        }
        for (std::size_t k = 1; k < len; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (c & 0x3Fu);
        }
        const std::uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += len;
    }
    return true;
}

std::string encode(std::uint32_t cp) {
    std::string out;
    auto put = [&out](std::uint32_t v) { out.push_back(static_cast<char>(v)); };
    if (cp < 0x80) {
        put(cp);
    } else if (cp < 0x800) {
        put(0xC0 | (cp >> 6));
        put(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        put(0xE0 | (cp >> 12));
        put(0x80 | ((cp >> 6) & 0x3F));
        put(0x80 | (cp & 0x3F));
    } else {
        put(0xF0 | (cp >> 18));
        put(0x80 | ((cp >> 12) & 0x3F));
        put(0x80 | ((cp >> 6) & 0x3F));
        put(0x80 | (cp & 0x3F));
    }
    return out;
}

TEST(Utf8, EmptyAndAsciiAreValid) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("Hello-\x7F"));
    EXPECT_TRUE(is_valid_utf8(std::string_view("\0", 1)));
}

TEST(Utf8, MultiByteBoundariesAreValid) {
    EXPECT_TRUE(is_valid_utf8("\xC2\x80"));         // U+0080, smallest 2-byte
    EXPECT_TRUE(is_valid_utf8("\xDF\xBF"));         // U+07FF
    EXPECT_TRUE(is_valid_utf8("\xE0\xA0\x80"));     // U+0800, smallest 3-byte
    EXPECT_TRUE(is_valid_utf8("\xED\x9F\xBF"));     // U+D7FF, just below the surrogates
    EXPECT_TRUE(is_valid_utf8("\xEE\x80\x80"));     // U+E000, just above them
    EXPECT_TRUE(is_valid_utf8("\xEF\xBF\xBF"));     // U+FFFF
    EXPECT_TRUE(is_valid_utf8("\xF0\x90\x80\x80")); // U+10000, smallest 4-byte
    EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF")); // U+10FFFF, the last code point
    // Autobahn 6.2.1: "κόσμε" with multi-byte code points.
    EXPECT_TRUE(is_valid_utf8("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"));
}

TEST(Utf8, OverlongFormsAreInvalid) {
    EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));         // '/' in 2 bytes
    EXPECT_FALSE(is_valid_utf8("\xC1\xBF"));         // U+007F in 2 bytes
    EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));     // '/' in 3 bytes
    EXPECT_FALSE(is_valid_utf8("\xE0\x9F\xBF"));     // U+07FF in 3 bytes
    EXPECT_FALSE(is_valid_utf8("\xF0\x80\x80\xAF")); // '/' in 4 bytes
    EXPECT_FALSE(is_valid_utf8("\xF0\x8F\xBF\xBF")); // U+FFFF in 4 bytes
}

TEST(Utf8, SurrogatesAreInvalid) {
    EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));             // U+D800
    EXPECT_FALSE(is_valid_utf8("\xED\xAD\xBF"));             // U+DB7F
    EXPECT_FALSE(is_valid_utf8("\xED\xBF\xBF"));             // U+DFFF
    EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80\xED\xB0\x80")); // a CESU-8 surrogate pair
}

TEST(Utf8, AboveU10FFFFIsInvalid) {
    EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80")); // U+110000
    EXPECT_FALSE(is_valid_utf8("\xF5\x80\x80\x80"));
    EXPECT_FALSE(is_valid_utf8("\xF7\xBF\xBF\xBF"));
    EXPECT_FALSE(is_valid_utf8("\xF8\x88\x80\x80\x80")); // old 5-byte form
    EXPECT_FALSE(is_valid_utf8("\xFC\x84\x80\x80\x80\x80"));
    EXPECT_FALSE(is_valid_utf8("\xFE"));
    EXPECT_FALSE(is_valid_utf8("\xFF"));
}

TEST(Utf8, TruncatedAndMalformedSequencesAreInvalid) {
    EXPECT_FALSE(is_valid_utf8("\xCE"));         // lead at the end
    EXPECT_FALSE(is_valid_utf8("\xE2\x82"));     // 3-byte sequence cut short
    EXPECT_FALSE(is_valid_utf8("\xF0\x9F\x98")); // 4-byte sequence cut short
    EXPECT_FALSE(is_valid_utf8("\x80"));         // lone continuation
    EXPECT_FALSE(is_valid_utf8("a\xBF"
                               "b"));
    EXPECT_FALSE(is_valid_utf8("\xE2"
                               "A\x82"));            // ASCII where a continuation is due
    EXPECT_FALSE(is_valid_utf8("\xC2\x80\x80"));     // one continuation too many
    EXPECT_FALSE(is_valid_utf8("\xCE\xBA\xE1\xBD")); // valid text, then a truncated tail
}

// The validator skips ASCII 8 bytes at a time; a bad byte at any offset, including inside and
// right after a skipped word, must still be found.
// Every length up to five words, so that the bad byte also sits in each size of tail that the
// validator checks with one word overlapping bytes it already passed.
TEST(Utf8, InvalidByteFoundAtEveryOffsetOfAnAsciiRun) {
    for (std::size_t length = 1; length <= 40; ++length) {
        for (std::size_t at = 0; at < length; ++at) {
            std::string s(length, 'a');
            s[at] = '\xFF';
            EXPECT_FALSE(is_valid_utf8(s)) << "bad byte at " << at << " of " << length;
            s[at] = '\xE2'; // a lead byte whose sequence the text cuts short
            EXPECT_FALSE(is_valid_utf8(s)) << "cut sequence at " << at << " of " << length;
            s[at] = 'b';
            EXPECT_TRUE(is_valid_utf8(s)) << "no bad byte, at " << at << " of " << length;
        }
    }
}

TEST(Utf8, MultiByteAfterLongAsciiRunIsValidated) {
    const std::string ascii(37, 'x');
    EXPECT_TRUE(is_valid_utf8(ascii + "\xE2\x82\xAC" + ascii));
    EXPECT_FALSE(is_valid_utf8(ascii + "\xE2\x82" + ascii));
    EXPECT_FALSE(is_valid_utf8(ascii + "\xED\xA0\x80" + ascii));
}

TEST(Utf8, EveryCodePointEncodesValidExceptSurrogates) {
    for (std::uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
        const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
        ASSERT_EQ(is_valid_utf8(encode(cp)), !surrogate) << "U+" << std::hex << cp;
    }
}

TEST(Utf8, AllOneAndTwoByteStringsMatchTheReference) {
    for (unsigned a = 0; a < 256; ++a) {
        const std::string one(1, static_cast<char>(a));
        ASSERT_EQ(is_valid_utf8(one), reference_valid(one)) << std::hex << a;
        for (unsigned b = 0; b < 256; ++b) {
            const std::string two{static_cast<char>(a), static_cast<char>(b)};
            ASSERT_EQ(is_valid_utf8(two), reference_valid(two)) << std::hex << a << ' ' << b;
        }
    }
}

// Every 3-byte string, and every 4-byte string with a 4-byte lead (F0..FF) and the third and
// fourth bytes drawn from a set that covers each byte class.
TEST(Utf8, ThreeAndFourByteStringsMatchTheReference) {
    std::string s(3, '\0');
    for (unsigned a = 0; a < 256; ++a) {
        for (unsigned b = 0; b < 256; ++b) {
            for (unsigned c = 0; c < 256; ++c) {
                s[0] = static_cast<char>(a);
                s[1] = static_cast<char>(b);
                s[2] = static_cast<char>(c);
                ASSERT_EQ(is_valid_utf8(s), reference_valid(s)) << std::hex << a << ' ' << b << ' ' << c;
            }
        }
    }
    const unsigned samples[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F,
                                0xA0, 0xBF, 0xC0, 0xC2, 0xE0, 0xF0, 0xFF};
    std::string f(4, '\0');
    for (unsigned a = 0xF0; a < 256; ++a) {
        for (unsigned b = 0; b < 256; ++b) {
            for (unsigned c : samples) {
                for (unsigned d : samples) {
                    f[0] = static_cast<char>(a);
                    f[1] = static_cast<char>(b);
                    f[2] = static_cast<char>(c);
                    f[3] = static_cast<char>(d);
                    ASSERT_EQ(is_valid_utf8(f), reference_valid(f));
                }
            }
        }
    }
}

TEST(Utf8Validator, ValidTextSplitAtEveryPosition) {
    const std::string text = "a\xC2\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF z";
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
        Utf8Validator v;
        EXPECT_TRUE(v.feed(std::string_view(text).substr(0, cut))) << cut;
        EXPECT_TRUE(v.feed(std::string_view(text).substr(cut))) << cut;
        EXPECT_TRUE(v.complete()) << cut;
    }
}

TEST(Utf8Validator, ByteByByteMatchesWholeValidation) {
    const std::string text = "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5";
    Utf8Validator v;
    for (char c : text) {
        ASSERT_TRUE(v.feed(std::string_view(&c, 1)));
    }
    EXPECT_TRUE(v.complete());
}

TEST(Utf8Validator, IncompleteUntilTheSequenceEnds) {
    Utf8Validator v;
    EXPECT_TRUE(v.feed("\xF0\x9F"));
    EXPECT_FALSE(v.complete());
    EXPECT_TRUE(v.feed("\x98"));
    EXPECT_FALSE(v.complete());
    EXPECT_TRUE(v.feed("\x80"));
    EXPECT_TRUE(v.complete());
}

// Autobahn 6.4.x: the byte that makes a sequence impossible fails at once, not at the end.
TEST(Utf8Validator, FailsFastOnTheFirstImpossibleByte) {
    Utf8Validator above_max;
    EXPECT_TRUE(above_max.feed("\xCE\xBA\xF4"));
    EXPECT_FALSE(above_max.feed("\x90")); // F4 90 is already above U+10FFFF

    Utf8Validator surrogate;
    EXPECT_TRUE(surrogate.feed("\xED"));
    EXPECT_FALSE(surrogate.feed("\xA0"));

    Utf8Validator overlong;
    EXPECT_TRUE(overlong.feed("\xE0"));
    EXPECT_FALSE(overlong.feed("\x9F"));

    Utf8Validator never;
    EXPECT_FALSE(never.feed("\xC0"));
}

TEST(Utf8Validator, RejectIsStickyUntilReset) {
    Utf8Validator v;
    EXPECT_FALSE(v.feed("\xFF"));
    EXPECT_FALSE(v.feed("plain ascii"));
    EXPECT_FALSE(v.feed(""));
    EXPECT_FALSE(v.complete());
    v.reset();
    EXPECT_TRUE(v.complete());
    EXPECT_TRUE(v.feed("plain ascii"));
    EXPECT_TRUE(v.complete());
}

} // namespace
