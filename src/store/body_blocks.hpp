// The memory store's message bytes (texts and client ids), appended in msg_id order into large
// blocks and freed a block at a time once prune has taken every message in it. A heap block a
// message cost an allocation (~85 instructions) and a rounded-up size class on the benchmarks'
// hot path; here a message's bytes are a bump of a pointer and take what they need.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

namespace parley::store {

class BodyBlocks {
public:
    static constexpr std::size_t block_bytes = 64 * 1024;

    // `n` bytes for message `msg_id` (ids only grow), kept until drop_through() reaches it.
    // Null for n == 0.
    char* room(std::size_t n, std::uint64_t msg_id) {
        if (n == 0) {
            return nullptr;
        }
        if (n > left_) {
            // The rest of the last block stays unused: at most one message's bytes a block.
            const std::size_t size = std::max(n, block_bytes);
            blocks_.push_back(Block{std::make_unique_for_overwrite<char[]>(size), msg_id});
            next_ = blocks_.back().bytes.get();
            left_ = size;
        }
        char* at = next_;
        next_ += n;
        left_ -= n;
        blocks_.back().last_msg_id = msg_id;
        return at;
    }

    // Frees every block whose messages all have ids up to `msg_id`.
    void drop_through(std::uint64_t msg_id) {
        while (!blocks_.empty() && blocks_.front().last_msg_id <= msg_id) {
            blocks_.pop_front();
            if (blocks_.empty()) {
                next_ = nullptr;
                left_ = 0;
            }
        }
    }

    std::size_t blocks() const { return blocks_.size(); }

private:
    struct Block {
        std::unique_ptr<char[]> bytes;
        std::uint64_t last_msg_id; // of the newest message with bytes here
    };
    std::deque<Block> blocks_;
    char* next_ = nullptr;
    std::size_t left_ = 0;
};

} // namespace parley::store
