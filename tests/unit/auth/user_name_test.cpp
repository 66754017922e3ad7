#include "auth/user_name.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley::auth {
namespace {

std::string accepted(std::string_view raw) {
    const auto check = normalize_user_name(raw);
    EXPECT_TRUE(check.ok()) << raw << ": " << check.error;
    return check.name;
}

std::string refused(std::string_view raw) {
    const auto check = normalize_user_name(raw);
    EXPECT_FALSE(check.ok()) << raw;
    EXPECT_TRUE(check.name.empty()) << raw;
    return check.error;
}

TEST(UserName, PlainNamesPass) {
    EXPECT_EQ(accepted("alice"), "alice");
    EXPECT_EQ(accepted("a"), "a");
    EXPECT_EQ(accepted("7"), "7");
    EXPECT_EQ(accepted("bob_smith-2.0"), "bob_smith-2.0");
    EXPECT_EQ(accepted("0day"), "0day");
}

TEST(UserName, CaseIsFolded) {
    EXPECT_EQ(accepted("Alice"), "alice");
    EXPECT_EQ(accepted("ALICE"), accepted("alice"));
    EXPECT_EQ(accepted("MiXeD_Case.Name-Z"), "mixed_case.name-z");
}

TEST(UserName, EmptyIsRefused) {
    EXPECT_NE(refused("").find("empty"), std::string::npos);
}

TEST(UserName, LengthLimitIs32) {
    EXPECT_EQ(accepted(std::string(32, 'a')), std::string(32, 'a'));
    EXPECT_NE(refused(std::string(33, 'a')).find("32"), std::string::npos);
}

TEST(UserName, OnlyTheAlphabetIsAllowed) {
    for (const std::string_view raw : {"alice smith", " alice", "alice ", "al!ce", "alice@example", "al/ice",
                                       "al\\ice", "ali\tce", "al+ice", "al'ice", "al\"ice", "ali:ce"}) {
        EXPECT_NE(refused(raw).find("only"), std::string::npos) << raw;
    }
    refused(std::string_view("ali\0ce", 6));
    refused("\xc3\xa9lise");      // é: letters outside ASCII
    refused("\xd0\xb0lice");      // Cyrillic а that looks like a Latin a
    refused("alice\xef\xbc\x8e"); // a full-width dot
}

TEST(UserName, MustStartWithLetterOrDigit) {
    for (const std::string_view raw : {"_alice", "-alice", ".alice", ".", "_", "-"}) {
        EXPECT_NE(refused(raw).find("start"), std::string::npos) << raw;
    }
    EXPECT_EQ(accepted("alice_"), "alice_");
    EXPECT_EQ(accepted("alice."), "alice.");
}

} // namespace
} // namespace parley::auth
