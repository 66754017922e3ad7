// The auth decisions. Every refusal of a password or session-token login says the same thing
// whatever the cause (unknown name, wrong password, disabled account, bad token), so a client
// cannot learn which accounts exist; the server log says which it was. A refused JWT says why
// (expired, bad signature, …): there are no accounts here to probe, and the reason helps the
// application that issued it.
#include "auth/authenticator.hpp"

#include "auth/jwt.hpp"
#include "auth/session_token.hpp"
#include "auth/user_name.hpp"
#include "protocol/decoder.hpp"
#include "protocol/encoder.hpp"
#include "store/account_store.hpp"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace parley::auth {

namespace {

namespace od = simdjson::ondemand;

constexpr std::string_view refused_message = "wrong user name, password or token";

chat::LoginVerdict refused(std::string message = std::string(refused_message)) {
    chat::LoginVerdict v;
    v.ok = false;
    v.code = protocol::errc::auth_failed;
    v.message = std::move(message);
    return v;
}

// The account store failed (disk, lock): a temporary refusal, logged for the operator.
chat::LoginVerdict store_failure(const boost::system::error_code& error) {
    spdlog::error("account store: {}", error.message());
    chat::LoginVerdict v = refused("the server could not check the login; try again");
    v.code = protocol::errc::server_busy;
    return v;
}

chat::LoginVerdict accepted(std::string user, std::uint64_t tag = 0) {
    chat::LoginVerdict v;
    v.ok = true;
    v.user_id = std::move(user);
    v.token_tag = tag;
    return v;
}

std::string ip_key(std::string_view peer) {
    return "ip:" + std::string(peer);
}

std::string name_key(std::string_view name) {
    return "user:" + std::string(name);
}

// {"error":code,"message":message}
std::string error_body(std::string_view code, std::string_view message) {
    std::string out = R"({"error":)";
    protocol::append_json_string(out, code);
    out += R"(,"message":)";
    protocol::append_json_string(out, message);
    out += '}';
    return out;
}

ApiReply error_reply(int status, std::string_view code, std::string_view message, std::string headers = {}) {
    return ApiReply{status, error_body(code, message), std::move(headers)};
}

ApiReply retry_later(std::chrono::milliseconds wait) {
    const auto seconds = (wait.count() + 999) / 1000;
    return error_reply(429, "rate_limited",
                       "too many failed attempts; try again in " + std::to_string(seconds) + " s",
                       "Retry-After: " + std::to_string(seconds) + "\r\n");
}

// The fields the API's JSON bodies may carry.
struct Body {
    std::optional<std::string> user_id;
    std::optional<std::string> password;
    std::optional<std::string> token;
    bool everywhere = false;
};

// Parses a JSON object body; a message for people if it is not one or a field has the wrong type.
std::string parse_body(std::string_view text, Body& body) {
    if (text.empty()) {
        return {};
    }
    simdjson::padded_string padded(text);
    od::parser parser;
    od::document doc;
    od::object object;
    if (parser.iterate(padded).get(doc) || doc.get_object().get(object)) {
        return "the body must be a JSON object";
    }
    for (auto field_result : object) {
        od::field field;
        std::string_view key;
        if (std::move(field_result).get(field) || field.unescaped_key().get(key)) {
            return "the body is not valid JSON";
        }
        std::optional<std::string>* target = nullptr;
        if (key == "user_id") {
            target = &body.user_id;
        } else if (key == "password") {
            target = &body.password;
        } else if (key == "token") {
            target = &body.token;
        } else if (key == "everywhere") {
            if (field.value().get_bool().get(body.everywhere)) {
                return "everywhere must be true or false";
            }
            continue;
        } else {
            continue; // unknown fields are ignored, as in the WebSocket protocol
        }
        std::string_view value;
        if (field.value().get_string().get(value)) {
            return std::string(key) + " must be a string";
        }
        *target = std::string(value);
    }
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
        return "the body has more after its JSON object";
    }
    return {};
}

bool is_json(std::string_view content_type) {
    // "application/json", optionally with parameters ("; charset=utf-8"). Requiring it also
    // means a cross-site HTML form (which cannot send it) never reaches the API.
    const auto semicolon = content_type.find(';');
    std::string_view type = content_type.substr(0, semicolon);
    while (!type.empty() && type.back() == ' ') {
        type.remove_suffix(1);
    }
    std::string lower(type);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return lower == "application/json";
}

} // namespace

std::uint64_t token_tag(std::string_view token_hash) {
    std::uint64_t tag = 0;
    const std::string_view head = token_hash.substr(0, 16);
    std::from_chars(head.data(), head.data() + head.size(), tag, 16);
    return tag | 1; // never 0: 0 means "no token"
}

