// Bytes copied into blocks that never move, to be viewed until the arena goes: one shard pass's
// chats (their names, texts and client ids) are kept here for the NewMessages that view them.
// Two heap blocks a chat (a text and an id past std::string's 15 inline bytes) and their frees
// were ~190 instructions a message on the benchmarks' hot path; a pass's arena is one block.
// Header-only: the store interface (store_api) has no library of its own.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace parley::store {

class ByteArena {
public:
    ByteArena() = default;
    // The first block holds `bytes`: an owner that knows how much a batch takes (the last
    // pass's) allocates once.
    explicit ByteArena(std::size_t bytes) { grow(bytes); }

    // A copy of `s` that stays where it is until the arena is destroyed (moves keep it too).
    std::string_view keep(std::string_view s) {
        const std::span<char> at = room(s.size());
        if (!s.empty()) {
            std::memcpy(at.data(), s.data(), s.size());
        }
        return {at.data(), at.size()};
    }

    // `n` bytes for the caller to write, kept like keep()'s.
    std::span<char> room(std::size_t n) {
        if (n > left_) {
            grow(n);
        }
        const std::span<char> at(next_, n);
        next_ += n;
        left_ -= n;
        kept_ += n;
        return at;
    }

    // Bytes handed out so far: the size to give the next batch's arena.
    std::size_t kept() const { return kept_; }

private:
    static constexpr std::size_t min_block = 4096;

    void grow(std::size_t n) {
        // Doubling the last block keeps the count of blocks logarithmic in what a batch holds.
        const std::size_t size = std::max({n, min_block, last_block_ * 2});
        blocks_.push_back(std::make_unique_for_overwrite<char[]>(size));
        next_ = blocks_.back().get();
        left_ = size;
        last_block_ = size;
    }

    std::vector<std::unique_ptr<char[]>> blocks_;
    char* next_ = nullptr;
    std::size_t left_ = 0;
    std::size_t kept_ = 0;
    std::size_t last_block_ = 0;
};

} // namespace parley::store
