#include "net/ws_handshake.hpp"

// The opening handshake's key arithmetic against the RFC's own example and known pairs.

#include <gtest/gtest.h>

#include <string>

namespace {

using parley::net::ws::accept_key;
using parley::net::ws::is_valid_client_key;

// RFC 6455 §1.3 (and §4.2.2): the worked example.
TEST(WsHandshake, AcceptKeyMatchesTheRfcExample) {
    EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, AcceptKeyMatchesAnotherKnownPair) {
    EXPECT_EQ(accept_key("x3JJHMbDL1EzLkh9GBhXDw=="), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

TEST(WsHandshake, AcceptKeyIsBase64OfTwentyBytes) {
    const std::string key = accept_key("AAAAAAAAAAAAAAAAAAAAAA==");
    EXPECT_EQ(key.size(), 28u);
    EXPECT_EQ(key.back(), '=');
    EXPECT_NE(key, accept_key("AAAAAAAAAAAAAAAAAAAAAQ=="));
}

TEST(WsHandshake, ValidClientKeysAreAccepted) {
    EXPECT_TRUE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
    EXPECT_TRUE(is_valid_client_key("x3JJHMbDL1EzLkh9GBhXDw=="));
    EXPECT_TRUE(is_valid_client_key("+/+/+/+/+/+/+/+/+/+/+w=="));
}

TEST(WsHandshake, MalformedClientKeysAreRejected) {
    EXPECT_FALSE(is_valid_client_key(""));
    EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ="));   // 23 characters
    EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ===")); // 25 characters
    EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQAA"));  // 18 bytes, no padding
    // 24 characters ending in "==", but not base64 inside:
    EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25j=A==")); // padding inside
    EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25j-_==")); // base64url, not base64
    EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25j Q==")); // a space
    EXPECT_FALSE(is_valid_client_key("the sample nonce123456=="));
}

} // namespace
