// Account-name rules. ASCII only on purpose: no Unicode look-alikes ("аlice" with a Cyrillic а)
// and no normalisation forms to get wrong; folding ASCII case needs no locale.
#include "auth/user_name.hpp"

#include <string>
#include <utility>

namespace parley::auth {

namespace {

bool is_ascii_letter(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool is_ascii_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_name_char(char c) {
    return is_ascii_letter(c) || is_ascii_digit(c) || c == '_' || c == '-' || c == '.';
}

char to_ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

NameCheck refuse(std::string message) {
    return NameCheck{.name = {}, .error = std::move(message)};
}

} // namespace

NameCheck normalize_user_name(std::string_view raw) {
    if (raw.empty()) {
        return refuse("A user name must not be empty.");
    }
    if (raw.size() > max_user_name_length) {
        return refuse("A user name must be at most " + std::to_string(max_user_name_length) +
                      " characters long.");
    }
    for (const char c : raw) {
        if (!is_name_char(c)) {
            return refuse("A user name may contain only letters A-Z, digits, '_', '-' and '.'.");
        }
    }
    if (!is_ascii_letter(raw.front()) && !is_ascii_digit(raw.front())) {
        return refuse("A user name must start with a letter or a digit.");
    }
    NameCheck ok;
    ok.name.reserve(raw.size());
    for (const char c : raw) {
        ok.name.push_back(to_ascii_lower(c));
    }
    return ok;
}

} // namespace parley::auth
