// Little-endian integers and length-prefixed strings in a byte string: the journal's records and
// the memory store's image (journal_format.hpp) are written and read with these. A Reader never
// reads past its input: a short or damaged input makes it bad, and every later read returns zero.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace parley::store::bytes {

static_assert(std::endian::native == std::endian::little, "written in host order, read as little-endian");

template <class Int> void put(std::string& out, Int value) {
    char raw[sizeof(Int)];
    std::memcpy(raw, &value, sizeof(Int));
    out.append(raw, sizeof(Int));
}

inline void put_string(std::string& out, std::string_view s) {
    put(out, static_cast<std::uint32_t>(s.size()));
    out.append(s);
}

class Reader {
public:
    explicit Reader(std::span<const char> input) : input_(input) {}

    template <class Int> Int get() {
        Int value{};
        if (take(sizeof(Int))) {
            std::memcpy(&value, input_.data() + at_ - sizeof(Int), sizeof(Int));
        }
        return value;
    }

    // A view of the input's bytes: valid as long as the input is.
    std::string_view get_string() {
        const auto size = get<std::uint32_t>();
        if (!take(size)) {
            return {};
        }
        return {input_.data() + at_ - size, size};
    }

    // A count of items that each take at least `min_item_bytes`: bounded by what is left, so a
    // damaged count cannot make the caller reserve gigabytes.
    std::size_t get_count(std::size_t min_item_bytes) {
        const auto count = get<std::uint32_t>();
        if (count > (input_.size() - at_) / min_item_bytes) {
            bad_ = true;
            return 0;
        }
        return count;
    }

    bool bad() const { return bad_; }
    bool at_end() const { return at_ == input_.size(); }
    bool finished_cleanly() const { return !bad_ && at_end(); }

private:
    bool take(std::size_t n) {
        if (bad_ || input_.size() - at_ < n) {
            bad_ = true;
            return false;
        }
        at_ += n;
        return true;
    }

    std::span<const char> input_;
    std::size_t at_ = 0;
    bool bad_ = false;
};

} // namespace parley::store::bytes
