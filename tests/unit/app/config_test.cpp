#include "app/config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>

namespace parley::app {
namespace {

TEST(Config, NamesDeriveFromTheKey) {
    EXPECT_EQ(flag_name("max_frame_bytes"), "--max-frame-bytes");
    EXPECT_EQ(env_name("max_frame_bytes"), "PARLEY_MAX_FRAME_BYTES");
}

TEST(Config, ListenParsesHostAndPort) {
    AppConfig c;
    apply_setting(c, "listen", "127.0.0.1:9000", "test");
    EXPECT_EQ(c.server.listen_host, "127.0.0.1");
    EXPECT_EQ(c.server.listen_port, 9000);
    apply_setting(c, "listen", "[::1]:0", "test");
    EXPECT_EQ(c.server.listen_host, "::1");
    apply_setting(c, "listen", ":2346", "test");
    EXPECT_EQ(c.server.listen_host, "0.0.0.0");
    EXPECT_THROW(apply_setting(c, "listen", "localhost", "test"), std::runtime_error);
    EXPECT_THROW(apply_setting(c, "listen", "1.2.3.4:70000", "test"), std::runtime_error);
}

TEST(Config, SizesAndDurations) {
    AppConfig c;
    apply_setting(c, "max_send_queue_bytes", "2MiB", "test");
    EXPECT_EQ(c.server.max_send_queue_bytes, 2u * 1024 * 1024);
    apply_setting(c, "ping_interval", "250ms", "test");
    EXPECT_EQ(c.server.ping_interval, std::chrono::milliseconds(250));
    apply_setting(c, "idle_timeout", "2m", "test");
    EXPECT_EQ(c.server.idle_timeout, std::chrono::minutes(2));
    EXPECT_THROW(apply_setting(c, "idle_timeout", "0s", "test"), std::runtime_error);
    EXPECT_THROW(apply_setting(c, "max_frame_bytes", "lots", "test"), std::runtime_error);
}

TEST(Config, UnknownKeyNamesItsSource) {
    AppConfig c;
    try {
        apply_setting(c, "thraeds", "2", "config file x.toml");
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("x.toml"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("thraeds"), std::string::npos);
    }
}

TEST(Config, EnvironmentOverridesFile) {
    const std::string path = ::testing::TempDir() + "parley-config-test.toml";
    std::ofstream(path) << "threads = 3\nmax_frames_per_second = 50\nlisten = \"127.0.0.1:1234\"\n";
    AppConfig c;
    apply_toml_file(c, path);
    EXPECT_EQ(c.server.threads, 3u);
    EXPECT_EQ(c.server.max_frames_per_second, 50);
    EXPECT_EQ(c.server.listen_port, 1234);
    std::map<std::string, std::string> env = {{"PARLEY_THREADS", "5"}};
    apply_environment(c, [&](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
    EXPECT_EQ(c.server.threads, 5u);
    EXPECT_EQ(c.server.listen_port, 1234) << "untouched by the environment";
    std::remove(path.c_str());
}

TEST(Config, BrokenTomlIsAClearError) {
    const std::string path = ::testing::TempDir() + "parley-config-broken.toml";
    std::ofstream(path) << "threads = = 3\n";
    AppConfig c;
    try {
        apply_toml_file(c, path);
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("line 1"), std::string::npos) << e.what();
    }
    std::remove(path.c_str());
}

TEST(Config, AuthModesAndWhatTheyImply) {
    AppConfig c;
    EXPECT_EQ(c.auth, "password") << "accounts are the default";
    derive_from_auth_mode(c);
    EXPECT_FALSE(c.server.auth_open);
    EXPECT_TRUE(c.server.fold_user_ids) << "the default mode folds names too, not only an explicit --auth";
    EXPECT_FALSE(c.server.origins.allow_null);
    apply_setting(c, "auth", "open", "test");
    derive_from_auth_mode(c);
    EXPECT_TRUE(c.server.auth_open);
    EXPECT_FALSE(c.server.fold_user_ids);
    EXPECT_TRUE(c.server.origins.allow_null) << "the tutorial's page from disk";
    apply_setting(c, "auth", "password", "test");
    derive_from_auth_mode(c);
    EXPECT_FALSE(c.server.auth_open);
    EXPECT_TRUE(c.server.fold_user_ids) << "account names are case-folded";
    apply_setting(c, "auth", "jwt", "test");
    derive_from_auth_mode(c);
    EXPECT_FALSE(c.server.fold_user_ids) << "a JWT's sub is the other application's id, as is";
    EXPECT_THROW(apply_setting(c, "auth", "none", "test"), std::runtime_error);
}

TEST(Config, JwtNeedsALongEnoughSecretAndOnlyInJwtMode) {
    AppConfig c;
    EXPECT_THROW(apply_setting(c, "jwt_secret", "short", "test"), std::runtime_error);
    apply_setting(c, "auth", "jwt", "test");
    EXPECT_THROW(check_consistency(c), std::runtime_error) << "jwt without a secret";
    apply_setting(c, "jwt_secret", std::string(32, 'k'), "test");
    EXPECT_NO_THROW(check_consistency(c));
    apply_setting(c, "auth", "password", "test");
    EXPECT_THROW(check_consistency(c), std::runtime_error) << "a secret that would be silently unused";
}

TEST(Config, LimitsParseAndBurstsMustHoldTheLargestUnit) {
    AppConfig c;
    EXPECT_NO_THROW(check_consistency(c)) << "the defaults are consistent";
    apply_setting(c, "max_bytes_per_second", "64KiB", "test");
    EXPECT_EQ(c.server.max_bytes_per_second, 65536.0);
    apply_setting(c, "max_bytes_burst", "128KiB", "test");
    EXPECT_THROW(check_consistency(c), std::runtime_error) << "burst below max_frame_bytes (256 KiB)";
    apply_setting(c, "max_bytes_per_second", "0", "test");
    EXPECT_NO_THROW(check_consistency(c)) << "no limit, no burst to check";

    apply_setting(c, "user_messages_per_second", "2.5", "test");
    EXPECT_EQ(c.server.user_limits.messages_per_second, 2.5);
    apply_setting(c, "user_bytes_burst", "1KiB", "test");
    EXPECT_THROW(check_consistency(c), std::runtime_error) << "burst below max_message_bytes";
    EXPECT_THROW(apply_setting(c, "user_messages_per_second", "-1", "test"), std::runtime_error);

    apply_setting(c, "max_connections_per_ip", "3", "test");
    EXPECT_EQ(c.server.max_connections_per_ip, 3u);
    apply_setting(c, "token_ttl", "30d", "test");
    EXPECT_EQ(c.token_ttl, std::chrono::hours(24 * 30));
    EXPECT_THROW(apply_setting(c, "registration", "maybe", "test"), std::runtime_error);
}

TEST(Config, AllowedOriginsIsACommaSeparatedListOfOrigins) {
    AppConfig c;
    apply_setting(c, "allowed_origins", "https://a.example.com, http://localhost:5173", "test");
    ASSERT_EQ(c.server.origins.allowed.size(), 2u);
    EXPECT_EQ(c.server.origins.allowed[1], "http://localhost:5173");
    apply_setting(c, "allowed_origins", "*", "test");
    EXPECT_EQ(c.server.origins.allowed, std::vector<std::string>{"*"});
    EXPECT_THROW(apply_setting(c, "allowed_origins", "a.example.com", "test"), std::runtime_error)
        << "an origin has a scheme";
}

} // namespace
} // namespace parley::app
