// The settings table and the file / environment layers.
#include "app/config.hpp"

#include "app/units.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace parley::app {

namespace {

std::string parse_listen(AppConfig& c, std::string_view text) {
    // "host:port", "[v6]:port", ":port" (every interface)
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return "expected HOST:PORT, e.g. 0.0.0.0:2346";
    }
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
        return "port must be a number from 0 to 65535";
    }
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    c.server.listen_host = host.empty() ? "0.0.0.0" : std::string(host);
    c.server.listen_port = static_cast<std::uint16_t>(port);
    return {};
}

template <class T> std::string parse_uint(T& out, std::string_view text, T min, T max) {
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
        return "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    }
    out = value;
    return {};
}

SettingParser bytes_setting(std::size_t net::ServerConfig::*field, std::size_t min) {
    return [field, min](AppConfig& c, std::string_view text) -> std::string {
        const auto bytes = parse_bytes(text);
        if (!bytes || *bytes < min) {
            return "expected a size of at least " + std::to_string(min) + " bytes, e.g. 64KiB or 1MiB";
        }
        c.server.*field = *bytes;
        return {};
    };
}

SettingParser duration_setting(std::chrono::milliseconds net::ServerConfig::*field) {
    return [field](AppConfig& c, std::string_view text) -> std::string {
        const auto d = parse_duration(text);
        if (!d || d->count() <= 0) {
            return "expected a positive duration, e.g. 500ms, 30s or 2m";
        }
        c.server.*field = *d;
        return {};
    };
}

std::string parse_rate(double& out, std::string_view text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < 0) {
        return "expected a number >= 0 (0 turns the limit off)";
    }
    out = value;
    return {};
}

std::string parse_byte_rate(double& out, std::string_view text) {
    const auto bytes = parse_bytes(text);
    if (!bytes) {
        return "expected a size, e.g. 256KiB or 1MiB (0 turns the limit off)";
    }
    out = static_cast<double>(*bytes);
    return {};
}

SettingParser rate_setting(double net::ServerConfig::*field) {
    return [field](AppConfig& c, std::string_view text) { return parse_rate(c.server.*field, text); };
}

SettingParser bytes_rate_setting(double net::ServerConfig::*field) {
    return [field](AppConfig& c, std::string_view text) { return parse_byte_rate(c.server.*field, text); };
}

SettingParser path_setting(std::string net::ServerConfig::*field) {
    return [field](AppConfig& c, std::string_view text) -> std::string {
        if (text.empty()) {
            return "expected a file path";
        }
        c.server.*field = std::string(text);
        return {};
    };
}

