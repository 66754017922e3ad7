// The idempotency check's memory for the SQLite store (ADR 014): fingerprint of (sender, client
// id) -> the newest msg_id stored with it, for the messages of the last one to two windows. A
// found msg_id is a candidate only: the store confirms it against the stored message. Pure (the
// caller passes the time), owned by the store, used from its one thread.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

namespace parley::store {

class ClientIdMemory {
public:
    // Remembers `msg_id` for `fingerprint` (the higher one, if it has one already).
    void remember(std::uint64_t fingerprint, std::uint64_t msg_id);

    // The newest msg_id remembered for `fingerprint`, 0 if none.
    std::uint64_t find(std::uint64_t fingerprint) const;

    // Called before each batch that checks: once `window_ms` has passed since the current
    // generation began, it becomes the old one and the one before is dropped. So what was stored
    // within the window is always remembered, and nothing older than two windows is.
    void age(std::int64_t now_ms, std::int64_t window_ms);

    // Marks the memory as filled from the store (at its first check after open), starting the
    // first generation at `now_ms`.
    void mark_loaded(std::int64_t now_ms);
    bool loaded() const { return loaded_; }

    std::size_t size() const;

private:
    // Split by the fingerprint's top bits so that growing rehashes one part at a time: a single
    // table of millions of entries would stop the storage thread for tens of ms when it doubles.
    static constexpr std::size_t parts = 64;
    using Part = boost::unordered_flat_map<std::uint64_t, std::uint64_t>;
    using Generation = std::array<Part, parts>;

    static std::size_t part_of(std::uint64_t fingerprint) { return fingerprint >> 58; }
    static_assert(parts == std::size_t{1} << (64 - 58), "part_of() takes as many top bits as parts need");

    Generation current_;
    Generation previous_;
    std::int64_t current_started_ms_ = 0;
    bool loaded_ = false;
};

} // namespace parley::store
