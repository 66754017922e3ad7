// Account names: the one place their rules live (docs/protocol.md copies the list below).
//
//   - 1 to 32 characters;
//   - only ASCII letters (A-Z, a-z), digits (0-9), underscore '_', hyphen '-' and dot '.';
//   - the first character is a letter or a digit;
//   - case does not matter: a name is folded to lower case, so "Alice" and "alice" are the same
//     account, and the folded form is the one stored and shown.
//
// Pure: no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::auth {

constexpr std::size_t max_user_name_length = 32;

// The outcome of checking a name: the folded name when it is valid, or a sentence for people.
struct NameCheck {
    std::string name;  // lower-case form, set only when ok()
    std::string error; // why the name was refused, empty when ok()
    bool ok() const { return error.empty(); }
};

// Applies the rules above to `raw` (no trimming: surrounding spaces are refused like any other
// character outside the alphabet).
NameCheck normalize_user_name(std::string_view raw);

} // namespace parley::auth
