// Session tokens: 256 random bits handed to a client once at login, presented to resume. The
// store keeps only a hash of each token, so a leaked database cannot be replayed as sessions.
// Pure apart from the system random source; no I/O, no clocks (expiry is the store's business).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::auth {

// "pt_" (Parley token: recognisable in logs and by secret scanners) + 43 base64url characters.
constexpr std::string_view session_token_prefix = "pt_";
constexpr std::size_t session_token_random_bytes = 32;
constexpr std::size_t session_token_length = 46;

struct IssuedToken {
    std::string token; // give to the client; never store or log it
    std::string hash;  // hash_session_token(token): what the store keeps
};

// A fresh token from libsodium's randombytes_buf (the OS CSPRNG) and its hash. Any thread.
IssuedToken issue_session_token();

// 64 lowercase hex characters: BLAKE2b-256 of the token's text. No salt or key is needed: the
// token already carries 256 bits of entropy, so its hash cannot be reversed by guessing.
std::string hash_session_token(std::string_view token);

// True if `text` has a token's shape: the prefix, the length, the base64url alphabet and a
// canonical last character. A cheap filter before a store lookup; says nothing about validity.
bool looks_like_session_token(std::string_view text);

} // namespace parley::auth
