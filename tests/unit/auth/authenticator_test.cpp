#include "auth/authenticator.hpp"

#include "auth/jwt.hpp"
#include "auth/session_token.hpp"
#include "store/account_store.hpp"
#include "store/sqlite_account_store.hpp"
// The store tests' temp dir: the poll tests need a real file that two store objects share.
#include "../store/temp_dir.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The Authenticator against the real SQLite account store, with time passed in: the HTTP API
// (register, login, logout), WebSocket logins by password, session token and JWT, throttling, and
// noticing what another process (the admin CLI) changed in accounts.db.

namespace parley::auth {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using time_point = Authenticator::time_point;

constexpr std::int64_t t0 = 1'700'000'000'000;    // wall clock, ms
const time_point start{std::chrono::hours(1000)}; // steady clock

// libsodium's minimum Argon2id cost (crypto_pwhash_argon2id_OPSLIMIT_MIN = 1,
// crypto_pwhash_argon2id_MEMLIMIT_MIN = 8192): a hash in well under a millisecond.
constexpr PasswordCost cheap_cost{.ops = 1, .mem_bytes = 8 * 1024};

constexpr std::string_view alice_password = "correct horse battery";
constexpr std::string_view jwt_secret = "a-shared-secret-of-at-least-32-bytes!";

LoginThrottle::Config test_throttle() {
    LoginThrottle::Config config;
    config.free_failures = 3;
    config.base_delay = 1s;
    config.max_delay = 60s;
    config.forget_after = 1h;
    return config;
}

AuthenticatorOptions password_options() {
    AuthenticatorOptions options;
    options.token_ttl = 1h;
    options.throttle = test_throttle();
    options.cost = cheap_cost;
    return options;
}

ApiRequest post(std::string path, std::string body, std::string peer = "192.0.2.1") {
    ApiRequest request;
    request.method = "POST";
    request.path = std::move(path);
    request.content_type = "application/json";
    request.body = std::move(body);
    request.peer_address = std::move(peer);
    return request;
}

std::string credentials_json(std::string_view user, std::string_view password) {
    json::object body;
    body["user_id"] = user;
    body["password"] = password;
    return json::serialize(body);
}

json::object body_of(const ApiReply& reply) {
    boost::system::error_code ec;
    json::value value = json::parse(reply.body, ec);
    if (ec || !value.is_object()) {
        ADD_FAILURE() << "reply body is not a JSON object: " << reply.body;
        return {};
    }
    return value.as_object();
}

std::string string_field(const json::object& object, std::string_view key) {
    const json::value* value = object.if_contains(key);
    if (value == nullptr || !value->is_string()) {
        ADD_FAILURE() << "no string field " << key << " in " << json::serialize(object);
        return {};
    }
    return std::string(value->as_string());
}

chat::LoginCredentials password_login(std::string user, std::string_view password,
                                      std::string peer = "192.0.2.1") {
    chat::LoginCredentials c;
    c.user_id = std::move(user);
    c.password = std::string(password);
    c.peer_address = std::move(peer);
    return c;
}

chat::LoginCredentials token_login(std::string token, std::string user = {}) {
    chat::LoginCredentials c;
    c.user_id = std::move(user);
    c.token = std::move(token);
    c.peer_address = "192.0.2.1";
    return c;
}

// An Authenticator in password mode on an in-memory accounts database. Tests may change
// `options` before the first call to auth().
class AuthenticatorTest : public ::testing::Test {
protected:
    Authenticator& auth() {
        if (!auth_) {
            auth_.emplace(options, accounts.get());
        }
        return *auth_;
    }

    Authenticator::ApiOutcome api(const ApiRequest& request, std::int64_t now_ms = t0,
                                  time_point now = start) {
        return auth().handle_api(request, now_ms, now);
    }

    // Registers `user` and returns its session token.
    std::string register_user(std::string_view user, std::string_view password = alice_password,
                              std::string peer = "192.0.2.1") {
        const auto outcome = api(post("/api/register", credentials_json(user, password), std::move(peer)));
        EXPECT_EQ(outcome.reply.status, 201) << outcome.reply.body;
        return string_field(body_of(outcome.reply), "token");
    }

