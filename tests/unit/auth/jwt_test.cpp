#include "auth/jwt.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace parley::auth {
namespace {

constexpr std::string_view secret = "parley-test-secret";
constexpr std::int64_t now = 1'700'000'000;

// Independent of libsodium and of sign_jwt_hs256: produced at development time with coreutils
// and OpenSSL (the header is {"alg":"HS256","typ":"JWT"}, the payload
// {"sub":"alice","exp":2000000000}):
//   H=$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | basenc --base64url -w0 | tr -d '=')
//   P=$(printf '%s' '{"sub":"alice","exp":2000000000}' | basenc --base64url -w0 | tr -d '=')
//   S=$(printf '%s' "$H.$P" | openssl dgst -sha256 -hmac 'parley-test-secret' -binary |
//       basenc --base64url -w0 | tr -d '=')
//   echo "$H.$P.$S"
constexpr std::string_view openssl_token =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MjAwMDAwMDAwMH0."
    "pveOeA3rxt4Gv356X-TT0TiW_mwu3zpTi4VJELppMJ0";

std::string sign(std::string_view payload, std::string_view header = R"({"alg":"HS256","typ":"JWT"})") {
    return sign_jwt_hs256(payload, secret, header);
}

// The error verify_jwt gives, or "accepted" as a failure message.
jwt_error refusal(std::string_view token, std::string_view key = secret, std::int64_t at = now) {
    const auto verified = verify_jwt(token, key, at);
    EXPECT_FALSE(verified.has_value()) << "accepted: " << token;
    return verified.has_value() ? jwt_error{} : verified.error();
}

constexpr std::string_view valid_payload = R"({"sub":"alice","exp":1700000060})";

TEST(Jwt, IndependentVectorVerifies) {
    const auto verified = verify_jwt(openssl_token, secret, now);
    ASSERT_TRUE(verified.has_value()) << describe(verified.error());
    EXPECT_EQ(verified->sub, "alice");
    EXPECT_EQ(verified->exp, 2'000'000'000);
}

TEST(Jwt, SignerReproducesIndependentVector) {
    EXPECT_EQ(sign(R"({"sub":"alice","exp":2000000000})"), openssl_token);
}

TEST(Jwt, ValidTokenIsAccepted) {
    const auto verified = verify_jwt(sign(valid_payload), secret, now);
    ASSERT_TRUE(verified.has_value()) << describe(verified.error());
    EXPECT_EQ(verified->sub, "alice");
    EXPECT_EQ(verified->exp, 1'700'000'060);
}

TEST(Jwt, OtherClaimsAndHeaderMembersAreIgnored) {
    const auto token =
        sign(R"({"iss":"x","aud":["a"],"iat":1,"sub":"bob","exp":1700000060,"nbf":1700000000,"x":{}})",
             R"({"typ":"jwt","alg":"HS256","kid":"k1"})");
    const auto verified = verify_jwt(token, secret, now);
    ASSERT_TRUE(verified.has_value()) << describe(verified.error());
    EXPECT_EQ(verified->sub, "bob");
}

TEST(Jwt, HeaderWithoutTypIsAccepted) {
    EXPECT_TRUE(verify_jwt(sign(valid_payload, R"({"alg":"HS256"})"), secret, now).has_value());
}

TEST(Jwt, BadSignatureIsRefused) {
    EXPECT_EQ(refusal(sign_jwt_hs256(valid_payload, "another-secret")), jwt_error::bad_signature);
    EXPECT_EQ(refusal(openssl_token, "parley-test-secreT"), jwt_error::bad_signature);

    // A flipped bit in the signature, and a payload swapped in under the old signature.
    std::string token = sign(valid_payload);
    token[token.size() - 2] = token[token.size() - 2] == 'A' ? 'B' : 'A';
    EXPECT_EQ(refusal(token), jwt_error::bad_signature);
    const std::string original = sign(valid_payload);
    const std::string other = sign(R"({"sub":"mallory","exp":1700000060})");
    const auto sig = original.substr(original.rfind('.'));
    EXPECT_EQ(refusal(other.substr(0, other.rfind('.')) + sig), jwt_error::bad_signature);
}

TEST(Jwt, SignatureOfWrongLengthIsRefused) {
    const std::string token = sign(valid_payload);
    const auto body = token.substr(0, token.rfind('.') + 1);
    EXPECT_EQ(refusal(body), jwt_error::bad_signature);
    EXPECT_EQ(refusal(body + "AAAA"), jwt_error::bad_signature);
    EXPECT_EQ(refusal(token + "AAAA"), jwt_error::bad_signature);
}

TEST(Jwt, EmptySecretVerifiesNothing) {
    EXPECT_EQ(refusal(sign_jwt_hs256(valid_payload, ""), ""), jwt_error::bad_signature);
}

TEST(Jwt, AlgNoneIsRefused) {
    const std::string signed_none = sign(valid_payload, R"({"alg":"none","typ":"JWT"})");
    EXPECT_EQ(refusal(signed_none), jwt_error::unsupported_alg);
    // The unsecured form (RFC 7519 §6.1): an empty signature after the second dot.
    const std::string unsecured = signed_none.substr(0, signed_none.rfind('.') + 1);
    EXPECT_EQ(refusal(unsecured), jwt_error::unsupported_alg);
    // And with the signature part left out altogether: two parts.
    EXPECT_EQ(refusal(signed_none.substr(0, signed_none.rfind('.'))), jwt_error::malformed);
    EXPECT_EQ(refusal(sign(valid_payload, R"({"alg":"None"})")), jwt_error::unsupported_alg);
}

TEST(Jwt, OtherAlgorithmsAreRefused) {
    for (const std::string_view header :
         {R"({"alg":"HS512","typ":"JWT"})", R"({"alg":"RS256","typ":"JWT"})", R"({"alg":"hs256"})",
          R"({"alg":"HS256 "})", R"({"alg":""})", R"({"alg":null})", R"({"alg":256})", R"({"alg":["HS256"]})",
          R"({"typ":"JWT"})", R"({})"}) {
        EXPECT_EQ(refusal(sign(valid_payload, header)), jwt_error::unsupported_alg) << header;
    }
}

TEST(Jwt, TypMustBeJwtInAnyCase) {
    EXPECT_TRUE(verify_jwt(sign(valid_payload, R"({"alg":"HS256","typ":"Jwt"})"), secret, now).has_value());
    for (const std::string_view header : {R"({"alg":"HS256","typ":"JWS"})", R"({"alg":"HS256","typ":""})",
                                          R"({"alg":"HS256","typ":1})", R"({"alg":"HS256","typ":null})"}) {
        EXPECT_EQ(refusal(sign(valid_payload, header)), jwt_error::bad_header) << header;
    }
}

TEST(Jwt, CritHeaderIsRefused) {
    EXPECT_EQ(refusal(sign(valid_payload, R"({"alg":"HS256","crit":["exp"],"exp":1})")),
              jwt_error::bad_header);
}

TEST(Jwt, HeaderMustBeAJsonObject) {
    for (const std::string_view header : {"not json", "", R"(["alg","HS256"])", R"("HS256")", "null",
                                          R"({"alg":"HS256")", R"({"alg":"HS256"} x)"}) {
        EXPECT_EQ(refusal(sign(valid_payload, header)), jwt_error::bad_header) << header;
    }
}

TEST(Jwt, DuplicateMembersAreRefused) {
    EXPECT_EQ(refusal(sign(valid_payload, R"({"alg":"none","alg":"HS256"})")), jwt_error::bad_header);
    EXPECT_EQ(refusal(sign(valid_payload, R"({"alg":"HS256","alg":"HS256"})")), jwt_error::bad_header);
    EXPECT_EQ(refusal(sign(R"({"sub":"alice","sub":"admin","exp":1700000060})")), jwt_error::bad_claims);
    // Escapes do not hide a duplicate.
    EXPECT_EQ(refusal(sign(R"({"sub":"alice","s\u0075b":"admin","exp":1700000060})")), jwt_error::bad_claims);
}

TEST(Jwt, ExpiryIsExactWithoutLeeway) {
    const std::string token = sign(R"({"sub":"alice","exp":1700000000})");
    EXPECT_EQ(refusal(token, secret, 1'700'000'000), jwt_error::expired);
    EXPECT_EQ(refusal(token, secret, 1'700'000'001), jwt_error::expired);
    EXPECT_TRUE(verify_jwt(token, secret, 1'699'999'999).has_value());
}

TEST(Jwt, ExpMayBeFractional) {
    const std::string token = sign(R"({"sub":"alice","exp":1700000000.5})");
    const auto verified = verify_jwt(token, secret, 1'700'000'000);
    ASSERT_TRUE(verified.has_value());
    EXPECT_EQ(verified->exp, 1'700'000'001) << "rounded up";
    EXPECT_EQ(refusal(token, secret, 1'700'000'001), jwt_error::expired);
    EXPECT_TRUE(verify_jwt(sign(R"({"sub":"a","exp":1.7e9})"), secret, 1'699'999'999).has_value());
}

TEST(Jwt, HugeExpSaturates) {
    const auto verified = verify_jwt(sign(R"({"sub":"a","exp":18446744073709551615})"), secret, now);
    ASSERT_TRUE(verified.has_value());
    EXPECT_EQ(verified->exp, std::numeric_limits<std::int64_t>::max());
    EXPECT_TRUE(verify_jwt(sign(R"({"sub":"a","exp":1e300})"), secret, now).has_value());
    EXPECT_EQ(refusal(sign(R"({"sub":"a","exp":-1e300})")), jwt_error::expired);
    EXPECT_EQ(refusal(sign(R"({"sub":"a","exp":-5})")), jwt_error::expired);
}

TEST(Jwt, ExpIsRequiredAndMustBeANumber) {
    EXPECT_EQ(refusal(sign(R"({"sub":"alice"})")), jwt_error::missing_exp);
    for (const std::string_view payload :
         {R"({"sub":"alice","exp":"1700000060"})", R"({"sub":"alice","exp":null})",
          R"({"sub":"alice","exp":true})", R"({"sub":"alice","exp":[1700000060]})",
          R"({"sub":"alice","exp":{}})"}) {
        EXPECT_EQ(refusal(sign(payload)), jwt_error::bad_claims) << payload;
    }
}

TEST(Jwt, NotBefore) {
    EXPECT_EQ(refusal(sign(R"({"sub":"alice","exp":1700000060,"nbf":1700000001})")),
              jwt_error::not_yet_valid);
    EXPECT_TRUE(
        verify_jwt(sign(R"({"sub":"alice","exp":1700000060,"nbf":1700000000})"), secret, now).has_value());
    EXPECT_EQ(refusal(sign(R"({"sub":"alice","exp":1700000060,"nbf":1700000000.5})")),
              jwt_error::not_yet_valid);
    EXPECT_EQ(refusal(sign(R"({"sub":"alice","exp":1700000060,"nbf":"0"})")), jwt_error::bad_claims);
}

TEST(Jwt, SubIsRequiredAndMustBeANonEmptyString) {
    EXPECT_EQ(refusal(sign(R"({"exp":1700000060})")), jwt_error::missing_sub);
    for (const std::string_view payload :
         {R"({"sub":"","exp":1700000060})", R"({"sub":42,"exp":1700000060})",
          R"({"sub":null,"exp":1700000060})", R"({"sub":["a"],"exp":1700000060})"}) {
        EXPECT_EQ(refusal(sign(payload)), jwt_error::bad_claims) << payload;
    }
}

TEST(Jwt, PayloadMustBeAJsonObject) {
    for (const std::string_view payload :
         {"", "not json", R"(["sub","alice"])", "42", R"("alice")", R"({"sub":"alice","exp":1700000060)",
          "{\"sub\":\"\xff\",\"exp\":1}"}) {
        EXPECT_EQ(refusal(sign(payload)), jwt_error::bad_claims) << payload;
    }
}

TEST(Jwt, SignatureIsCheckedBeforeClaims) {
    // An expired, sub-less payload under the wrong key reports the signature, not the claims.
    EXPECT_EQ(refusal(sign_jwt_hs256(R"({"exp":1})", "wrong")), jwt_error::bad_signature);
    EXPECT_EQ(refusal(sign_jwt_hs256("not json", "wrong")), jwt_error::bad_signature);
}

TEST(Jwt, WrongNumberOfPartsIsMalformed) {
    const std::string token = sign(valid_payload);
    EXPECT_EQ(refusal(""), jwt_error::malformed);
    EXPECT_EQ(refusal("abc"), jwt_error::malformed);
    EXPECT_EQ(refusal(token.substr(0, token.rfind('.'))), jwt_error::malformed);
    EXPECT_EQ(refusal(token + ".AAAA"), jwt_error::malformed);
    EXPECT_EQ(refusal(token + "."), jwt_error::malformed);
    EXPECT_EQ(refusal("..."), jwt_error::malformed);
}

TEST(Jwt, PaddingAndForeignCharactersAreMalformed) {
    const std::string token = sign(valid_payload);
    const auto dot1 = token.find('.');
    const auto dot2 = token.rfind('.');
    // Each part in turn gets '=' padding, standard base64's '+' and '/', whitespace.
    for (const auto insert_at : {dot1, dot2, token.size()}) {
        for (const std::string_view junk : {"=", "==", "+", "/", " ", "\n", "%3D", "\x80"}) {
            std::string bad = token;
            bad.insert(insert_at, junk);
            EXPECT_EQ(refusal(bad), jwt_error::malformed) << bad;
        }
    }
    EXPECT_EQ(refusal("!!!!.????.****"), jwt_error::malformed);
}

TEST(Jwt, NonCanonicalBase64IsMalformed) {
    // A part of 4n+1 characters cannot be base64url; a last character with stray low bits is
    // not the canonical spelling of its bytes (so a signature cannot be varied by its tail).
    const std::string token = sign(valid_payload);
    EXPECT_EQ(refusal(token.substr(0, token.find('.')) + "A" + token.substr(token.find('.'))),
              jwt_error::malformed);
    std::string tail = token;
    char& last = tail.back(); // 32 bytes = 43 characters: 2 spare bits in the last
    last = static_cast<char>(last == 'A' ? 'B' : last + 1);
    EXPECT_EQ(refusal(tail), jwt_error::malformed);
}

TEST(Jwt, HugeTokenIsMalformed) {
    const std::string big_sub(max_jwt_bytes, 'a');
    const std::string huge = sign(R"({"sub":")" + big_sub + R"(","exp":1700000060})");
    EXPECT_GT(huge.size(), max_jwt_bytes);
    EXPECT_EQ(refusal(huge), jwt_error::malformed);
    EXPECT_EQ(refusal(std::string(1 << 20, '.')), jwt_error::malformed);
}

TEST(Jwt, TokenJustUnderTheLimitIsAccepted) {
    const std::string sub(max_jwt_bytes * 3 / 4 - 200, 'a');
    const std::string token = sign(R"({"sub":")" + sub + R"(","exp":1700000060})");
    ASSERT_LE(token.size(), max_jwt_bytes);
    EXPECT_TRUE(verify_jwt(token, secret, now).has_value());
}

TEST(Jwt, DeepNestingIsRefused) {
    // Deeper than simdjson's 1024 levels while still under the size limit.
    const std::string deep =
        R"({"sub":"a","exp":1700000060,"x":)" + std::string(3000, '[') + std::string(3000, ']') + "}";
    const std::string token = sign(deep);
    ASSERT_LE(token.size(), max_jwt_bytes);
    EXPECT_EQ(refusal(token), jwt_error::bad_claims);
}

TEST(Jwt, LongSecretsWork) {
    const std::string long_secret(200, 'k'); // longer than a SHA-256 block: hashed first (RFC 2104)
    const std::string token = sign_jwt_hs256(valid_payload, long_secret);
    EXPECT_TRUE(verify_jwt(token, long_secret, now).has_value());
    EXPECT_EQ(refusal(token, std::string(199, 'k')), jwt_error::bad_signature);
}

TEST(Jwt, EveryErrorIsDescribed) {
    for (const auto e : {jwt_error::malformed, jwt_error::bad_header, jwt_error::unsupported_alg,
                         jwt_error::bad_signature, jwt_error::bad_claims, jwt_error::missing_sub,
                         jwt_error::missing_exp, jwt_error::expired, jwt_error::not_yet_valid}) {
        EXPECT_FALSE(describe(e).empty());
    }
}

} // namespace
} // namespace parley::auth