Authenticator::Authenticator(AuthenticatorOptions options, store::AccountStore* accounts)
    : options_(std::move(options)), accounts_(accounts), throttle_(options_.throttle) {
    if (options_.mode == auth_mode::password) {
        auto dummy = hash_password("not a password anyone has", options_.cost);
        if (!dummy) {
            throw std::runtime_error("cannot hash a password: out of memory");
        }
        dummy_hash_ = std::move(*dummy);
    }
    if (accounts_ != nullptr) {
        // Revocations from before this server started have no live session to close.
        auto counter = accounts_->change_counter();
        auto earlier = accounts_->revocations_after(0);
        if (!counter || !earlier) {
            throw std::runtime_error("cannot read the account store");
        }
        last_change_counter_ = *counter;
        for (const store::AccountRevocation& r : *earlier) {
            last_revocation_seq_ = std::max(last_revocation_seq_, r.seq);
        }
    }
}

bool Authenticator::is_api_path(std::string_view path) {
    return path == "/api/register" || path == "/api/login" || path == "/api/logout";
}

std::chrono::milliseconds Authenticator::throttled(std::string_view peer, std::string_view name,
                                                   time_point now) const {
    auto wait = throttle_.retry_after(ip_key(peer), now);
    if (!name.empty()) {
        wait = std::max(wait, throttle_.retry_after(name_key(name), now));
    }
    return wait;
}

std::optional<chat::LoginVerdict>
Authenticator::refusal_while_throttled(std::string_view peer, std::string_view name, time_point now) const {
    const auto wait = throttled(peer, name, now);
    if (wait.count() <= 0) {
        return std::nullopt;
    }
    spdlog::info("login from {} throttled for {} ms", peer, wait.count());
    chat::LoginVerdict v = refused("too many failed attempts");
    v.retry_after_ms = wait.count();
    return v;
}

void Authenticator::record_failure(std::string_view peer, std::string_view name, time_point now) {
    throttle_.record_failure(ip_key(peer), now);
    if (!name.empty()) {
        throttle_.record_failure(name_key(name), now);
    }
}

chat::LoginVerdict Authenticator::verify_login(const chat::LoginCredentials& c, std::int64_t now_ms,
                                               time_point now) {
    if (options_.mode == auth_mode::jwt) {
        if (c.token.empty()) {
            chat::LoginVerdict v =
                refused("this server takes a JWT: log in with {\"type\":\"login\",\"token\":…}");
            v.code = protocol::errc::auth_required;
            return v;
        }
        return check_jwt(c.token, c.user_id, c.peer_address, now_ms, now);
    }
    if (!c.token.empty()) {
        return check_session_token(c.token, c.user_id, c.peer_address, now_ms, now);
    }
    return check_password(c.user_id, c.password, c.peer_address, now);
}

chat::LoginVerdict Authenticator::check_password(std::string_view raw_name, std::string_view password,
                                                 std::string_view peer, time_point now) {
    const NameCheck name = normalize_user_name(raw_name);
    // A name that breaks the rules has no account: only the address is counted for it, so the
    // throttle's memory holds short valid names, never whatever (up to 64 KiB) a client sends.
    const std::string key_name = name.ok() ? name.name : std::string();
    if (auto wait = refusal_while_throttled(peer, key_name, now)) {
        return std::move(*wait);
    }
    std::optional<store::Account> account;
    if (name.ok()) {
        auto found = accounts_->find_account(name.name);
        if (!found) {
            return store_failure(found.error());
        }
        account = std::move(*found);
    }
    // Always one Argon2id verification, also for a name with no account (see dummy_hash_).
    const bool password_ok = verify_password(account ? account->password_hash : dummy_hash_, password);
    if (!account || !password_ok || account->disabled) {
        spdlog::info("login of '{}' from {} refused: {}", name.ok() ? name.name : "(invalid name)", peer,
                     !account ? "no such account" : (!password_ok ? "wrong password" : "account disabled"));
        record_failure(peer, key_name, now);
        return refused();
    }
    throttle_.record_success(name_key(name.name));
    return accepted(name.name);
}

boost::system::result<std::optional<Authenticator::LiveSession>>
Authenticator::live_session(std::string_view token, std::int64_t now_ms) {
    if (!looks_like_session_token(token)) {
        return std::optional<LiveSession>{};
    }
    std::string hash = hash_session_token(token);
    auto found = accounts_->find_session(hash, now_ms);
    if (!found) {
        return found.error();
    }
    if (!*found) {
        return std::optional<LiveSession>{};
    }
    return std::optional<LiveSession>{LiveSession{std::move(**found), std::move(hash)}};
}

