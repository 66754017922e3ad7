// The per-shard user -> sessions table.
#include "chat/local_sessions.hpp"

#include <algorithm>

namespace parley::chat {

bool LocalSessions::add(std::string_view user, SessionSink* session) {
    auto it = by_user_.find(user);
    if (it == by_user_.end()) {
        by_user_.emplace(std::string(user), std::vector<SessionSink*>{session});
        return true;
    }
    it->second.push_back(session);
    return false;
}

bool LocalSessions::remove(std::string_view user, SessionSink* session) {
    auto it = by_user_.find(user);
    if (it == by_user_.end()) {
        return false;
    }
    auto& sessions = it->second;
    std::erase(sessions, session);
    if (!sessions.empty()) {
        return false;
    }
    by_user_.erase(it);
    return true;
}

std::size_t LocalSessions::send_to(std::string_view user, const SharedText& text, const SessionSink* except) {
    auto it = by_user_.find(user);
    if (it == by_user_.end()) {
        return 0;
    }
    std::size_t queued = 0;
    // Index loop: a send that overflows a queue closes that session, and the close must not
    // reach back into this vector while we iterate (net defers the unregistering to a later step).
    auto& sessions = it->second;
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        if (sessions[i] != except && sessions[i]->send(text) == send_result::queued) {
            ++queued;
        }
    }
    return queued;
}

std::size_t LocalSessions::count(std::string_view user) const {
    auto it = by_user_.find(user);
    return it == by_user_.end() ? 0 : it->second.size();
}

} // namespace parley::chat
