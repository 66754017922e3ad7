// Who is this? The decisions of `--auth password` and `--auth jwt`: logins over WebSocket, the
// HTTP API (register, login, logout), login throttling, and noticing accounts disabled from the
// admin CLI. Synchronous and single-threaded: its owner is the auth thread (net::AuthWorker),
// which hands it one request at a time. Time is passed in, so tests control it.
#pragma once

#include "auth/api_types.hpp"
#include "auth/login_throttle.hpp"
#include "auth/password_hash.hpp"
#include "chat/login_verifier.hpp"
#include "store/account_store.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::auth {

enum class auth_mode { password, jwt };

struct AuthenticatorOptions {
    auth_mode mode = auth_mode::password;
    std::string jwt_secret;                                           // jwt mode
    std::chrono::milliseconds token_ttl{std::chrono::hours(24 * 30)}; // password mode
    bool registration_open = true;
    LoginThrottle::Config throttle;
    PasswordCost cost; // the server always uses the default (OWASP); tests pass a cheaper one
};

// Live sessions to close: every session of `user` (token_tag 0) or those of one token.
struct Revocation {
    std::string user;
    std::uint64_t token_tag = 0;
    std::string reason;
};

// A short tag for a session token's hash: what a live session remembers of its token (8 bytes,
// not the hash) so that logging the token out can find it. Never 0.
std::uint64_t token_tag(std::string_view token_hash);

class Authenticator {
public:
    using time_point = std::chrono::steady_clock::time_point;

    // `accounts` may be null in jwt mode (accounts live in the other application).
    Authenticator(AuthenticatorOptions options, store::AccountStore* accounts);

    // A WebSocket login. now_ms: wall clock (token expiry); now: monotonic (throttle).
    chat::LoginVerdict verify_login(const chat::LoginCredentials& credentials, std::int64_t now_ms,
                                    time_point now);

    struct ApiOutcome {
        ApiReply reply;
        std::vector<Revocation> revoked; // sessions the server must close now
    };
    // POST /api/register, /api/login, /api/logout.
    ApiOutcome handle_api(const ApiRequest& request, std::int64_t now_ms, time_point now);
    static bool is_api_path(std::string_view path);

    // Looks for accounts whose password was changed or which were disabled by another process
    // (the admin CLI) since the last call, and drops expired sessions. Returns the users whose
    // live sessions must close (revocations from before construction are not reported).
    std::vector<Revocation> poll_changes(std::int64_t now_ms);

private:
    ApiOutcome api_register(const ApiRequest& request, std::int64_t now_ms, time_point now);
    ApiOutcome api_login(const ApiRequest& request, std::int64_t now_ms, time_point now);
    ApiOutcome api_logout(const ApiRequest& request, std::int64_t now_ms);
    // Checks a user name and password, with throttling; on success `user` is the account name.
    chat::LoginVerdict check_password(std::string_view raw_name, std::string_view password,
                                      std::string_view peer, time_point now);
    // The session a token stands for, with the token's hash; nullopt for a string that is not a
    // session token, or one unknown, expired, revoked or of a disabled account.
    struct LiveSession {
        store::SessionInfo info;
        std::string hash;
    };
    boost::system::result<std::optional<LiveSession>> live_session(std::string_view token,
                                                                   std::int64_t now_ms);
    chat::LoginVerdict check_session_token(std::string_view token, std::string_view claimed_user,
                                           std::string_view peer, std::int64_t now_ms, time_point now);
    chat::LoginVerdict check_jwt(std::string_view token, std::string_view claimed_user, std::string_view peer,
                                 std::int64_t now_ms, time_point now);
    // A new session token for `account_id`, as the API's JSON reply.
    ApiReply issue_session(std::int64_t account_id, const std::string& name, std::int64_t now_ms, int status);
    std::chrono::milliseconds throttled(std::string_view peer, std::string_view name, time_point now) const;
    // The refusal for a login that must wait (retry_after_ms set), or nullopt if it may be checked.
    std::optional<chat::LoginVerdict> refusal_while_throttled(std::string_view peer, std::string_view name,
                                                              time_point now) const;
    void record_failure(std::string_view peer, std::string_view name, time_point now);

    AuthenticatorOptions options_;
    store::AccountStore* accounts_;
    LoginThrottle throttle_;
    // Verified against when a name has no account, so a wrong name costs the same time as a
    // wrong password and timing does not tell which accounts exist.
    std::string dummy_hash_;
    std::int64_t last_change_counter_ = -1;
    std::int64_t last_revocation_seq_ = 0;
};

} // namespace parley::auth
