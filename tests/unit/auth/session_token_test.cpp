#include "auth/session_token.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

namespace parley::auth {
namespace {

bool is_lower_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

TEST(SessionToken, ShapeIsPrefixAnd43Base64urlCharacters) {
    const auto issued = issue_session_token();
    EXPECT_EQ(issued.token.size(), 46u);
    EXPECT_TRUE(issued.token.starts_with("pt_")) << issued.token;
    const auto body = std::string_view(issued.token).substr(3);
    EXPECT_TRUE(std::all_of(body.begin(), body.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
    })) << issued.token;
    EXPECT_TRUE(looks_like_session_token(issued.token));
}

TEST(SessionToken, HashIs64LowercaseHexOfTheToken) {
    const auto issued = issue_session_token();
    EXPECT_EQ(issued.hash.size(), 64u);
    EXPECT_TRUE(is_lower_hex(issued.hash)) << issued.hash;
    EXPECT_EQ(issued.hash, hash_session_token(issued.token));
    EXPECT_NE(issued.hash.find_first_not_of('0'), std::string::npos);
}

TEST(SessionToken, TokensAndHashesAreUnique) {
    std::set<std::string> tokens;
    std::set<std::string> hashes;
    for (int i = 0; i < 1000; ++i) {
        const auto issued = issue_session_token();
        tokens.insert(issued.token);
        hashes.insert(issued.hash);
    }
    EXPECT_EQ(tokens.size(), 1000u);
    EXPECT_EQ(hashes.size(), 1000u);
}

TEST(SessionToken, HashIsStableAndDiffersPerToken) {
    EXPECT_EQ(hash_session_token("pt_abc"), hash_session_token("pt_abc"));
    EXPECT_NE(hash_session_token("pt_abc"), hash_session_token("pt_abd"));
    EXPECT_NE(hash_session_token("pt_abc"), hash_session_token("pt_ab"));
}

TEST(SessionToken, HashMatchesAnIndependentBlake2b256) {
    // Computed with coreutils: printf '%s' 'pt_example' | b2sum -l 256
    EXPECT_EQ(hash_session_token("pt_example"),
              "a068a17231dd47e7548bb8de0408d14fcd74bebf76fbbfa1e72cbc79bd189f4f");
}

TEST(SessionToken, LooksLikeRefusesOtherShapes) {
    const auto token = issue_session_token().token;
    EXPECT_FALSE(looks_like_session_token(""));
    EXPECT_FALSE(looks_like_session_token("pt_"));
    EXPECT_FALSE(looks_like_session_token(token.substr(0, 45)));
    EXPECT_FALSE(looks_like_session_token(token + "A"));
    EXPECT_FALSE(looks_like_session_token("xx_" + token.substr(3)));
    EXPECT_FALSE(looks_like_session_token("PT_" + token.substr(3)));
    std::string bad_char = token;
    bad_char[10] = '+';
    EXPECT_FALSE(looks_like_session_token(bad_char));
    bad_char[10] = '=';
    EXPECT_FALSE(looks_like_session_token(bad_char));
    // 43 characters carry 258 bits for 256: the last one's 2 spare bits must be zero, so 'B'
    // (000001) can never end a token and each token has exactly one spelling.
    std::string non_canonical = token;
    non_canonical.back() = 'B';
    EXPECT_FALSE(looks_like_session_token(non_canonical));
    non_canonical.back() = 'A';
    EXPECT_TRUE(looks_like_session_token(non_canonical));
}

} // namespace
} // namespace parley::auth
