// ASCII case-insensitive comparison, for the parts of HTTP that ignore case (header tokens,
// schemes and hosts, the Bearer scheme). Pure.
#pragma once

#include <algorithm>
#include <string_view>

namespace parley::net {

inline char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

} // namespace parley::net
