// Parley's configuration: one table of settings, read in layers — built-in defaults, then the
// TOML file, then PARLEY_* environment variables, then command-line flags (each overrides the
// one before). Every setting has the same name in all three: key `max_frame_bytes`, variable
// PARLEY_MAX_FRAME_BYTES, flag --max-frame-bytes.
#pragma once

#include "net/server_config.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::app {

struct AppConfig {
    net::ServerConfig server;
    // Where the message store keeps its files.
    std::string data_dir = "./parley-data";
    // "sqlite": durable, one file under data_dir (the default). "memory": nothing survives a
    // restart — for tests and benchmarks only.
    std::string store = "sqlite";
    // SQLite's page cache. 64 MiB holds the hot ends of the indexes for a busy server.
    std::size_t sqlite_cache_bytes = std::size_t{64} << 20;
    // "password": accounts with Argon2id passwords and session tokens (the default). "jwt": HS256
    // tokens issued by another application (`jwt_secret`). "open": trust the client's user_id, as
    // the seed did — unsafe anywhere but a trusted network (docs/operations.md).
    std::string auth = "password";
    // The HS256 key for `--auth jwt`. Prefer PARLEY_JWT_SECRET (or the TOML file) to the flag:
    // command lines are visible to every user of the machine.
    std::string jwt_secret;
    // How long a session token from /api/login stays valid.
    std::chrono::milliseconds token_ttl{std::chrono::hours(24 * 30)};
    // Whether anyone may create an account with POST /api/register ("open") or only the admin
    // with `parley user add` ("closed").
    std::string registration = "open";
    // Failed logins allowed per address and per user name before each further attempt must wait
    // (1 s, doubling up to login_max_backoff).
    unsigned login_free_failures = 5;
    std::chrono::milliseconds login_max_backoff{std::chrono::minutes(15)};
    // trace, debug, info, warn, error
    std::string log_level = "info";
};

// Sets one setting from its text form. Returns an error for people, or empty on success.
using SettingParser = std::function<std::string(AppConfig&, std::string_view)>;

struct Setting {
    std::string_view key; // TOML key; the flag and variable names derive from it
    std::string_view help;
    SettingParser apply;
};

// Every setting, in the order --help lists them.
const std::vector<Setting>& all_settings();

std::string flag_name(std::string_view key); // "--max-frame-bytes"
std::string env_name(std::string_view key);  // "PARLEY_MAX_FRAME_BYTES"

// Sets `key` to `value`; throws std::runtime_error naming `source` on an unknown key or a bad value.
void apply_setting(AppConfig& config, std::string_view key, std::string_view value, std::string_view source);

// Applies a TOML file's settings. Throws std::runtime_error if it cannot be read or parsed, or
// holds an unknown key or bad value (a typo in a config file must not pass silently).
void apply_toml_file(AppConfig& config, const std::string& path);

// Sets the server settings the auth mode implies (whether user ids are trusted, case-folded, and
// pages from disk allowed). Call once after every layer is applied: the mode may come from any.
void derive_from_auth_mode(AppConfig& config);

// Checks what no single setting can: settings that only make sense together. Throws
// std::runtime_error naming them (a startup error).
void check_consistency(const AppConfig& config);

// Applies every PARLEY_* variable `getenv` knows for a setting.
void apply_environment(AppConfig& config, const std::function<const char*(const char*)>& getenv);

} // namespace parley::app
