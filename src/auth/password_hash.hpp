// Password storage: Argon2id hashes in PHC string form, and the rules a new password must meet.
// Pure CPU work (a hash takes ~50 ms and 19 MiB at the default cost): run it off the shards.
// Never logs or keeps a password; callers should not either.
#pragma once

#include <boost/system/result.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace parley::auth {

// Argon2id cost. The defaults are OWASP's minimum for Argon2id (m = 19 MiB, t = 2, p = 1;
// libsodium always uses p = 1) and are what the server always uses; a cheaper cost exists only so
// tests run fast. Lowest accepted by libsodium: ops 1, mem_bytes 8 KiB.
struct PasswordCost {
    unsigned long long ops = 2;        // Argon2 passes over memory (t)
    std::size_t mem_bytes = 19u << 20; // 19 MiB (m = 19456 KiB)
};

// The PHC string for `password`, e.g. "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>", with a
// fresh random 128-bit salt. Errors: not_enough_memory (the only failure at a valid cost) or
// invalid_argument when `cost` is below libsodium's minimum (a programmer error).
boost::system::result<std::string> hash_password(std::string_view password, PasswordCost cost = {});

// True if `password` matches `stored_hash`. False on a mismatch and on a malformed or truncated
// stored hash (never throws or crashes on bad input). The comparison is constant-time. The stored
// hash is trusted to come from our own store: its cost parameters are obeyed as written.
bool verify_password(std::string_view stored_hash, std::string_view password);

// True if `stored_hash` is not Argon2id at exactly `cost` (an older cost, another algorithm or a
// malformed string): after a successful login, store hash_password(password) in its place.
bool password_needs_rehash(std::string_view stored_hash, PasswordCost cost = {});

// What a new password must satisfy. Lengths are in bytes of UTF-8, not characters: a password of
// 8 bytes may be fewer than 8 characters outside ASCII. The floor keeps out the shortest guesses;
// the ceiling bounds the work one login asks of the server.
struct PasswordRules {
    std::size_t min_length = 8;
    std::size_t max_length = 1024;
};

// nullopt if `password` may be set; otherwise a sentence for people saying why not: too short,
// too long, or containing a NUL character (which C-string tools would silently cut at).
std::optional<std::string> check_new_password(std::string_view password, PasswordRules rules = {});

} // namespace parley::auth
