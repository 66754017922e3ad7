// Private to auth/: the one place that initialises libsodium. Every public entry point of the
// layer calls ensure_sodium() first, so callers never need to know libsodium is there.
#pragma once

namespace parley::auth::detail {

// Initialises libsodium once (thread-safe: a function-local static). sodium_init() picks the
// fastest BLAKE2b/Argon2 code for this CPU and seeds the random source; it fails only when the
// system has no usable randomness, which is a startup error: it throws std::runtime_error.
// Any thread.
void ensure_sodium();

} // namespace parley::auth::detail