    ApiReply login(std::string_view user, std::string_view password, std::string peer = "192.0.2.1",
                   time_point now = start) {
        return api(post("/api/login", credentials_json(user, password), std::move(peer)), t0, now).reply;
    }

    AuthenticatorOptions options = password_options();
    std::unique_ptr<store::AccountStore> accounts =
        store::open_sqlite_account_store(std::string(store::in_memory_accounts));

private:
    std::optional<Authenticator> auth_;
};

void expect_error(const ApiReply& reply, int status, std::string_view code) {
    EXPECT_EQ(reply.status, status) << reply.body;
    EXPECT_EQ(string_field(body_of(reply), "error"), code) << reply.body;
}

// --- the HTTP API: register ---------------------------------------------------------------------

TEST_F(AuthenticatorTest, RegisterCreatesTheAccountUnderItsFoldedNameAndIssuesAToken) {
    const auto outcome = api(post("/api/register", credentials_json("Alice", alice_password)));
    ASSERT_EQ(outcome.reply.status, 201) << outcome.reply.body;
    EXPECT_TRUE(outcome.revoked.empty());
    const auto body = body_of(outcome.reply);
    EXPECT_EQ(string_field(body, "user_id"), "alice");
    const std::string token = string_field(body, "token");
    EXPECT_TRUE(token.starts_with("pt_")) << token;
    EXPECT_TRUE(looks_like_session_token(token)) << token;
    ASSERT_TRUE(body.contains("expires_at") && body.at("expires_at").is_int64());
    EXPECT_EQ(body.at("expires_at").as_int64(), t0 + std::int64_t{3600} * 1000);

    auto account = accounts->find_account("alice");
    ASSERT_TRUE(account.has_value() && account->has_value());
    EXPECT_EQ((*account)->name, "alice");
}

TEST_F(AuthenticatorTest, RegisterATakenNameIs409) {
    register_user("alice");
    // Another case of the same name is the same account.
    expect_error(api(post("/api/register", credentials_json("ALICE", "another password"))).reply, 409,
                 "name_taken");
}

TEST_F(AuthenticatorTest, RegisterABadNameIs400BadUserId) {
    for (const std::string_view name :
         {"", " alice", "al ice", "-alice", "alice!", "ålice", "a-name-that-is-far-longer-than-32-chars"}) {
        expect_error(api(post("/api/register", credentials_json(name, alice_password))).reply, 400,
                     "bad_user_id");
    }
}

TEST_F(AuthenticatorTest, RegisterAWeakPasswordIs400) {
    expect_error(api(post("/api/register", credentials_json("alice", "short"))).reply, 400, "weak_password");
    expect_error(api(post("/api/register", credentials_json("alice", std::string("with\0nul!", 9)))).reply,
                 400, "weak_password");
    EXPECT_FALSE(accounts->find_account("alice")->has_value());
}

TEST_F(AuthenticatorTest, RegisterWhenRegistrationIsClosedIs403) {
    options.registration_open = false;
    expect_error(api(post("/api/register", credentials_json("alice", alice_password))).reply, 403,
                 "registration_closed");
}

TEST_F(AuthenticatorTest, RegistrationsPerAddressAreThrottled) {
    const std::string peer = "198.51.100.7";
    for (const std::string_view name : {"user1", "user2", "user3"}) {
        register_user(name, alice_password, peer); // free_failures = 3 are free
    }
    const auto throttled = api(post("/api/register", credentials_json("user4", alice_password), peer));
    expect_error(throttled.reply, 429, "rate_limited");
    EXPECT_EQ(throttled.reply.extra_headers, "Retry-After: 1\r\n");
    EXPECT_FALSE(accounts->find_account("user4")->has_value());

    // Another address is not held back, and this one may go on once the wait is over.
    register_user("user5", alice_password, "198.51.100.8");
    EXPECT_EQ(api(post("/api/register", credentials_json("user4", alice_password), peer), t0, start + 1s)
                  .reply.status,
              201);
}

// --- the HTTP API: requests it refuses before reading them ---------------------------------------

TEST_F(AuthenticatorTest, ABodyThatIsNotDeclaredJsonIs415) {
    auto request = post("/api/register", credentials_json("alice", alice_password));
    request.content_type = "application/x-www-form-urlencoded";
    expect_error(api(request).reply, 415, "unsupported_media_type");
    request.content_type = "text/plain";
    expect_error(api(request).reply, 415, "unsupported_media_type");
    // Parameters and case are allowed.
    request.content_type = "Application/JSON; charset=utf-8";
    EXPECT_EQ(api(request).reply.status, 201);
}

TEST_F(AuthenticatorTest, GetIs405WithAllow) {
    auto request = post("/api/login", "");
    request.method = "GET";
    const auto reply = api(request).reply;
    expect_error(reply, 405, "method_not_allowed");
    EXPECT_EQ(reply.extra_headers, "Allow: POST\r\n");
}

TEST_F(AuthenticatorTest, AnUnknownApiPathIs404) {
    EXPECT_FALSE(Authenticator::is_api_path("/api/whoami"));
    expect_error(api(post("/api/whoami", "{}")).reply, 404, "not_found");
    expect_error(api(post("/api/login/", "{}")).reply, 404, "not_found");
}

TEST_F(AuthenticatorTest, ABodyThatIsNotAJsonObjectIs400) {
    for (const std::string_view body : {"not json", "[1,2]", "\"alice\"", R"({"user_id":"alice")",
                                        R"({"user_id":"alice","password":"correct horse"} {})"}) {
        expect_error(api(post("/api/login", std::string(body))).reply, 400, "bad_request");
    }
}

TEST_F(AuthenticatorTest, FieldsOfTheWrongTypeAre400) {
    expect_error(api(post("/api/login", R"({"user_id":5,"password":"correct horse"})")).reply, 400,
                 "bad_request");
    expect_error(api(post("/api/register", R"({"user_id":"alice","password":["x"]})")).reply, 400,
                 "bad_request");
    expect_error(api(post("/api/logout", R"({"token":"pt_x","everywhere":"yes"})")).reply, 400,
                 "bad_request");
    expect_error(api(post("/api/login", R"({"user_id":"alice"})")).reply, 400, "missing_field");
}

// --- the HTTP API: login -------------------------------------------------------------------------

TEST_F(AuthenticatorTest, LoginWithTheRightPasswordIssuesANewToken) {
    const std::string registered = register_user("alice");
    const auto reply = login("ALICE", alice_password);
    ASSERT_EQ(reply.status, 200) << reply.body;
    const auto body = body_of(reply);
    EXPECT_EQ(string_field(body, "user_id"), "alice");
    const std::string token = string_field(body, "token");
    EXPECT_TRUE(looks_like_session_token(token));
    EXPECT_NE(token, registered);
    EXPECT_TRUE(auth().verify_login(token_login(token), t0, start).ok);
}

TEST_F(AuthenticatorTest, LoginWithAWrongPasswordIs401AuthFailed) {
    register_user("alice");
    expect_error(login("alice", "not the password"), 401, "auth_failed");
}

// No account enumeration: an unknown name gets exactly the reply a wrong password gets.
TEST_F(AuthenticatorTest, LoginOfAnUnknownUserSaysWhatAWrongPasswordSays) {
    register_user("alice");
    const auto wrong_password = login("alice", "not the password", "192.0.2.10");
    const auto unknown_user = login("mallory", "not the password", "192.0.2.11");
    const auto invalid_name = login("not a name!", "not the password", "192.0.2.12");
    expect_error(unknown_user, 401, "auth_failed");
    EXPECT_EQ(unknown_user.body, wrong_password.body);
    EXPECT_EQ(invalid_name.body, wrong_password.body);
    EXPECT_EQ(unknown_user.extra_headers, wrong_password.extra_headers);
}

// --- throttling -----------------------------------------------------------------------------------

// Failures for one name from many addresses: the name's own count holds, and it also holds back
// the right password until the wait is over.
TEST_F(AuthenticatorTest, FailuresForANameThrottleThatNameEvenWithTheRightPassword) {
    register_user("alice");
    for (int i = 0; i < 3; ++i) {
        expect_error(login("alice", "guess", "203.0.113." + std::to_string(i)), 401, "auth_failed");
    }
    const auto throttled = login("Alice", alice_password, "203.0.113.100", start + 1ms);
    expect_error(throttled, 429, "rate_limited");
    EXPECT_EQ(throttled.extra_headers, "Retry-After: 1\r\n");

    // Over WebSocket too, with the wait in the verdict.
    const auto verdict =
        auth().verify_login(password_login("alice", alice_password, "203.0.113.101"), t0, start + 1ms);
    EXPECT_FALSE(verdict.ok);
    EXPECT_EQ(verdict.retry_after_ms, 999);

    // Other names are not held back.
    register_user("bob", alice_password, "192.0.2.50");
    EXPECT_EQ(login("bob", alice_password, "203.0.113.100", start + 1ms).status, 200);

    EXPECT_EQ(login("alice", alice_password, "203.0.113.100", start + 1s).status, 200);
}

// A name that breaks the account rules has no account, so its failures count only against the
// address: the throttle keeps no key for whatever (up to 64 KiB) a client typed as a name, and
// such a "name" tried from other addresses is not held back by it.
TEST_F(AuthenticatorTest, InvalidNamesCountOnlyAgainstTheAddress) {
    const std::string junk(4000, '!');
    for (int i = 0; i < 3; ++i) {
        expect_error(login(junk, "guess", "203.0.113." + std::to_string(i)), 401, "auth_failed");
    }
    expect_error(login(junk, "guess", "203.0.113.200", start + 1ms), 401, "auth_failed");
}

// Failures from one address for different names: the address's count holds.
TEST_F(AuthenticatorTest, FailuresFromAnAddressThrottleThatAddress) {
    register_user("alice");
    const std::string attacker = "203.0.113.9";
    for (const std::string_view name : {"bob", "carol", "dave"}) {
        expect_error(login(name, "guess", attacker), 401, "auth_failed");
    }
    const auto throttled = login("alice", alice_password, attacker);
    expect_error(throttled, 429, "rate_limited");
    EXPECT_EQ(throttled.extra_headers, "Retry-After: 1\r\n");
    EXPECT_EQ(login("alice", alice_password, "203.0.113.10").status, 200);
    EXPECT_EQ(login("alice", alice_password, attacker, start + 1s).status, 200);
}

TEST_F(AuthenticatorTest, TheWaitDoublesWithEachFurtherFailure) {
    register_user("alice");
    time_point now = start;
    for (int i = 0; i < 3; ++i) {
        login("alice", "guess", "203.0.113.1", now);
    }
    now += 1s; // the first wait is over; one more failure doubles it
    expect_error(login("alice", "guess", "203.0.113.1", now), 401, "auth_failed");
    const auto throttled = login("alice", alice_password, "203.0.113.1", now);
    EXPECT_EQ(throttled.extra_headers, "Retry-After: 2\r\n");
}

TEST_F(AuthenticatorTest, ASuccessfulLoginStartsTheNamesCountAfresh) {
    register_user("alice");
    login("alice", "guess", "203.0.113.1");
    login("alice", "guess", "203.0.113.2");
    ASSERT_EQ(login("alice", alice_password, "203.0.113.3").status, 200);
    login("alice", "guess", "203.0.113.4");
    login("alice", "guess", "203.0.113.5");
    // Four failures in all, but only two since the success: not held back.
    EXPECT_EQ(login("alice", alice_password, "203.0.113.6").status, 200);
}

TEST_F(AuthenticatorTest, BadTokensFromAnAddressThrottleThatAddress) {
    const std::string token = register_user("alice");
    for (int i = 0; i < 3; ++i) {
        EXPECT_FALSE(auth().verify_login(token_login(issue_session_token().token), t0, start).ok);
    }
    const auto verdict = auth().verify_login(token_login(token), t0, start);
    EXPECT_FALSE(verdict.ok);
    EXPECT_EQ(verdict.retry_after_ms, 1000);
    EXPECT_TRUE(auth().verify_login(token_login(token), t0, start + 1s).ok);
}

// --- WebSocket logins with a password ------------------------------------------------------------

TEST_F(AuthenticatorTest, PasswordLoginGivesTheCanonicalName) {
    register_user("alice");
    const auto verdict = auth().verify_login(password_login("ALICE", alice_password), t0, start);
    ASSERT_TRUE(verdict.ok) << verdict.message;
    EXPECT_EQ(verdict.user_id, "alice");
    EXPECT_EQ(verdict.token_tag, 0u);
}

TEST_F(AuthenticatorTest, PasswordLoginWithAWrongPasswordIsRefused) {
    register_user("alice");
    const auto verdict = auth().verify_login(password_login("alice", "not the password"), t0, start);
    EXPECT_FALSE(verdict.ok);
    EXPECT_EQ(verdict.code, protocol::errc::auth_failed);
    EXPECT_EQ(verdict.retry_after_ms, 0);
    const auto unknown = auth().verify_login(password_login("mallory", "not the password"), t0, start);
    EXPECT_FALSE(unknown.ok);
    EXPECT_EQ(unknown.message, verdict.message);
}

TEST_F(AuthenticatorTest, PasswordLoginToADisabledAccountIsRefused) {
    register_user("alice");
    const auto wrong = auth().verify_login(password_login("alice", "not the password"), t0, start);
    ASSERT_TRUE(accounts->set_disabled("alice", true).has_value());
    const auto verdict = auth().verify_login(password_login("alice", alice_password), t0, start);
    EXPECT_FALSE(verdict.ok);
    EXPECT_EQ(verdict.code, protocol::errc::auth_failed);
    EXPECT_EQ(verdict.message, wrong.message);
    expect_error(login("alice", alice_password, "192.0.2.99"), 401, "auth_failed");
}

// --- WebSocket logins with a session token -------------------------------------------------------

TEST_F(AuthenticatorTest, TokenLoginGivesTheUserAndTheTokensTag) {
    const std::string token = register_user("Alice");
    const auto verdict = auth().verify_login(token_login(token), t0 + 1, start);
    ASSERT_TRUE(verdict.ok) << verdict.message;
    EXPECT_EQ(verdict.user_id, "alice");
    EXPECT_NE(verdict.token_tag, 0u);
    EXPECT_EQ(verdict.token_tag, token_tag(hash_session_token(token)));
}

TEST_F(AuthenticatorTest, TokenLoginWithTheTokensOwnUserIdInAnyCaseIsAccepted) {
    const std::string token = register_user("alice");
    const auto verdict = auth().verify_login(token_login(token, "ALICE"), t0, start);
    ASSERT_TRUE(verdict.ok) << verdict.message;
    EXPECT_EQ(verdict.user_id, "alice");
}

TEST_F(AuthenticatorTest, AnExpiredTokenIsRefused) {
    const std::string token = register_user("alice");
    const std::int64_t expires_at = t0 + std::int64_t{3600} * 1000;
    EXPECT_TRUE(auth().verify_login(token_login(token), expires_at - 1, start).ok);
    const auto verdict = auth().verify_login(token_login(token), expires_at, start);
    EXPECT_FALSE(verdict.ok);
    EXPECT_EQ(verdict.code, protocol::errc::auth_failed);
}

TEST_F(AuthenticatorTest, ATokenNamingSomeoneElseIsRefused) {
    const std::string alice_token = register_user("alice");
    register_user("bob", alice_password, "192.0.2.2");
    for (const std::string claimed : {"bob", "nobody", "not a name!"}) {
        const auto verdict = auth().verify_login(token_login(alice_token, claimed), t0, start);
        EXPECT_FALSE(verdict.ok) << claimed;
        EXPECT_EQ(verdict.code, protocol::errc::auth_failed);
    }
}

TEST_F(AuthenticatorTest, ATokenOfTheWrongShapeOrUnknownIsRefused) {
    register_user("alice");
    for (const std::string& token :
         {std::string("pt_x"), std::string("not a token"), issue_session_token().token}) {
        EXPECT_FALSE(auth().verify_login(token_login(token), t0, start).ok) << token;
    }
}

// --- logout ---------------------------------------------------------------------------------------

TEST_F(AuthenticatorTest, LogoutWithABearerTokenRevokesThatSessionOnly) {
    const std::string first = register_user("alice");
    const std::string second = string_field(body_of(login("alice", alice_password)), "token");

    auto request = post("/api/logout", "");
    request.content_type.clear();
    request.bearer_token = first;
    const auto outcome = api(request);
    ASSERT_EQ(outcome.reply.status, 200) << outcome.reply.body;
    ASSERT_EQ(outcome.revoked.size(), 1u);
    EXPECT_EQ(outcome.revoked[0].user, "alice");
    EXPECT_EQ(outcome.revoked[0].token_tag, token_tag(hash_session_token(first)));
    EXPECT_NE(outcome.revoked[0].token_tag, 0u);

    EXPECT_FALSE(auth().verify_login(token_login(first), t0, start).ok);
    EXPECT_TRUE(auth().verify_login(token_login(second), t0, start).ok);
    // Once revoked, the token logs out nothing more.
    expect_error(api(request).reply, 401, "auth_failed");
}

TEST_F(AuthenticatorTest, LogoutWithTheTokenInTheBody) {
    const std::string token = register_user("alice");
    json::object body;
    body["token"] = token;
    const auto outcome = api(post("/api/logout", json::serialize(body)));
    ASSERT_EQ(outcome.reply.status, 200) << outcome.reply.body;
    ASSERT_EQ(outcome.revoked.size(), 1u);
    EXPECT_EQ(outcome.revoked[0].user, "alice");
    EXPECT_EQ(outcome.revoked[0].token_tag, token_tag(hash_session_token(token)));
    EXPECT_FALSE(auth().verify_login(token_login(token), t0, start).ok);
}

TEST_F(AuthenticatorTest, LogoutEverywhereRevokesEverySessionOfTheAccount) {
    const std::string first = register_user("alice");
    const std::string second = string_field(body_of(login("alice", alice_password)), "token");
    const std::string bobs = register_user("bob", alice_password, "192.0.2.2");

    auto request = post("/api/logout", R"({"everywhere":true})");
    request.bearer_token = first;
    const auto outcome = api(request);
    ASSERT_EQ(outcome.reply.status, 200) << outcome.reply.body;
    const auto reply = body_of(outcome.reply);
    ASSERT_TRUE(reply.contains("revoked") && reply.at("revoked").is_int64());
    EXPECT_EQ(reply.at("revoked").as_int64(), 2);
    ASSERT_EQ(outcome.revoked.size(), 1u);
    EXPECT_EQ(outcome.revoked[0].user, "alice");
    EXPECT_EQ(outcome.revoked[0].token_tag, 0u);

    EXPECT_FALSE(auth().verify_login(token_login(first), t0, start).ok);
    EXPECT_FALSE(auth().verify_login(token_login(second), t0, start).ok);
    EXPECT_TRUE(auth().verify_login(token_login(bobs), t0, start).ok);
}

TEST_F(AuthenticatorTest, LogoutWithoutAValidTokenIs401) {
    expect_error(api(post("/api/logout", "")).reply, 401, "auth_failed");
    expect_error(api(post("/api/logout", R"({"token":"pt_nonsense"})")).reply, 401, "auth_failed");
    expect_error(api(post("/api/logout", R"({"token":")" + issue_session_token().token + "\"}")).reply, 401,
                 "auth_failed");
}

