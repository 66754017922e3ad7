#include "auth/password_hash.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley::auth {
namespace {

// libsodium's minimum: fast enough for tests. The server always uses PasswordCost{}.
constexpr PasswordCost cheap{.ops = 1, .mem_bytes = 8 * 1024};

std::string cheap_hash(std::string_view password) {
    auto hashed = hash_password(password, cheap);
    EXPECT_TRUE(hashed.has_value());
    return hashed.has_value() ? *hashed : std::string();
}

TEST(PasswordHash, DefaultCostIsOwaspMinimumArgon2id) {
    const auto hashed = hash_password("correct horse battery staple");
    ASSERT_TRUE(hashed.has_value());
    EXPECT_TRUE(hashed->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *hashed;
    EXPECT_TRUE(verify_password(*hashed, "correct horse battery staple"));
    EXPECT_FALSE(password_needs_rehash(*hashed));
}

TEST(PasswordHash, RoundTrip) {
    const auto hashed = cheap_hash("hunter2hunter2");
    EXPECT_TRUE(hashed.starts_with("$argon2id$v=19$m=8,t=1,p=1$")) << hashed;
    EXPECT_TRUE(verify_password(hashed, "hunter2hunter2"));
}

TEST(PasswordHash, WrongPasswordIsRefused) {
    const auto hashed = cheap_hash("hunter2hunter2");
    EXPECT_FALSE(verify_password(hashed, "hunter2hunter3"));
    EXPECT_FALSE(verify_password(hashed, "hunter2hunter"));
    EXPECT_FALSE(verify_password(hashed, ""));
}

TEST(PasswordHash, SaltMakesEachHashDifferent) {
    EXPECT_NE(cheap_hash("same password"), cheap_hash("same password"));
}

TEST(PasswordHash, EmbeddedNulIsPartOfThePassword) {
    const std::string with_nul("abc\0def", 7);
    const auto hashed = cheap_hash(with_nul);
    EXPECT_TRUE(verify_password(hashed, with_nul));
    EXPECT_FALSE(verify_password(hashed, "abc"));
}

TEST(PasswordHash, MalformedStoredHashIsRefused) {
    const auto good = cheap_hash("hunter2hunter2");
    const std::string cases[] = {
        "",
        "not a hash",
        "$argon2id$",
        "$argon2id$v=19$m=8,t=1,p=1$",
        good.substr(0, good.size() - 5),                             // truncated
        good.substr(0, 20) + std::string(1, '\0') + good.substr(21), // NUL inside
        good + std::string(200, 'A'),                                // too long for libsodium's buffer
        "$argon2id$v=19$m=8,t=1,p=1$!!!!!!!!$!!!!!!!!",              // not base64
        "$argon2id$v=18$m=8,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNo", // unknown version
        "$2y$10$abcdefghijklmnopqrstuu5bV7qNpC0eA0u7rGz5R5y5QVJ6y4/K",        // bcrypt
    };
    for (const auto& stored : cases) {
        EXPECT_FALSE(verify_password(stored, "hunter2hunter2")) << stored;
    }
}

TEST(PasswordHash, NeedsRehashWhenCostOrAlgorithmDiffers) {
    const auto hashed = cheap_hash("hunter2hunter2");
    EXPECT_FALSE(password_needs_rehash(hashed, cheap));
    EXPECT_TRUE(password_needs_rehash(hashed)) << "cheap hash against the default cost";
    EXPECT_TRUE(password_needs_rehash(hashed, PasswordCost{.ops = 2, .mem_bytes = 8 * 1024}));
    EXPECT_TRUE(password_needs_rehash(hashed, PasswordCost{.ops = 1, .mem_bytes = 16 * 1024}));
    EXPECT_TRUE(password_needs_rehash("garbage", cheap));
    EXPECT_TRUE(password_needs_rehash("", cheap));
    // An Argon2i hash at the same cost must still move to Argon2id.
    std::string argon2i = hashed;
    argon2i.replace(0, std::string_view("$argon2id$").size(), "$argon2i$");
    EXPECT_TRUE(password_needs_rehash(argon2i, cheap));
}

TEST(PasswordHash, CostBelowLibsodiumMinimumIsAnError) {
    const auto hashed = hash_password("hunter2hunter2", PasswordCost{.ops = 0, .mem_bytes = 8 * 1024});
    ASSERT_FALSE(hashed.has_value());
    EXPECT_EQ(hashed.error(), boost::system::errc::invalid_argument);
}

TEST(NewPassword, LengthRulesInBytes) {
    EXPECT_EQ(check_new_password("12345678"), std::nullopt);
    EXPECT_NE(check_new_password("1234567"), std::nullopt);
    EXPECT_NE(check_new_password(""), std::nullopt);
    EXPECT_EQ(check_new_password(std::string(1024, 'x')), std::nullopt);
    EXPECT_NE(check_new_password(std::string(1025, 'x')), std::nullopt);
    // Four two-byte characters are 8 bytes: accepted although only 4 characters (documented).
    EXPECT_EQ(check_new_password("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"), std::nullopt);
}

TEST(NewPassword, MessagesNameTheRule) {
    const auto too_short = check_new_password("abc");
    ASSERT_TRUE(too_short.has_value());
    EXPECT_NE(too_short->find("at least 8"), std::string::npos) << *too_short;
    const auto too_long = check_new_password(std::string(2000, 'x'));
    ASSERT_TRUE(too_long.has_value());
    EXPECT_NE(too_long->find("at most 1024"), std::string::npos) << *too_long;
}

TEST(NewPassword, EmbeddedNulIsRefused) {
    const auto refused = check_new_password(std::string("abcd\0efgh", 9));
    ASSERT_TRUE(refused.has_value());
    EXPECT_NE(refused->find("NUL"), std::string::npos);
}

TEST(NewPassword, CustomRules) {
    const PasswordRules rules{.min_length = 12, .max_length = 16};
    EXPECT_NE(check_new_password("12345678901", rules), std::nullopt);
    EXPECT_EQ(check_new_password("123456789012", rules), std::nullopt);
    EXPECT_NE(check_new_password("12345678901234567", rules), std::nullopt);
}

} // namespace
} // namespace parley::auth
