#include "store/client_id_memory.hpp"

#include <algorithm>
#include <initializer_list>
#include <utility>

namespace parley::store {

void ClientIdMemory::remember(std::uint64_t fingerprint, std::uint64_t msg_id) {
    current_[part_of(fingerprint)].insert(fingerprint, msg_id);
}

void ClientIdMemory::age(std::int64_t now_ms, std::int64_t window_ms) {
    if (now_ms - current_started_ms_ < window_ms) {
        if (to_free_ != 0) {
            dropped_[--to_free_].clear();
        }
        return;
    }
    // What is left of the generation dropped before (a window ago, so normally nothing) goes now.
    dropped_ = std::move(previous_);
    to_free_ = parts;
    previous_ = std::move(current_);
    current_ = Generation{};
    current_started_ms_ = now_ms;
}

void ClientIdMemory::mark_loaded(std::int64_t now_ms) {
    loaded_ = true;
    current_started_ms_ = now_ms;
}

std::size_t ClientIdMemory::dropped_bytes() const {
    std::size_t bytes = 0;
    for (const Part& part : dropped_) {
        bytes += part.slot_bytes();
    }
    return bytes;
}

std::size_t ClientIdMemory::size() const {
    std::size_t n = 0;
    for (const Generation* generation : {&current_, &previous_}) {
        for (const Part& part : *generation) {
            n += part.size();
        }
    }
    return n;
}

} // namespace parley::store