// --- changes made by another process (the admin CLI) ---------------------------------------------

// Two store objects on one accounts.db: the server's (the Authenticator's) and the CLI's.
class AuthenticatorWithCliTest : public AuthenticatorTest {
protected:
    void SetUp() override {
        const std::string file = (dir_.path() / store::accounts_db_file).string();
        accounts = store::open_sqlite_account_store(file);
        cli = store::open_sqlite_account_store(file);
    }
    store::testing_support::TempDir dir_;
    std::unique_ptr<store::AccountStore> cli;
};

TEST_F(AuthenticatorWithCliTest, AnAccountDisabledElsewhereIsReportedOnce) {
    const std::string token = register_user("alice");
    register_user("bob", alice_password, "192.0.2.2");
    EXPECT_TRUE(auth().poll_changes(t0).empty());

    ASSERT_TRUE(cli->set_disabled("alice", true).has_value());
    const auto revoked = auth().poll_changes(t0);
    ASSERT_EQ(revoked.size(), 1u);
    EXPECT_EQ(revoked[0].user, "alice");
    EXPECT_EQ(revoked[0].token_tag, 0u);
    EXPECT_TRUE(auth().poll_changes(t0).empty());
    EXPECT_FALSE(auth().verify_login(token_login(token), t0, start).ok);

    // Another change that disables no one new reports nothing.
    ASSERT_TRUE(cli->create_account("carol", "$argon2id$x", t0).has_value());
    EXPECT_TRUE(auth().poll_changes(t0).empty());
}