std::vector<Setting> make_settings() {
    using net::ServerConfig;
    return {
        {"listen", "Address and port for HTTP and WebSocket [0.0.0.0:2346]", parse_listen},
        {"threads", "Shards (threads with an event loop each) [number of cores]",
         [](AppConfig& c, std::string_view t) { return parse_uint(c.server.threads, t, 1u, 64u); }},
        {"data_dir", "Directory for the message store [./parley-data]",
         [](AppConfig& c, std::string_view t) -> std::string {
             if (t.empty()) {
                 return "must not be empty";
             }
             c.data_dir = std::string(t);
             return {};
         }},
        {"store",
         "Message store: sqlite (durable, in data_dir), journal (durable, in data_dir, every message "
         "within retention held in RAM; fastest) or memory (NOT durable; tests, benchmarks) [sqlite]",
         [](AppConfig& c, std::string_view t) -> std::string {
             if (t != "sqlite" && t != "journal" && t != "memory") {
                 return "expected sqlite, journal or memory";
             }
             c.store = std::string(t);
             return {};
         }},
        {"sqlite_cache_bytes", "SQLite page cache [64MiB]",
         [](AppConfig& c, std::string_view t) -> std::string {
             const auto bytes = parse_bytes(t);
             if (!bytes || *bytes < 64 * 1024) {
                 return "expected a size of at least 64KiB";
             }
             c.sqlite_cache_bytes = *bytes;
             return {};
         }},
        {"retention_days", "Delete messages older than this many days; 0 keeps them forever [0]",
         [](AppConfig& c, std::string_view t) -> std::string {
             double days = 0;
             const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), days);
             if (ec != std::errc{} || end != t.data() + t.size() || days < 0) {
                 return "expected a number of days >= 0";
             }
             c.server.storage.retention_ms = static_cast<std::int64_t>(days * 24 * 3600 * 1000);
             return {};
         }},
        {"idempotency_window", "A chat resent with the same id within this time is stored once [24h]",
         [](AppConfig& c, std::string_view t) -> std::string {
             const auto d = parse_duration(t);
             if (!d) {
                 return "expected a duration, e.g. 24h";
             }
             c.server.storage.idempotency_window_ms = d->count();
             return {};
         }},
        {"auth",
         "Authentication: password (accounts), jwt (HS256 tokens from your app), or open (trust the "
         "client's user_id; UNSAFE) [password]",
         [](AppConfig& c, std::string_view t) -> std::string {
             if (t != "open" && t != "password" && t != "jwt") {
                 return "expected password, jwt or open";
             }
             c.auth = std::string(t);
             return {};
         }},
        {"jwt_secret", "HS256 key for --auth jwt (prefer PARLEY_JWT_SECRET: flags are visible in ps)",
         [](AppConfig& c, std::string_view t) -> std::string {
             // RFC 7518 §3.2: an HS256 key must be at least as long as the hash, 256 bits.
             if (t.size() < 32) {
                 return "must be at least 32 bytes (RFC 7518 section 3.2)";
             }
             c.jwt_secret = std::string(t);
             return {};
         }},
        {"token_ttl", "How long a session token from /api/login stays valid [30d]",
         [](AppConfig& c, std::string_view t) -> std::string {
             const auto d = parse_duration(t);
             if (!d || d->count() < 1000) {
                 return "expected a duration of at least 1s, e.g. 12h or 30d";
             }
             c.token_ttl = *d;
             return {};
         }},
        {"registration", "open: anyone may create an account (POST /api/register); closed: admin only [open]",
         [](AppConfig& c, std::string_view t) -> std::string {
             if (t != "open" && t != "closed") {
                 return "expected open or closed";
             }
             c.registration = std::string(t);
             return {};
         }},
        {"allowed_origins",
         "Web origins besides the server's own that may open a WebSocket or call the API, comma-"
         "separated (e.g. https://chat.example.com); * allows any [none]",
         [](AppConfig& c, std::string_view t) -> std::string {
             c.server.origins.allowed.clear();
             while (!t.empty()) {
                 const auto comma = t.find(',');
                 std::string_view item = t.substr(0, comma);
                 while (!item.empty() && item.front() == ' ') {
                     item.remove_prefix(1);
                 }
                 while (!item.empty() && item.back() == ' ') {
                     item.remove_suffix(1);
                 }
                 if (!item.empty()) {
                     if (item != "*" && item.find("://") == std::string_view::npos) {
                         return "each origin is scheme://host[:port], e.g. https://chat.example.com";
                     }
                     c.server.origins.allowed.emplace_back(item);
                 }
                 t = comma == std::string_view::npos ? std::string_view{} : t.substr(comma + 1);
             }
             return {};
         }},
        {"login_free_failures", "Failed logins per address and per user name before backoff starts [5]",
         [](AppConfig& c, std::string_view t) { return parse_uint(c.login_free_failures, t, 1u, 1000u); }},
        {"login_max_backoff", "Longest wait imposed after repeated failed logins [15m]",
         [](AppConfig& c, std::string_view t) -> std::string {
             const auto d = parse_duration(t);
             if (!d || d->count() < 1000) {
                 return "expected a duration of at least 1s";
             }
             c.login_max_backoff = *d;
             return {};
         }},
        {"log_level", "trace, debug, info, warn or error [info]",
         [](AppConfig& c, std::string_view t) -> std::string {
             static constexpr std::string_view levels[] = {"trace", "debug", "info", "warn", "error"};
             if (std::find(std::begin(levels), std::end(levels), t) == std::end(levels)) {
                 return "expected trace, debug, info, warn or error";
             }
             c.log_level = std::string(t);
             return {};
         }},
        {"max_message_bytes", "Longest chat text, in bytes of UTF-8 [64KiB]",
         [](AppConfig& c, std::string_view t) -> std::string {
             const auto bytes = parse_bytes(t);
             if (!bytes || *bytes < 1) {
                 return "expected a size of at least 1 byte, e.g. 64KiB";
             }
             c.server.protocol.max_message_bytes = *bytes;
             return {};
         }},
        {"max_frame_bytes", "Largest WebSocket message accepted; larger closes with 1009 [256KiB]",
         bytes_setting(&ServerConfig::max_frame_bytes, 1024)},
        {"max_send_queue_bytes", "Output queued per session before it is closed as a slow consumer [1MiB]",
         bytes_setting(&ServerConfig::max_send_queue_bytes, 1024)},
        {"ping_interval", "Ping sessions idle this long [30s]",
         duration_setting(&ServerConfig::ping_interval)},
        {"idle_timeout", "Close sessions silent this long [75s]",
         duration_setting(&ServerConfig::idle_timeout)},
        {"handshake_timeout", "Time to complete an HTTP request or upgrade [10s]",
         duration_setting(&ServerConfig::handshake_timeout)},
        {"close_timeout", "Time a peer gets to answer our close frame [2s]",
         duration_setting(&ServerConfig::close_timeout)},
        {"shutdown_grace", "On SIGTERM, time sessions get to close cleanly [3s]",
         duration_setting(&ServerConfig::shutdown_grace)},
        {"max_frames_per_second", "Frames per second per connection, sustained; 0 = no limit [200]",
         rate_setting(&ServerConfig::max_frames_per_second)},
        {"max_frames_burst", "Frames per connection in a burst [400]",
         rate_setting(&ServerConfig::max_frames_burst)},
        {"max_bytes_per_second", "Bytes per second per connection, sustained; 0 = no limit [1MiB]",
         bytes_rate_setting(&ServerConfig::max_bytes_per_second)},
        {"max_bytes_burst", "Bytes per connection in a burst; at least max_frame_bytes [4MiB]",
         bytes_rate_setting(&ServerConfig::max_bytes_burst)},
        {"user_messages_per_second", "Chats per second per user over all devices; 0 = no limit [20]",
         [](AppConfig& c, std::string_view t) {
             return parse_rate(c.server.user_limits.messages_per_second, t);
         }},
        {"user_messages_burst", "Chats per user in a burst [100]",
         [](AppConfig& c, std::string_view t) { return parse_rate(c.server.user_limits.messages_burst, t); }},
        {"user_bytes_per_second", "Chat bytes per second per user; 0 = no limit [256KiB]",
         [](AppConfig& c, std::string_view t) {
             return parse_byte_rate(c.server.user_limits.bytes_per_second, t);
         }},
        {"user_bytes_burst", "Chat bytes per user in a burst; at least max_message_bytes [1MiB]",
         [](AppConfig& c, std::string_view t) {
             return parse_byte_rate(c.server.user_limits.bytes_burst, t);
         }},
        {"max_connections", "Connections held at once; 0 = as many as the file limit allows [0]",
         [](AppConfig& c, std::string_view t) {
             return parse_uint(c.server.max_connections, t, std::size_t{0}, std::size_t{10'000'000});
         }},
        {"max_connections_per_ip", "Connections held at once from one IP address; 0 = no limit [256]",
         [](AppConfig& c, std::string_view t) {
             return parse_uint(c.server.max_connections_per_ip, t, std::size_t{0}, std::size_t{10'000'000});
         }},
        {"tls_cert", "PEM certificate chain; with tls_key the port serves only HTTPS and WSS [off]",
         path_setting(&ServerConfig::tls_cert)},
        {"tls_key", "PEM private key of tls_cert [off]", path_setting(&ServerConfig::tls_key)},
    };
}

} // namespace

