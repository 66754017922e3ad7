#include "store/message_id_table.hpp"

#include <bit>
#include <utility>

namespace parley::store {

void MessageIdTable::insert(std::size_t hash, std::uint64_t msg_id) {
    if ((size_ + 1) * 4 > slots_.size() * 3) {
        grow();
    }
    std::size_t i = home(hash);
    while (slots_[i].msg_id != 0) {
        i = (i + 1) & mask_;
    }
    slots_[i] = Slot{hash, msg_id};
    ++size_;
}

bool MessageIdTable::erase(std::size_t hash, std::uint64_t msg_id) {
    if (slots_.empty()) {
        return false;
    }
    std::size_t i = home(hash);
    while (slots_[i].msg_id != msg_id) {
        if (slots_[i].msg_id == 0) {
            return false;
        }
        i = (i + 1) & mask_;
    }
    // Backward shift: pull each later entry of the run into the hole unless its home lies after
    // the hole (cyclically), where a lookup would no longer pass the hole to reach it.
    for (std::size_t j = (i + 1) & mask_; slots_[j].msg_id != 0; j = (j + 1) & mask_) {
        const std::size_t k = home(slots_[j].hash);
        const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            slots_[i] = slots_[j];
            i = j;
        }
    }
    slots_[i] = Slot{};
    --size_;
    return true;
}

void MessageIdTable::clear() {
    slots_ = {};
    mask_ = 0;
    shift_ = 64;
    size_ = 0;
}

void MessageIdTable::grow() {
    const std::size_t capacity = slots_.empty() ? 64 : slots_.size() * 2;
    std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(capacity));
    mask_ = capacity - 1;
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(capacity));
    for (const Slot& s : old) {
        if (s.msg_id != 0) {
            std::size_t i = home(s.hash);
            while (slots_[i].msg_id != 0) {
                i = (i + 1) & mask_;
            }
            slots_[i] = s;
        }
    }
}

} // namespace parley::store