chat::LoginVerdict Authenticator::check_session_token(std::string_view token, std::string_view claimed_user,
                                                      std::string_view peer, std::int64_t now_ms,
                                                      time_point now) {
    if (auto wait = refusal_while_throttled(peer, {}, now)) {
        return std::move(*wait);
    }
    auto found = live_session(token, now_ms);
    if (!found) {
        return store_failure(found.error());
    }
    const std::optional<LiveSession>& session = *found;
    // A user_id beside the token must name the token's user (case-folded like account names).
    const NameCheck claimed = normalize_user_name(claimed_user);
    if (!session || (!claimed_user.empty() && (!claimed.ok() || claimed.name != session->info.name))) {
        spdlog::info("token login from {} refused: {}", peer,
                     !session ? "unknown, expired or revoked token" : "user_id is not the token's user");
        record_failure(peer, {}, now);
        return refused();
    }
    return accepted(session->info.name, token_tag(session->hash));
}

chat::LoginVerdict Authenticator::check_jwt(std::string_view token, std::string_view claimed_user,
                                            std::string_view peer, std::int64_t now_ms, time_point now) {
    if (auto wait = refusal_while_throttled(peer, {}, now)) {
        return std::move(*wait);
    }
    auto claims = verify_jwt(token, options_.jwt_secret, now_ms / 1000);
    if (!claims) {
        spdlog::info("JWT login from {} refused: {}", peer, describe(claims.error()));
        record_failure(peer, {}, now);
        return refused(std::string("token refused: ") + std::string(describe(claims.error())));
    }
    // `sub` becomes the user id as is (it is the other application's id), within the protocol's rules.
    if (!protocol::check_user_id(claims->sub, protocol::Limits{}).empty() ||
        (!claimed_user.empty() && claimed_user != claims->sub)) {
        spdlog::info("JWT login from {} refused: sub unusable or not the user_id sent", peer);
        record_failure(peer, {}, now);
        return refused("token refused: its sub is not a usable user id, or not the user_id sent");
    }
    return accepted(std::move(claims->sub));
}

ApiReply Authenticator::issue_session(std::int64_t account_id, const std::string& name, std::int64_t now_ms,
                                      int status) {
    const IssuedToken issued = issue_session_token();
    const std::int64_t expires_ms = now_ms + options_.token_ttl.count();
    if (auto created = accounts_->create_session(account_id, issued.hash, now_ms, expires_ms); !created) {
        spdlog::error("account store: {}", created.error().message());
        return error_reply(503, "server_busy", "the server could not store the session; try again");
    }
    std::string body = R"({"user_id":)";
    protocol::append_json_string(body, name);
    body += R"(,"token":)";
    protocol::append_json_string(body, issued.token);
    body += R"(,"expires_at":)" + std::to_string(expires_ms) + "}";
    return ApiReply{status, std::move(body), {}};
}

Authenticator::ApiOutcome Authenticator::handle_api(const ApiRequest& request, std::int64_t now_ms,
                                                    time_point now) {
    if (!is_api_path(request.path)) {
        return {error_reply(404, "not_found", "no such API endpoint"), {}};
    }
    if (request.method != "POST") {
        return {error_reply(405, "method_not_allowed", "use POST", "Allow: POST\r\n"), {}};
    }
    if (options_.mode == auth_mode::jwt) {
        return {
            error_reply(404, "not_found",
                        "this server runs with --auth jwt: accounts and logins belong to your application"),
            {}};
    }
    if (!request.body.empty() && !is_json(request.content_type)) {
        return {error_reply(415, "unsupported_media_type", "send the body as Content-Type: application/json"),
                {}};
    }
    if (request.path == "/api/register") {
        return api_register(request, now_ms, now);
    }
    if (request.path == "/api/login") {
        return api_login(request, now_ms, now);
    }
    return api_logout(request, now_ms);
}