TEST_F(AuthenticatorWithCliTest, AnAccountEnabledAndDisabledAgainIsReportedAgain) {
    register_user("alice");
    auth().poll_changes(t0);
    ASSERT_TRUE(cli->set_disabled("alice", true).has_value());
    EXPECT_EQ(auth().poll_changes(t0).size(), 1u);
    ASSERT_TRUE(cli->set_disabled("alice", false).has_value());
    EXPECT_TRUE(auth().poll_changes(t0).empty());
    ASSERT_TRUE(cli->set_disabled("alice", true).has_value());
    const auto revoked = auth().poll_changes(t0);
    ASSERT_EQ(revoked.size(), 1u);
    EXPECT_EQ(revoked[0].user, "alice");
}

TEST_F(AuthenticatorWithCliTest, APasswordChangedElsewhereEndsTheUsersTokens) {
    const std::string alice_token = register_user("alice");
    const std::string bob_token = register_user("bob", alice_password, "192.0.2.2");
    ASSERT_TRUE(auth().verify_login(token_login(alice_token), t0, start).ok);

    auto new_hash = hash_password("a brand new password", cheap_cost);
    ASSERT_TRUE(new_hash.has_value());
    ASSERT_TRUE(cli->set_password("alice", *new_hash).has_value());

    EXPECT_FALSE(auth().verify_login(token_login(alice_token), t0, start).ok);
    EXPECT_TRUE(auth().verify_login(token_login(bob_token), t0, start).ok);
    EXPECT_FALSE(auth().verify_login(password_login("alice", alice_password), t0, start).ok);
    EXPECT_TRUE(
        auth().verify_login(password_login("alice", "a brand new password", "192.0.2.3"), t0, start).ok);
}

