// The per-shard user -> sessions and id -> session tables.
#include "chat/local_sessions.hpp"

#include <algorithm>

namespace parley::chat {

bool LocalSessions::add(SessionSink* sink, SessionState* state) {
    const LocalSession session{sink, state};
    by_id_.emplace(state->session_id, session);
    auto it = by_user_.find(state->user_id);
    if (it == by_user_.end()) {
        by_user_.emplace(state->user_id, std::vector<LocalSession>{session});
        return true;
    }
    it->second.push_back(session);
    return false;
}

bool LocalSessions::remove(const SessionState* state) {
    by_id_.erase(state->session_id);
    auto it = by_user_.find(state->user_id);
    if (it == by_user_.end()) {
        return false;
    }
    auto& sessions = it->second;
    std::erase_if(sessions, [state](const LocalSession& s) { return s.state == state; });
    if (!sessions.empty()) {
        return false;
    }
    by_user_.erase(it);
    return true;
}

std::size_t LocalSessions::send_to(std::string_view user, const SharedText& text, std::uint64_t except) {
    auto it = by_user_.find(user);
    if (it == by_user_.end()) {
        return 0;
    }
    std::size_t queued = 0;
    // Index loop: a send that overflows a queue closes that session, and the close must not
    // reach back into this vector while we iterate (net defers the unregistering to a later step).
    auto& sessions = it->second;
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        const LocalSession& s = sessions[i];
        // A session catching up gets this message in its catch-up: it was committed before the
        // catch-up was read (see StorageEngine::process).
        if (s.state->session_id == except || s.state->syncing) {
            continue;
        }
        if (s.sink->send(text) == send_result::queued) {
            ++queued;
        }
    }
    return queued;
}

std::vector<LocalSession> LocalSessions::sessions_of(std::string_view user) const {
    auto it = by_user_.find(user);
    return it == by_user_.end() ? std::vector<LocalSession>{} : it->second;
}

LocalSession* LocalSessions::find(std::uint64_t session_id) {
    auto it = by_id_.find(session_id);
    return it == by_id_.end() ? nullptr : &it->second;
}

} // namespace parley::chat
