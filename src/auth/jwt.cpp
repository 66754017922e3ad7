// HS256 JWT verification: base64url and HMAC-SHA256 from libsodium, JSON from simdjson's DOM.
// The order of checks is the security argument: shape, header, signature, and only then claims.
#include "auth/jwt.hpp"

#include "auth/base64url.hpp"
#include "auth/sodium.hpp"

#include <boost/throw_exception.hpp>
#include <simdjson.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <vector>

namespace parley::auth {

namespace {

namespace dom = simdjson::dom;

using Mac = std::array<unsigned char, crypto_auth_hmacsha256_BYTES>;

// The three dot-separated parts of a compact JWS (RFC 7515 §7.1), still encoded.
struct EncodedParts {
    std::string_view header;
    std::string_view payload;
    std::string_view signature;
    std::string_view signing_input; // "header.payload", what the MAC covers
};

std::optional<EncodedParts> split_compact(std::string_view token) {
    const auto first_dot = token.find('.');
    if (first_dot == std::string_view::npos) {
        return std::nullopt;
    }
    const auto second_dot = token.find('.', first_dot + 1);
    if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos) {
        return std::nullopt;
    }
    return EncodedParts{
        .header = token.substr(0, first_dot),
        .payload = token.substr(first_dot + 1, second_dot - first_dot - 1),
        .signature = token.substr(second_dot + 1),
        .signing_input = token.substr(0, second_dot),
    };
}

Mac hmac_sha256(std::string_view key, std::string_view message) {
    // The init/update/final form takes a key of any length (longer ones are hashed first, as
    // RFC 2104 says); crypto_auth_hmacsha256() itself insists on a 32-byte key.
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size());
    Mac mac{};
    crypto_auth_hmacsha256_final(&state, mac.data());
    sodium_memzero(&state, sizeof state);
    return mac;
}

// Parses `json` as an object, refusing duplicate member names. The element borrows `parser`'s
// buffers: it is valid until the parser's next parse.
std::optional<dom::object> parse_object(dom::parser& parser, const std::string& json) {
    dom::object object;
    if (parser.parse(json).get_object().get(object) != simdjson::SUCCESS) {
        return std::nullopt;
    }
    std::vector<std::string_view> keys;
    for (const dom::key_value_pair member : object) {
        keys.push_back(member.key);
    }
    std::sort(keys.begin(), keys.end());
    if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
        return std::nullopt;
    }
    return object;
}

bool equals_ignoring_ascii_case(std::string_view a, std::string_view b) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

// A NumericDate (RFC 7519 §2) as whole seconds. A fraction rounds up, which keeps `now < exp`
// and `now >= nbf` exact for integer `now`; values beyond int64 saturate. nullopt if not a number.
std::optional<std::int64_t> numeric_date(dom::element value) {
    constexpr auto max = std::numeric_limits<std::int64_t>::max();
    constexpr auto min = std::numeric_limits<std::int64_t>::min();
    switch (value.type()) {
    case dom::element_type::INT64:
        return value.get_int64().value_unsafe();
    case dom::element_type::UINT64: // only used for integers above INT64_MAX
        return max;
    case dom::element_type::DOUBLE: {
        const double seconds = std::ceil(value.get_double().value_unsafe());
        // 2^63 is exact as a double; every double below it and >= -2^63 fits in an int64.
        constexpr double two_to_63 = 9223372036854775808.0;
        if (seconds >= two_to_63) {
            return max;
        }
        if (seconds < -two_to_63) {
            return min;
        }
        return static_cast<std::int64_t>(seconds);
    }
    default:
        return std::nullopt;
    }
}

// Step 2 of verify_jwt: what the header must say.
std::optional<jwt_error> check_header(dom::parser& parser, const std::string& header_json) {
    const auto header = parse_object(parser, header_json);
    if (!header) {
        return jwt_error::bad_header;
    }
    std::string_view alg;
    if (header->at_key("alg").get_string().get(alg) != simdjson::SUCCESS || alg != "HS256") {
        return jwt_error::unsupported_alg;
    }
    dom::element typ;
    if (header->at_key("typ").get(typ) == simdjson::SUCCESS) {
        // RFC 7515 §4.1.9 recommends comparing "typ" case-insensitively.
        std::string_view typ_text;
        if (typ.get_string().get(typ_text) != simdjson::SUCCESS ||
            !equals_ignoring_ascii_case(typ_text, "JWT")) {
            return jwt_error::bad_header;
        }
    }
    dom::element crit;
    if (header->at_key("crit").get(crit) == simdjson::SUCCESS) {
        return jwt_error::bad_header;
    }
    return std::nullopt;
}

