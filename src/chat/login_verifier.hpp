// How chat asks "who is this?" when the server does not trust the client's user_id (auth modes
// password and jwt). Checking a password takes tens of milliseconds of Argon2id by design, so it
// never runs on a shard: the verifier answers later, on the asking shard's thread. Implemented by
// net::AuthWorker; a fake in tests.
#pragma once

#include "protocol/errc.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace parley::chat {

struct LoginCredentials {
    std::string user_id; // may be empty with a token
    std::string password;
    std::string token;
    std::string peer_address; // the client's IP address, for per-address attempt limits
};

struct LoginVerdict {
    bool ok = false;
    // When ok: the user the session speaks for, in canonical form (account names are
    // case-folded, so "Alice" logs in as "alice").
    std::string user_id;
    // When ok and a session token was used: a tag of that token, so logging it out can close the
    // sessions that used it. 0 otherwise.
    std::uint64_t token_tag = 0;
    // When refused.
    protocol::errc code = protocol::errc::auth_failed;
    std::string message;
    std::int64_t retry_after_ms = 0; // > 0 when refused for too many failed attempts
};

class LoginVerifier {
public:
    virtual ~LoginVerifier() = default;
    // Checks the credentials and calls `done` exactly once, on the thread of the shard that
    // asked (`shard`), unless the server is shutting down (then it may never be called).
    virtual void verify(unsigned shard, LoginCredentials credentials,
                        std::function<void(LoginVerdict)> done) = 0;

protected:
    LoginVerifier() = default;
    LoginVerifier(const LoginVerifier&) = default;
    LoginVerifier& operator=(const LoginVerifier&) = default;
};

} // namespace parley::chat
