#include "store/message_id_table.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <new>
#include <utility>

namespace parley::store {
namespace {

// The old table of a growth gives its pages back to the kernel this many bytes at a time as its
// front passes them, instead of all at once when the growth ends.
constexpr std::size_t release_bytes = std::size_t{256} << 10;

} // namespace

MessageIdTable::Slots::Slots(unsigned index_bits)
    : capacity_(std::size_t{1} << index_bits), index_bits_(index_bits) {
    // Anonymous pages read as zero and are faulted in one at a time as entries land on them; a
    // zero-filled vector would touch every page of the new table at once.
    void* pages = mmap(nullptr, capacity_ * sizeof(std::uint64_t), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED) {
        throw std::bad_alloc();
    }
    slots_ = static_cast<std::uint64_t*>(pages);
}

MessageIdTable::Slots::Slots(Slots&& other) noexcept
    : slots_(std::exchange(other.slots_, nullptr)), capacity_(std::exchange(other.capacity_, 0)),
      first_(std::exchange(other.first_, 0)), used_(std::exchange(other.used_, 0)),
      index_bits_(std::exchange(other.index_bits_, 0)) {}

MessageIdTable::Slots& MessageIdTable::Slots::operator=(Slots&& other) noexcept {
    if (this != &other) {
        release();
        slots_ = std::exchange(other.slots_, nullptr);
        capacity_ = std::exchange(other.capacity_, 0);
        first_ = std::exchange(other.first_, 0);
        used_ = std::exchange(other.used_, 0);
        index_bits_ = std::exchange(other.index_bits_, 0);
    }
    return *this;
}

MessageIdTable::Slots::~Slots() {
    release();
}

void MessageIdTable::Slots::release() {
    if (slots_ != nullptr) {
        munmap(slots_, capacity_ * sizeof(std::uint64_t));
        slots_ = nullptr;
    }
}

std::size_t MessageIdTable::Slots::position(std::uint64_t slot) const {
    if (used_ == 0) {
        return capacity_;
    }
    const std::size_t i = seek(slot >> offset_bits, [slot](std::uint64_t s) { return s == slot; });
    return slots_[i] != 0 ? i : capacity_;
}

bool MessageIdTable::Slots::put(std::uint64_t slot) {
    const std::size_t i = seek(slot >> offset_bits, [slot](std::uint64_t s) { return s == slot; });
    if (slots_[i] != 0) {
        return false; // filed already (the SQLite store: a message both in a run and in the tail,
                      // after a crash)
    }
    slots_[i] = slot;
    ++used_;
    return true;
}

void MessageIdTable::Slots::remove_at(std::size_t at) {
    // Backward shift: pull each later entry of the run into the hole unless its start lies after
    // the hole (cyclically, in the ring), where a lookup would no longer pass the hole to reach it.
    std::size_t i = at;
    for (std::size_t j = next(i); slots_[j] != 0; j = next(j)) {
        const std::size_t k = start(slots_[j] >> offset_bits);
        const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            slots_[i] = slots_[j];
            i = j;
        }
    }
    slots_[i] = 0;
    --used_;
}

std::uint64_t MessageIdTable::Slots::take_front() {
    // Emptying the front slot breaks no run a lookup follows: lookups that started there now start
    // at the next slot, and runs that wrapped around the end go on there too.
    const std::uint64_t slot = std::exchange(slots_[first_], 0);
    if (slot != 0) {
        --used_;
    }
    ++first_;
    constexpr std::size_t release_slots = release_bytes / sizeof(std::uint64_t);
    if (first_ % release_slots == 0) {
        madvise(slots_ + (first_ - release_slots), release_bytes, MADV_DONTNEED);
    }
    return slot;
}

void MessageIdTable::insert(std::size_t hash, std::uint64_t msg_id) {
    if (current_.used() == 0 && old_.used() == 0) {
        base_ = msg_id; // ids grow: the later ones fit for the next four billion
    }
    if (!fits(msg_id) || (current_.index_bits() == 32 && !current_.has_room())) {
        const auto [begin, end] = spilled_.equal_range(hash);
        if (std::none_of(begin, end, [&](const auto& entry) { return entry.second == msg_id; })) {
            spilled_.emplace(hash, msg_id);
        }
        return;
    }
    if (!current_.has_room()) {
        grow();
    }
    move_old(moved_per_insert);
    const std::uint64_t slot = slot_for(hash, msg_id);
    if (old_.position(slot) != old_.capacity()) {
        return; // filed already, and not moved yet
    }
    current_.put(slot);
}

bool MessageIdTable::erase(std::size_t hash, std::uint64_t msg_id) {
    if (fits(msg_id)) {
        const std::uint64_t slot = slot_for(hash, msg_id);
        if (const std::size_t at = current_.position(slot); at != current_.capacity()) {
            current_.remove_at(at);
            return true;
        }
        if (const std::size_t at = old_.position(slot); at != old_.capacity()) {
            old_.remove_at(at);
            if (old_.used() == 0) {
                old_ = Slots{}; // nothing left to move
            }
            return true;
        }
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

void MessageIdTable::clear() {
    current_ = Slots{};
    old_ = Slots{};
    base_ = 0;
    spilled_.clear();
}

void MessageIdTable::grow() {
    // A growth still under way would have ended inserts ago (moved_per_insert); should the
    // arithmetic ever be off, it ends now rather than leave three tables.
    move_old(old_.slots_left());
    const unsigned index_bits = current_.capacity() == 0 ? 6 : current_.index_bits() + 1;
    old_ = std::exchange(current_, Slots{index_bits});
    if (old_.used() == 0) {
        old_ = Slots{};
    }
}

void MessageIdTable::move_old(std::size_t count) {
    if (old_.capacity() == 0) {
        return;
    }
    // Past `count`, it goes on while what is left of the old table is all filled: a lookup there
    // would find no empty slot to stop at. That is the one run at the end of the table, short.
    for (std::size_t moved = 0; old_.used() != 0 && (moved < count || old_.used() == old_.slots_left());
         ++moved) {
        if (const std::uint64_t slot = old_.take_front(); slot != 0) {
            current_.put(slot); // its tag places it in the new table as in the old one
        }
    }
    if (old_.used() == 0) {
        old_ = Slots{}; // moved (or erased) to the last entry
    }
}

} // namespace parley::store
