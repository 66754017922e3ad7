#include "store/message_id_table.hpp"

#include <algorithm>
#include <bit>
#include <utility>

namespace parley::store {

void MessageIdTable::insert(std::size_t hash, std::uint64_t msg_id) {
    if (size_ == 0) {
        base_ = msg_id; // ids grow: the later ones fit for the next four billion
    }
    if (!fits(msg_id) || (index_bits_ == 32 && (size_ + 1) * 4 > slots_.size() * 3)) {
        const auto [begin, end] = spilled_.equal_range(hash);
        if (std::none_of(begin, end, [&](const auto& entry) { return entry.second == msg_id; })) {
            spilled_.emplace(hash, msg_id);
        }
        return;
    }
    if ((size_ + 1) * 4 > slots_.size() * 3) {
        grow();
    }
    const std::uint64_t tag = tag_of(hash);
    const std::uint64_t slot = tag << offset_bits | (msg_id - base_ + 1);
    std::size_t i = home(tag);
    for (; slots_[i] != 0; i = (i + 1) & mask_) {
        if (slots_[i] == slot) {
            return; // filed already (the SQLite store: a message both in a run and in the tail, after a
                    // crash)
        }
    }
    slots_[i] = slot;
    ++size_;
}

bool MessageIdTable::erase(std::size_t hash, std::uint64_t msg_id) {
    if (const std::size_t at = slot_of(hash, msg_id); at != slots_.size()) {
        // Backward shift: pull each later entry of the run into the hole unless its home lies
        // after the hole (cyclically), where a lookup would no longer pass the hole to reach it.
        std::size_t i = at;
        for (std::size_t j = (i + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
            const std::size_t k = home(slots_[j] >> offset_bits);
            const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
            if (!stays) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i] = 0;
        --size_;
        return true;
    }
    const auto [begin, end] = spilled_.equal_range(hash);
    for (auto it = begin; it != end; ++it) {
        if (it->second == msg_id) {
            spilled_.erase(it);
            return true;
        }
    }
    return false;
}

std::size_t MessageIdTable::slot_of(std::size_t hash, std::uint64_t msg_id) const {
    if (slots_.empty() || !fits(msg_id)) {
        return slots_.size();
    }
    const std::uint64_t tag = tag_of(hash);
    const std::uint64_t wanted = tag << offset_bits | (msg_id - base_ + 1);
    for (std::size_t i = home(tag); slots_[i] != 0; i = (i + 1) & mask_) {
        if (slots_[i] == wanted) {
            return i;
        }
    }
    return slots_.size();
}

void MessageIdTable::clear() {
    slots_ = {};
    mask_ = 0;
    index_bits_ = 0;
    size_ = 0;
    base_ = 0;
    spilled_.clear();
}

void MessageIdTable::grow() {
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
