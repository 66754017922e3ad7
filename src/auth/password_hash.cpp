// Argon2id through libsodium's crypto_pwhash_str_* API, which writes and parses PHC strings.
// libsodium needs NUL-terminated hash strings, so every stored hash is copied into a std::string.
#include "auth/password_hash.hpp"

#include "auth/sodium.hpp"

#include <sodium.h>

#include <array>
#include <cerrno>
#include <string>

namespace parley::auth {

namespace {

// The PHC prefix of the only algorithm we write. crypto_pwhash_str_verify also accepts Argon2i.
constexpr std::string_view argon2id_prefix = "$argon2id$";

// libsodium's parsers stop at the first NUL and read at most crypto_pwhash_STRBYTES; anything
// longer, or with an embedded NUL, is not a hash it wrote.
bool plausible_hash(std::string_view stored_hash) {
    return stored_hash.size() < crypto_pwhash_STRBYTES && stored_hash.find('\0') == std::string_view::npos;
}

} // namespace

boost::system::result<std::string> hash_password(std::string_view password, PasswordCost cost) {
    detail::ensure_sodium();
    std::array<char, crypto_pwhash_STRBYTES> out{};
    errno = 0;
    if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), cost.ops, cost.mem_bytes,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        // libsodium sets EINVAL for a cost outside its limits; otherwise the allocation failed.
        if (errno == EINVAL) {
            return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
        }
        return boost::system::errc::make_error_code(boost::system::errc::not_enough_memory);
    }
    return std::string(out.data());
}

bool verify_password(std::string_view stored_hash, std::string_view password) {
    if (!plausible_hash(stored_hash)) {
        return false;
    }
    detail::ensure_sodium();
    const std::string terminated(stored_hash);
    return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

bool password_needs_rehash(std::string_view stored_hash, PasswordCost cost) {
    // The generic crypto_pwhash_str_needs_rehash would answer "no" for an Argon2i hash at the same
    // cost; we want every hash moved to Argon2id, so the algorithm is checked here first.
    if (!plausible_hash(stored_hash) || !stored_hash.starts_with(argon2id_prefix)) {
        return true;
    }
    detail::ensure_sodium();
    const std::string terminated(stored_hash);
    // 0: same parameters; 1: different; -1: malformed (which a new hash also fixes).
    return crypto_pwhash_argon2id_str_needs_rehash(terminated.c_str(), cost.ops, cost.mem_bytes) != 0;
}

std::optional<std::string> check_new_password(std::string_view password, PasswordRules rules) {
    if (password.size() < rules.min_length) {
        return "A password must be at least " + std::to_string(rules.min_length) + " characters long.";
    }
    if (password.size() > rules.max_length) {
        return "A password must be at most " + std::to_string(rules.max_length) + " bytes long.";
    }
    if (password.find('\0') != std::string_view::npos) {
        return std::string("A password must not contain a NUL character.");
    }
    return std::nullopt;
}

} // namespace parley::auth
