// The sessions of each user on one shard, and every session by id. Owned by that shard's Router;
// never locked because only that shard's thread touches it.
#pragma once

#include "chat/session_sink.hpp"
#include "chat/session_state.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace parley::chat {

struct LocalSession {
    SessionSink* sink = nullptr;
    SessionState* state = nullptr;
};

class LocalSessions {
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    using ByUser = std::unordered_multimap<std::string_view, LocalSession, StringHash>;

public:
    // Adds a logged-in session (state->user_id set) and gives it its id (state->session_id),
    // unique in the process: `shard` in the low 6 bits, then its slot here, then the slot's
    // generation. Returns true if it is the user's first session on this shard. Both add() and
    // remove() keep `has_local_peers` of the user's sessions here true while there are two or more.
    bool add(SessionSink* sink, SessionState* state, unsigned shard);
    // Removes it; returns true if it was the user's last on this shard.
    bool remove(SessionState* state);
    // Sends `text` to every live (not catching up) session of `user` except session `except`;
    // returns how many sessions it was queued for. The last of them gets `text` itself, the
    // others a copy: a copy is an atomic increment now and a decrement when it is sent.
    std::size_t send_to(std::string_view user, SharedText text, std::uint64_t except);
    // The sessions of one user here, found once for several send_to()s (a burst of one
    // conversation): valid until the next add() or remove().
    class UserSessions {
        friend class LocalSessions;
        ByUser::iterator begin_;
        ByUser::iterator end_;
    };
    UserSessions sessions_for(std::string_view user);
    std::size_t send_to(const UserSessions& sessions, SharedText text, std::uint64_t except);
    // The session with this id, or null (also for the id of a session that has closed).
    LocalSession* find(std::uint64_t session_id);
    // The sessions of `user` on this shard (a copy: closing one may change the table).
    std::vector<LocalSession> sessions_of(std::string_view user) const;
    std::size_t user_count() const { return users_; }

private:
    // One node per session, keyed by its user: most users have one device per shard, so a node
    // each (no per-user vector) is the smallest table for idle sessions.
    // Keyed by a view of the session's own state->user_id, which stays put while the session is
    // here (it is cleared only after remove()): a copy of the name would cost every session 16
    // more bytes.
    ByUser by_user_;
    std::size_t users_ = 0;
    // By id: the slot is in the id, so lookups need no second hash table. Freed slots are reused;
    // the generation in the id tells a reused slot's new session from the old one.
    std::vector<LocalSession> slots_;
    std::vector<std::uint32_t> generations_;
    std::vector<std::uint32_t> free_slots_;
};

} // namespace parley::chat
