// Which Origin headers may open a WebSocket or call the API (cross-site WebSocket hijacking).
#include "net/origin_policy.hpp"

#include <gtest/gtest.h>

namespace parley::net {
namespace {

TEST(OriginPolicy, NoOriginIsAProgramNotABrowserAndIsAllowed) {
    EXPECT_TRUE(origin_allowed(OriginPolicy{}, "", "chat.example.com", false));
}

TEST(OriginPolicy, TheServersOwnOriginIsAlwaysAllowed) {
    const OriginPolicy none;
    EXPECT_TRUE(origin_allowed(none, "http://127.0.0.1:2346", "127.0.0.1:2346", false));
    EXPECT_TRUE(origin_allowed(none, "HTTP://Chat.Example.com", "chat.example.com", false))
        << "case-insensitive";
    EXPECT_TRUE(origin_allowed(none, "https://chat.example.com", "chat.example.com", true));
}

TEST(OriginPolicy, SchemeAndPortMustMatchTooAndPrefixesDoNotCount) {
    const OriginPolicy none;
    EXPECT_FALSE(origin_allowed(none, "https://chat.example.com", "chat.example.com", false)) << "scheme";
    EXPECT_FALSE(origin_allowed(none, "http://chat.example.com", "chat.example.com", true)) << "scheme";
    EXPECT_FALSE(origin_allowed(none, "http://127.0.0.1:9999", "127.0.0.1:2346", false)) << "port";
    EXPECT_FALSE(origin_allowed(none, "http://chat.example.com.evil.test", "chat.example.com", false));
    EXPECT_FALSE(origin_allowed(none, "http://evil.test", "", false)) << "no Host: nothing is our own";
    EXPECT_FALSE(origin_allowed(none, "http://evil.test", "chat.example.com", false));
}

TEST(OriginPolicy, NullIsThePageFromDiskAndOnlyAllowedWhenAskedFor) {
    EXPECT_FALSE(origin_allowed(OriginPolicy{}, "null", "127.0.0.1:2346", false));
    OriginPolicy open;
    open.allow_null = true;
    EXPECT_TRUE(origin_allowed(open, "null", "127.0.0.1:2346", false));
}

TEST(OriginPolicy, TheAllowListAndTheWildcard) {
    OriginPolicy listed;
    listed.allowed = {"https://app.example.com", "http://localhost:5173"};
    EXPECT_TRUE(origin_allowed(listed, "https://app.example.com", "api.example.com", true));
    EXPECT_TRUE(origin_allowed(listed, "http://LOCALHOST:5173", "api.example.com", true));
    EXPECT_FALSE(origin_allowed(listed, "https://app.example.com:8443", "api.example.com", true));
    EXPECT_FALSE(origin_allowed(listed, "null", "api.example.com", true)) << "* or a list never means null";
    OriginPolicy any;
    any.allowed = {"*"};
    EXPECT_TRUE(origin_allowed(any, "https://anything.test", "api.example.com", true));
    EXPECT_FALSE(origin_allowed(any, "null", "api.example.com", true));
}

} // namespace
} // namespace parley::net