// --- jwt mode -------------------------------------------------------------------------------------

class JwtAuthenticatorTest : public ::testing::Test {
protected:
    JwtAuthenticatorTest() : auth_(jwt_options(), nullptr) {}

    static AuthenticatorOptions jwt_options() {
        AuthenticatorOptions options;
        options.mode = auth_mode::jwt;
        options.jwt_secret = std::string(jwt_secret);
        options.throttle = test_throttle();
        // Many refusals from one address in a row here: keep throttling out of the way.
        options.throttle.free_failures = 1000;
        return options;
    }

    chat::LoginVerdict verify(std::string token, std::string user = {}) {
        return auth_.verify_login(token_login(std::move(token), std::move(user)), t0, start);
    }

    static std::string sign(std::string_view payload) { return sign_jwt_hs256(payload, jwt_secret); }

    // A payload for `sub` that expires a minute after t0.
    static std::string payload_for(std::string_view sub) {
        json::object payload;
        payload["sub"] = sub;
        payload["exp"] = t0 / 1000 + 60;
        return json::serialize(payload);
    }

    void expect_refused(std::string token, std::string user = {}) {
        const auto verdict = verify(token, std::move(user));
        EXPECT_FALSE(verdict.ok) << token;
        EXPECT_EQ(verdict.code, protocol::errc::auth_failed) << token;
    }