const std::vector<Setting>& all_settings() {
    static const std::vector<Setting> settings = make_settings();
    return settings;
}

std::string flag_name(std::string_view key) {
    std::string out = "--";
    for (char ch : key) {
        out += ch == '_' ? '-' : ch;
    }
    return out;
}

std::string env_name(std::string_view key) {
    std::string out = "PARLEY_";
    for (char ch : key) {
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    return out;
}

void apply_setting(AppConfig& config, std::string_view key, std::string_view value, std::string_view source) {
    const auto& settings = all_settings();
    const auto it =
        std::find_if(settings.begin(), settings.end(), [&](const Setting& s) { return s.key == key; });
    if (it == settings.end()) {
        throw std::runtime_error(std::string(source) + ": unknown setting '" + std::string(key) + "'");
    }
    if (std::string error = it->apply(config, value); !error.empty()) {
        // A rejected key is still a secret (perhaps the right one, mistyped): not in logs.
        const std::string shown = key == "jwt_secret" ? "(hidden)" : "'" + std::string(value) + "'";
        throw std::runtime_error(std::string(source) + ": " + std::string(key) + " = " + shown + ": " +
                                 error);
    }
}

void apply_toml_file(AppConfig& config, const std::string& path) {
    toml::table table;
    try {
        table = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        throw std::runtime_error("config file " + path + ": " + std::string(e.description()) + " (line " +
                                 std::to_string(e.source().begin.line) + ")");
    }
    for (const auto& [key, node] : table) {
        std::string value;
        if (const auto* s = node.as_string()) {
            value = s->get();
        } else if (const auto* i = node.as_integer()) {
            value = std::to_string(i->get());
        } else if (const auto* f = node.as_floating_point()) {
            value = std::to_string(f->get());
        } else if (const auto* b = node.as_boolean()) {
            value = b->get() ? "true" : "false";
        } else {
            throw std::runtime_error("config file " + path + ": " + std::string(key.str()) +
                                     " must be a string, number or boolean");
        }
        apply_setting(config, key.str(), value, "config file " + path);
    }
}

void derive_from_auth_mode(AppConfig& config) {
    config.server.auth_open = config.auth == "open";
    config.server.fold_user_ids = config.auth == "password";
    // A page opened from disk (Origin: null) is the seed tutorial's: welcome in open mode only.
    config.server.origins.allow_null = config.auth == "open";
}

void check_consistency(const AppConfig& config) {
    const net::ServerConfig& s = config.server;
    if (config.auth == "jwt" && config.jwt_secret.empty()) {
        throw std::runtime_error("--auth jwt needs the shared key: set PARLEY_JWT_SECRET (or jwt_secret)");
    }
    if (config.auth != "jwt" && !config.jwt_secret.empty()) {
        throw std::runtime_error("jwt_secret is set but auth is '" + config.auth + "', not jwt");
    }
    if (s.max_bytes_per_second > 0 && s.max_bytes_burst < static_cast<double>(s.max_frame_bytes)) {
        throw std::runtime_error(
            "max_bytes_burst must be at least max_frame_bytes, or the largest frame could "
            "never be accepted");
    }
    if (s.user_limits.bytes_per_second > 0 &&
        s.user_limits.bytes_burst < static_cast<double>(s.protocol.max_message_bytes)) {
        throw std::runtime_error(
            "user_bytes_burst must be at least max_message_bytes, or the longest chat could "
            "never be sent");
    }
    if (s.user_limits.messages_per_second > 0 && s.user_limits.messages_burst < 1) {
        throw std::runtime_error("user_messages_burst must be at least 1");
    }
}

void apply_environment(AppConfig& config, const std::function<const char*(const char*)>& getenv) {
    for (const Setting& s : all_settings()) {
        const std::string name = env_name(s.key);
        if (const char* value = getenv(name.c_str())) {
            apply_setting(config, s.key, value, "environment " + name);
        }
    }
}

} // namespace parley::app
