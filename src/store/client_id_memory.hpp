// The idempotency check's memory for the SQLite store (ADR 014): fingerprint of (sender, client
// id) -> the msg_ids stored with it, for the messages of the last one to two windows, in 8 bytes
// a slot (MessageIdTable, ADR 015). A found msg_id is a candidate only: the store confirms it
// against the stored message. Pure (the caller passes the time), owned by the store, used from
// its one thread.
#pragma once

#include "store/message_id_table.hpp"

#include <array>
#include <cstddef>
#include <cstdint>

namespace parley::store {

class ClientIdMemory {
public:
    // Remembers `msg_id` under `fingerprint` (once, if remembered again).
    void remember(std::uint64_t fingerprint, std::uint64_t msg_id);

    // Starts loading what find(fingerprint) will read.
    void prefetch(std::uint64_t fingerprint) const {
        const std::size_t part = part_of(fingerprint);
        current_[part].prefetch(fingerprint);
        previous_[part].prefetch(fingerprint);
    }
    // Starts loading where remember(fingerprint, ...) will write.
    void prefetch_to_remember(std::uint64_t fingerprint) const {
        current_[part_of(fingerprint)].prefetch(fingerprint);
    }

    // The first msg_id remembered under `fingerprint` (or under one that shares its slot's bits)
    // that `confirm(msg_id)` accepts, the current generation's first; 0 if none.
    template <class Confirm> std::uint64_t find(std::uint64_t fingerprint, Confirm&& confirm) const {
        const std::size_t part = part_of(fingerprint);
        if (const std::uint64_t found = current_[part].find(fingerprint, confirm); found != 0) {
            return found;
        }
        return previous_[part].find(fingerprint, confirm);
    }

    // Called before each batch that checks: once `window_ms` has passed since the current
    // generation began, it becomes the old one and the one before is dropped. So what was stored
    // within the window is always remembered, and nothing older than two windows is. A dropped
    // generation's memory is given back a part a call: at once, a day's ids (a GiB at 100 M
    // messages) would hold the storage thread for ~80 ms of unmapping on this VM.
    void age(std::int64_t now_ms, std::int64_t window_ms);

    // Bytes of slots the last dropped generation still holds.
    std::size_t dropped_bytes() const;

    // Marks the memory as filled from the store (at its first check after open), starting the
    // first generation at `now_ms`.
    void mark_loaded(std::int64_t now_ms);
    bool loaded() const { return loaded_; }

    std::size_t size() const;

private:
    // Split by the fingerprint's top bits so that growing rehashes one part at a time: a single
    // table of millions of entries would stop the storage thread for tens of ms when it doubles.
    static constexpr std::size_t parts = 64;
    using Part = MessageIdTable;
    using Generation = std::array<Part, parts>;

    static std::size_t part_of(std::uint64_t fingerprint) { return fingerprint >> 58; }
    static_assert(parts == std::size_t{1} << (64 - 58), "part_of() takes as many top bits as parts need");

    Generation current_;
    Generation previous_;
    Generation dropped_; // not searched; its parts before to_free_ still hold memory
    std::size_t to_free_ = 0;
    std::int64_t current_started_ms_ = 0;
    bool loaded_ = false;
};

} // namespace parley::store