    Authenticator auth_;
};

TEST_F(JwtAuthenticatorTest, AValidTokenLogsInAsItsSub) {
    const auto verdict = verify(sign(payload_for("User-42")));
    ASSERT_TRUE(verdict.ok) << verdict.message;
    // sub is the other application's id, taken as it is: not case-folded.
    EXPECT_EQ(verdict.user_id, "User-42");
    EXPECT_EQ(verdict.token_tag, 0u);
    EXPECT_TRUE(verify(sign(payload_for("User-42")), "User-42").ok);
}

TEST_F(JwtAuthenticatorTest, ABadSignatureIsRefused) {
    expect_refused(sign_jwt_hs256(payload_for("alice"), "another-secret-of-at-least-32-bytes!!"));
    // One character inside the signature changed (not the last, whose spare bits would make the
    // token malformed rather than wrongly signed).
    std::string token = sign(payload_for("alice"));
    char& inside = token[token.size() - 10];
    inside = inside == 'A' ? 'B' : 'A';
    expect_refused(token);
}

TEST_F(JwtAuthenticatorTest, AlgNoneIsRefused) {
    std::string token = sign_jwt_hs256(payload_for("alice"), jwt_secret, R"({"alg":"none","typ":"JWT"})");
    expect_refused(token);
    // The classic form: no signature at all.
    token.erase(token.rfind('.') + 1);
    expect_refused(token);
}

