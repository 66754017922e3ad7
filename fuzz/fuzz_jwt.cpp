// Fuzzes auth::verify_jwt, which reads the token a client sends to log in under `--auth jwt`.
// Input layout: if the first byte is 'S', the rest is "header JSON\npayload JSON" (no newline: the
// whole rest is the payload under the usual header), which is signed with the secret first, so
// the fuzzer reaches the header and claims checks behind the signature it could never forge;
// otherwise the whole input is the token, as a client would send it.
// Beyond "no crash":
// - verifying is deterministic: the same token, secret and time give the same answer twice;
// - an accepted token's sub is non-empty, now < exp, and the token is exactly what signing its
//   decoded header and payload gives (one spelling per token: base64url is checked canonical);
// - an accepted token is refused under another secret or an empty one (bad_signature), and at
//   its own exp (expired): the signature and the clock are really checked;
// - a token we signed is never refused as bad_signature, nor as malformed unless over the limit.
#include "auth/base64url.hpp"
#include "auth/jwt.hpp"

#include "check.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

using parley::fuzz::check;
namespace auth = parley::auth;

constexpr std::string_view secret = "the-fuzz-targets-shared-secret-32b+";
constexpr std::string_view other_secret = "another-secret-that-signs-nothing-here";
constexpr std::int64_t now = 1'700'000'000;
constexpr std::string_view default_header = R"({"alg":"HS256","typ":"JWT"})";

using Verified = boost::system::result<auth::JwtClaims, auth::jwt_error>;

bool same(const Verified& a, const Verified& b) {
    if (a.has_value() != b.has_value()) {
        return false;
    }
    if (!a.has_value()) {
        return a.error() == b.error();
    }
    return a->sub == b->sub && a->exp == b->exp;
}

bool refused_with(const Verified& verified, auth::jwt_error error) {
    return !verified.has_value() && verified.error() == error;
}

// The accepted token, taken apart and signed again, must come out the same.
void check_resigns_to_itself(std::string_view token) {
    const auto first_dot = token.find('.');
    const auto second_dot = token.find('.', first_dot + 1);
    check(first_dot != std::string_view::npos && second_dot != std::string_view::npos &&
              token.find('.', second_dot + 1) == std::string_view::npos,
          "an accepted token has exactly two dots");
    const auto header = auth::detail::base64url_decode(token.substr(0, first_dot));
    const auto payload =
        auth::detail::base64url_decode(token.substr(first_dot + 1, second_dot - first_dot - 1));
    check(header.has_value() && payload.has_value(), "an accepted token's parts decode");
    check(auth::sign_jwt_hs256(*payload, secret, *header) == token,
          "an accepted token is what signing its own header and payload gives");
}

void check_token(std::string_view token, bool we_signed_it) {
    const Verified verified = auth::verify_jwt(token, secret, now);
    check(same(auth::verify_jwt(token, secret, now), verified), "verifying twice gives the same answer");

    if (we_signed_it) {
        check(!refused_with(verified, auth::jwt_error::bad_signature), "our own signature verifies");
        check(!refused_with(verified, auth::jwt_error::malformed) || token.size() > auth::max_jwt_bytes,
              "a token we signed is malformed only when over the limit");
    }
    if (!verified.has_value()) {
        check(!auth::describe(verified.error()).empty(), "a refusal says why");
        return;
    }
    check(!verified->sub.empty(), "an accepted sub is not empty");
    check(now < verified->exp, "an accepted token has not expired");
    check(token.size() <= auth::max_jwt_bytes, "an accepted token is within the limit");
    check_resigns_to_itself(token);
    check(refused_with(auth::verify_jwt(token, other_secret, now), auth::jwt_error::bad_signature),
          "another secret refuses an accepted token");
    check(refused_with(auth::verify_jwt(token, "", now), auth::jwt_error::bad_signature),
          "an empty secret refuses every token");
    check(refused_with(auth::verify_jwt(token, secret, verified->exp), auth::jwt_error::expired),
          "an accepted token is expired at its own exp");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    if (input.starts_with('S')) {
        const std::string_view rest = input.substr(1);
        const auto newline = rest.find('\n');
        const std::string_view header =
            newline == std::string_view::npos ? default_header : rest.substr(0, newline);
        const std::string_view payload = newline == std::string_view::npos ? rest : rest.substr(newline + 1);
        check_token(auth::sign_jwt_hs256(payload, secret, header), true);
    } else {
        check_token(input, false);
    }
    return 0;
}
