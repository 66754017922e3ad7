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
public:
    // Adds a logged-in session (state->user_id and state->session_id set); returns true if it is
    // the user's first on this shard.
    bool add(SessionSink* sink, SessionState* state);
    // Removes it; returns true if it was the user's last on this shard.
    bool remove(const SessionState* state);
    // Sends `text` to every live (not catching up) session of `user` except session `except`;
    // returns how many sessions it was queued for.
    std::size_t send_to(std::string_view user, const SharedText& text, std::uint64_t except);
    // The session with this id, or null.
    LocalSession* find(std::uint64_t session_id);
    // The sessions of `user` on this shard (a copy: closing one may change the table).
    std::vector<LocalSession> sessions_of(std::string_view user) const;
    std::size_t user_count() const { return by_user_.size(); }

private:
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, std::vector<LocalSession>, StringHash, std::equal_to<>> by_user_;
    std::unordered_map<std::uint64_t, LocalSession> by_id_;
};

} // namespace parley::chat
