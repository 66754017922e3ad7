#include "store/fingerprint_table.hpp"

#include <bit>
#include <utility>

namespace parley::store {

void FingerprintTable::insert(std::uint64_t fingerprint, std::uint64_t msg_id) {
    if (base_ == 0) {
        base_ = msg_id;
    }
    if (msg_id < base_ || msg_id - base_ >= offset_mask) {
        const auto [begin, end] = spilled_.equal_range(fingerprint);
        for (auto it = begin; it != end; ++it) {
            if (it->second == msg_id) {
                return;
            }
        }
        spilled_.emplace(fingerprint, msg_id);
        return;
    }
    if ((size_ + 1) * 4 > slots_.size() * 3) {
        grow();
    }
    const std::uint64_t tag = tag_of(fingerprint);
    const std::uint64_t slot = tag << offset_bits | (msg_id - base_ + 1);
    std::size_t i = home(tag);
    for (; slots_[i] != 0; i = (i + 1) & mask_) {
        if (slots_[i] == slot) {
            return; // filed already (a message both in a run and in the tail, after a crash)
        }
    }
    slots_[i] = slot;
    ++size_;
}

void FingerprintTable::grow() {
    const std::size_t capacity = slots_.empty() ? 64 : slots_.size() * 2;
    std::vector<std::uint64_t> old = std::exchange(slots_, std::vector<std::uint64_t>(capacity));
    mask_ = capacity - 1;
    index_bits_ = static_cast<unsigned>(std::countr_zero(capacity));
    for (const std::uint64_t slot : old) {
        if (slot != 0) {
            std::size_t i = home(slot >> offset_bits);
            while (slots_[i] != 0) {
                i = (i + 1) & mask_;
            }
            slots_[i] = slot;
        }
    }
}

} // namespace parley::store