TEST_F(JwtAuthenticatorTest, AnExpiredTokenIsRefused) {
    const std::int64_t now_s = t0 / 1000;
    expect_refused(sign(R"({"sub":"alice","exp":)" + std::to_string(now_s) + "}"));
    expect_refused(sign(R"({"sub":"alice","exp":)" + std::to_string(now_s - 3600) + "}"));
}

TEST_F(JwtAuthenticatorTest, ATokenWithoutExpIsRefused) {
    expect_refused(sign(R"({"sub":"alice"})"));
}

TEST_F(JwtAuthenticatorTest, ASubThatIsNoUsableUserIdIsRefused) {
    expect_refused(sign(payload_for("ali\nce")));
    expect_refused(sign(payload_for(std::string("ali\x01", 4))));
    expect_refused(sign(payload_for("ali\x7f")));
    expect_refused(sign(payload_for(std::string(65, 'a'))));
    EXPECT_TRUE(verify(sign(payload_for(std::string(64, 'a')))).ok);
}

TEST_F(JwtAuthenticatorTest, AUserIdBesideTheTokenMustBeItsSub) {
    expect_refused(sign(payload_for("alice")), "bob");
    // Compared exactly: sub is not an account name here, so no case folding.
    expect_refused(sign(payload_for("alice")), "Alice");
}

TEST_F(JwtAuthenticatorTest, APasswordLoginIsAuthRequired) {
    const auto verdict = auth_.verify_login(password_login("alice", alice_password), t0, start);
    EXPECT_FALSE(verdict.ok);
    EXPECT_EQ(verdict.code, protocol::errc::auth_required);
}

TEST_F(JwtAuthenticatorTest, TheApiIs404) {
    for (const char* path : {"/api/register", "/api/login", "/api/logout"}) {
        const auto outcome =
            auth_.handle_api(post(path, credentials_json("alice", alice_password)), t0, start);
        expect_error(outcome.reply, 404, "not_found");
    }
}

TEST_F(JwtAuthenticatorTest, PollingWithoutAnAccountStoreReportsNothing) {
    EXPECT_TRUE(auth_.poll_changes(t0).empty());
}

} // namespace
} // namespace parley::auth
