// JSON Web Tokens signed with HS256 (RFC 7519 on RFC 7515), for `--auth jwt`: another service
// that shares the secret vouches for who a client is. Only verification is on the login path;
// signing is for tests and the admin tool. Pure: the time is a parameter.
#pragma once

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace parley::auth {

// Why a token was refused. Each maps to one sentence from describe(); the client is told only
// that the login failed, the log gets the reason.
enum class jwt_error {
    malformed,       // not three base64url parts, padding or a foreign character, or over 8 KiB
    bad_header,      // header is not a JSON object, has a duplicate member, "typ" is not JWT, or "crit"
    unsupported_alg, // "alg" is missing or anything but "HS256" (including "none")
    bad_signature,   // the HMAC does not match the secret
    bad_claims,      // payload is not a JSON object, has a duplicate member, or a claim of the wrong type
    missing_sub,     // no "sub" claim
    missing_exp,     // no "exp" claim: Parley accepts no tokens that never expire
    expired,         // now >= exp
    not_yet_valid,   // now < nbf
};

std::string_view describe(jwt_error e);

// Boost.System's result<T, E>::value() throws through this; callers check has_value() first.
[[noreturn]] void throw_exception_from_error(jwt_error e, const boost::source_location& loc);

// Tokens longer than this are refused before any decoding: a login frame never needs more.
constexpr std::size_t max_jwt_bytes = 8 * 1024;

struct JwtClaims {
    std::string sub;      // who the token is for (not yet checked against the user-name rules)
    std::int64_t exp = 0; // Unix seconds; a fractional exp is rounded up
};

// Checks `token` against `secret` at time `now_unix_seconds` (RFC 7519 §7.2), in this order:
//  1. exactly three unpadded base64url parts, at most max_jwt_bytes in all;
//  2. the header is a JSON object whose "alg" is exactly "HS256"; "typ", if present, is "JWT" in
//     any case; a "crit" member is refused (we implement no extensions, RFC 7515 §4.1.11);
//  3. the signature is HMAC-SHA256 of "header.payload" under `secret`, compared in constant time,
//     before anything in the payload is trusted; an empty secret verifies nothing;
//  4. the payload is a JSON object; "sub" is a non-empty string; "exp" is a number (integer or
//     fraction) with now < exp; "nbf", if present, is a number with now >= nbf.
// There is no leeway for clock skew: the issuer should allow for it in the times it writes.
// Duplicate member names in header or payload are refused (RFC 7515 §4 allows that), so two
// parsers can never read different claims from one token. Other claims (iss, aud, iat, ...) are
// ignored: one secret is shared with one issuer. Any thread.
boost::system::result<JwtClaims, jwt_error> verify_jwt(std::string_view token, std::string_view secret,
                                                       std::int64_t now_unix_seconds);

// Signs `payload_json` as a compact JWT with HMAC-SHA256. The JSON texts are encoded as given,
// unchecked, so tests can also forge malformed tokens. For tests and the admin tool.
std::string sign_jwt_hs256(std::string_view payload_json, std::string_view secret,
                           std::string_view header_json = R"({"alg":"HS256","typ":"JWT"})");

} // namespace parley::auth