// Step 4 of verify_jwt, once the signature has vouched for the payload.
boost::system::result<JwtClaims, jwt_error> read_claims(dom::parser& parser, const std::string& payload_json,
                                                        std::int64_t now) {
    const auto payload = parse_object(parser, payload_json);
    if (!payload) {
        return jwt_error::bad_claims;
    }
    JwtClaims claims;

    dom::element sub;
    if (payload->at_key("sub").get(sub) != simdjson::SUCCESS) {
        return jwt_error::missing_sub;
    }
    std::string_view sub_text;
    if (sub.get_string().get(sub_text) != simdjson::SUCCESS || sub_text.empty()) {
        return jwt_error::bad_claims;
    }
    claims.sub = std::string(sub_text);

    dom::element exp;
    if (payload->at_key("exp").get(exp) != simdjson::SUCCESS) {
        return jwt_error::missing_exp;
    }
    const auto exp_seconds = numeric_date(exp);
    if (!exp_seconds) {
        return jwt_error::bad_claims;
    }
    claims.exp = *exp_seconds;

    std::optional<std::int64_t> nbf_seconds;
    dom::element nbf;
    if (payload->at_key("nbf").get(nbf) == simdjson::SUCCESS) {
        nbf_seconds = numeric_date(nbf);
        if (!nbf_seconds) {
            return jwt_error::bad_claims;
        }
    }

    if (!(now < claims.exp)) {
        return jwt_error::expired;
    }
    if (nbf_seconds && now < *nbf_seconds) {
        return jwt_error::not_yet_valid;
    }
    return claims;
}

} // namespace

std::string_view describe(jwt_error e) {
    switch (e) {
    case jwt_error::malformed:
        return "the token is not three base64url parts of at most 8 KiB";
    case jwt_error::bad_header:
        return "the token's header is not a JSON object with typ JWT and no crit";
    case jwt_error::unsupported_alg:
        return "the token's alg is not HS256";
    case jwt_error::bad_signature:
        return "the token's signature does not match the secret";
    case jwt_error::bad_claims:
        return "the token's payload is not a JSON object with claims of the right types";
    case jwt_error::missing_sub:
        return "the token has no sub claim";
    case jwt_error::missing_exp:
        return "the token has no exp claim";
    case jwt_error::expired:
        return "the token has expired";
    case jwt_error::not_yet_valid:
        return "the token is not valid yet (nbf is in the future)";
    }
    return "unknown JWT error";
}

void throw_exception_from_error(jwt_error e, const boost::source_location& loc) {
    boost::throw_with_location(std::invalid_argument("JWT refused: " + std::string(describe(e))), loc);
}

boost::system::result<JwtClaims, jwt_error> verify_jwt(std::string_view token, std::string_view secret,
                                                       std::int64_t now_unix_seconds) {
    if (token.size() > max_jwt_bytes) {
        return jwt_error::malformed;
    }
    const auto parts = split_compact(token);
    if (!parts) {
        return jwt_error::malformed;
    }
    auto header_json = detail::base64url_decode(parts->header);
    auto payload_json = detail::base64url_decode(parts->payload);
    const auto signature = detail::base64url_decode(parts->signature);
    if (!header_json || !payload_json || !signature) {
        return jwt_error::malformed;
    }

    // simdjson wants SIMDJSON_PADDING readable bytes past the end; growing the capacity (not the
    // size) lets it parse in place instead of copying.
    header_json->reserve(header_json->size() + simdjson::SIMDJSON_PADDING);
    payload_json->reserve(payload_json->size() + simdjson::SIMDJSON_PADDING);
    dom::parser parser;

    if (const auto refused = check_header(parser, *header_json)) {
        return *refused;
    }

    detail::ensure_sodium();
    // An empty key is valid HMAC but a secret anyone knows: never let it vouch for a token.
    if (secret.empty() || signature->size() != crypto_auth_hmacsha256_BYTES) {
        return jwt_error::bad_signature;
    }
    const Mac expected = hmac_sha256(secret, parts->signing_input);
    if (sodium_memcmp(expected.data(), signature->data(), expected.size()) != 0) {
        return jwt_error::bad_signature;
    }

    return read_claims(parser, *payload_json, now_unix_seconds);
}

std::string sign_jwt_hs256(std::string_view payload_json, std::string_view secret,
                           std::string_view header_json) {
    detail::ensure_sodium();
    std::string token = detail::base64url_encode(header_json);
    token.push_back('.');
    token += detail::base64url_encode(payload_json);
    const Mac mac = hmac_sha256(secret, token);
    token.push_back('.');
    token += detail::base64url_encode(mac);
    return token;
}

} // namespace parley::auth
