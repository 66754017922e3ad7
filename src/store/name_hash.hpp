// The hash of the stores' tables keyed by user name: transparent, so a chat's name (a
// string_view into its batch) finds its entry without being copied into a std::string first.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace parley::store {

struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

} // namespace parley::store