Authenticator::ApiOutcome Authenticator::api_register(const ApiRequest& request, std::int64_t now_ms,
                                                      time_point now) {
    if (!options_.registration_open) {
        return {error_reply(403, "registration_closed", "accounts are created by the administrator"), {}};
    }
    // Registrations per address count like failures: a few are free, then each waits longer.
    const std::string reg_key = "register:" + request.peer_address;
    if (const auto wait = throttle_.retry_after(reg_key, now); wait.count() > 0) {
        return {retry_later(wait), {}};
    }
    Body body;
    if (auto problem = parse_body(request.body, body); !problem.empty()) {
        return {error_reply(400, "bad_request", problem), {}};
    }
    if (!body.user_id || !body.password) {
        return {error_reply(400, "missing_field", "user_id and password are required"), {}};
    }
    const NameCheck name = normalize_user_name(*body.user_id);
    if (!name.ok()) {
        return {error_reply(400, "bad_user_id", name.error), {}};
    }
    if (auto weak = check_new_password(*body.password)) {
        return {error_reply(400, "weak_password", *weak), {}};
    }
    auto hash = hash_password(*body.password, options_.cost);
    if (!hash) {
        return {error_reply(503, "server_busy", "the server is out of memory; try again"), {}};
    }
    throttle_.record_failure(reg_key, now);
    auto account = accounts_->create_account(name.name, *hash, now_ms);
    if (!account) {
        if (account.error() == store::account_errc::name_taken) {
            return {error_reply(409, "name_taken", "an account with this name exists"), {}};
        }
        spdlog::error("account store: {}", account.error().message());
        return {error_reply(503, "server_busy", "the server could not store the account; try again"), {}};
    }
    spdlog::info("account '{}' registered from {}", name.name, request.peer_address);
    return {issue_session(account->id, account->name, now_ms, 201), {}};
}

Authenticator::ApiOutcome Authenticator::api_login(const ApiRequest& request, std::int64_t now_ms,
                                                   time_point now) {
    Body body;
    if (auto problem = parse_body(request.body, body); !problem.empty()) {
        return {error_reply(400, "bad_request", problem), {}};
    }
    if (!body.user_id || !body.password) {
        return {error_reply(400, "missing_field", "user_id and password are required"), {}};
    }
    chat::LoginVerdict verdict = check_password(*body.user_id, *body.password, request.peer_address, now);
    if (!verdict.ok) {
        if (verdict.retry_after_ms > 0) {
            return {retry_later(std::chrono::milliseconds(verdict.retry_after_ms)), {}};
        }
        if (verdict.code == protocol::errc::server_busy) {
            return {error_reply(503, "server_busy", verdict.message), {}};
        }
        return {error_reply(401, "auth_failed", verdict.message), {}};
    }
    auto account = accounts_->find_account(verdict.user_id);
    if (!account || !*account) {
        return {error_reply(503, "server_busy", "the server could not read the account; try again"), {}};
    }
    return {issue_session((*account)->id, verdict.user_id, now_ms, 200), {}};
}

Authenticator::ApiOutcome Authenticator::api_logout(const ApiRequest& request, std::int64_t now_ms) {
    Body body;
    if (auto problem = parse_body(request.body, body); !problem.empty()) {
        return {error_reply(400, "bad_request", problem), {}};
    }
    const std::string token = !request.bearer_token.empty() ? request.bearer_token : body.token.value_or("");
    auto found = live_session(token, now_ms);
    if (!found) {
        return {error_reply(503, "server_busy", "the server could not read the session; try again"), {}};
    }
    const std::optional<LiveSession>& session = *found;
    if (!session) {
        return {error_reply(401, "auth_failed", "unknown, expired or revoked token"), {}};
    }
    ApiOutcome outcome;
    if (body.everywhere) {
        auto revoked = accounts_->revoke_all_sessions(session->info.account_id);
        if (!revoked) {
            return {error_reply(503, "server_busy", "the server could not revoke the sessions; try again"),
                    {}};
        }
        outcome.reply = ApiReply{200, R"({"revoked":)" + std::to_string(*revoked) + "}", {}};
        outcome.revoked.push_back(Revocation{session->info.name, 0, "logged out everywhere"});
        spdlog::info("'{}' logged out everywhere ({} sessions)", session->info.name, *revoked);
    } else {
        if (auto revoked = accounts_->revoke_session(session->hash); !revoked) {
            return {error_reply(503, "server_busy", "the server could not revoke the session; try again"),
                    {}};
        }
        outcome.reply = ApiReply{200, R"({"revoked":1})", {}};
        outcome.revoked.push_back(Revocation{session->info.name, token_tag(session->hash), "logged out"});
    }
    return outcome;
}

std::vector<Revocation> Authenticator::poll_changes(std::int64_t now_ms) {
    std::vector<Revocation> out;
    if (accounts_ == nullptr) {
        return out;
    }
    auto counter = accounts_->change_counter();
    if (!counter || *counter == last_change_counter_) {
        return out;
    }
    last_change_counter_ = *counter;
    auto revocations = accounts_->revocations_after(last_revocation_seq_);
    if (!revocations) {
        spdlog::error("account store: {}", revocations.error().message());
        return out;
    }
    for (const store::AccountRevocation& r : *revocations) {
        last_revocation_seq_ = std::max(last_revocation_seq_, r.seq);
        out.push_back(Revocation{r.name, 0, r.disabled ? "account disabled" : "password changed"});
    }
    [[maybe_unused]] auto pruned = accounts_->prune_expired_sessions(now_ms);
    return out;
}

} // namespace parley::auth
