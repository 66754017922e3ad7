// The sessions of each user on one shard. Owned by that shard's Router; never locked because only
// that shard's thread touches it.
#pragma once

#include "chat/session_sink.hpp"

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace parley::chat {

class LocalSessions {
public:
    // Adds a session of `user`; returns true if it is the user's first on this shard.
    bool add(std::string_view user, SessionSink* session);
    // Removes a session of `user`; returns true if it was the user's last on this shard.
    bool remove(std::string_view user, SessionSink* session);
    // Sends `text` to every session of `user` except `except` (may be null); returns how many
    // sessions it was queued for.
    std::size_t send_to(std::string_view user, const SharedText& text, const SessionSink* except);
    // How many sessions `user` has here.
    std::size_t count(std::string_view user) const;
    std::size_t user_count() const { return by_user_.size(); }

private:
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, std::vector<SessionSink*>, StringHash, std::equal_to<>> by_user_;
};

} // namespace parley::chat
