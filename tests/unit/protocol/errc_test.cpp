// The errc table: complete, in enum order, and with the wire names clients switch on. A renamed
// wire name breaks clients, so the expected names are spelled out here rather than derived.
#include "protocol/errc.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <set>
#include <string_view>

namespace parley::protocol {
namespace {

struct Expected {
    errc code;
    std::string_view wire_name;
};

constexpr Expected expected_names[] = {
    {errc::bad_json, "bad_json"},
    {errc::not_an_object, "not_an_object"},
    {errc::missing_field, "missing_field"},
    {errc::bad_field, "bad_field"},
    {errc::unknown_type, "unknown_type"},
    {errc::not_logged_in, "not_logged_in"},
    {errc::already_logged_in, "already_logged_in"},
    {errc::bad_user_id, "bad_user_id"},
    {errc::message_too_long, "message_too_long"},
    {errc::binary_unsupported, "binary_unsupported"},
    {errc::rate_limited, "rate_limited"},
    {errc::server_busy, "server_busy"},
    {errc::auth_failed, "auth_failed"},
    {errc::auth_required, "auth_required"},
};

TEST(Errc, WireNamesAreTheEnumNames) {
    for (const auto& e : expected_names) {
        EXPECT_EQ(wire_name(e.code), e.wire_name);
    }
}

TEST(Errc, TableListsEveryCodeInEnumOrder) {
    const auto table = all_errcs();
    ASSERT_EQ(table.size(), std::size(expected_names));
    for (std::size_t i = 0; i < table.size(); ++i) {
        EXPECT_EQ(table[i].code, expected_names[i].code) << "row " << i;
        EXPECT_EQ(table[i].wire_name, expected_names[i].wire_name) << "row " << i;
        EXPECT_EQ(static_cast<std::size_t>(table[i].code), i + 1) << "codes start at 1 and have no gaps";
    }
}

TEST(Errc, WireNamesAreUniqueSnakeCase) {
    std::set<std::string_view> seen;
    for (const auto& info : all_errcs()) {
        EXPECT_TRUE(seen.insert(info.wire_name).second) << "duplicate " << info.wire_name;
        ASSERT_FALSE(info.wire_name.empty());
        EXPECT_NE(info.wire_name.front(), '_');
        EXPECT_NE(info.wire_name.back(), '_');
        for (char c : info.wire_name) {
            EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << info.wire_name;
        }
    }
}

TEST(Errc, EveryCodeHasAMeaningSentence) {
    std::set<std::string_view> seen;
    for (const auto& info : all_errcs()) {
        EXPECT_EQ(meaning(info.code), info.meaning);
        ASSERT_GE(info.meaning.size(), 10U) << info.wire_name;
        EXPECT_TRUE(info.meaning.front() >= 'A' && info.meaning.front() <= 'Z') << info.meaning;
        EXPECT_EQ(info.meaning.back(), '.') << info.meaning;
        EXPECT_TRUE(seen.insert(info.meaning).second) << "two codes share the meaning: " << info.meaning;
        // Meanings are sent inside JSON strings; keeping them free of quotes and control bytes
        // keeps them readable in logs and docs too.
        for (char c : info.meaning) {
            EXPECT_GE(static_cast<unsigned char>(c), 0x20) << info.wire_name;
            EXPECT_NE(c, '"') << info.wire_name;
        }
    }
}

} // namespace
} // namespace parley::protocol
