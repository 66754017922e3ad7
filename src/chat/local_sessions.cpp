// The per-shard user -> sessions and id -> session tables.
#include "chat/local_sessions.hpp"

#include <cassert>
#include <tuple>
#include <utility>

namespace parley::chat {

namespace {

constexpr unsigned shard_bits = 6;
constexpr std::uint64_t slot_mask = (std::uint64_t{1} << 26) - 1; // 67 million sessions a shard

std::uint32_t slot_of(std::uint64_t session_id) {
    return static_cast<std::uint32_t>((session_id >> shard_bits) & slot_mask);
}

} // namespace

bool LocalSessions::add(SessionSink* sink, SessionState* state, unsigned shard) {
    std::uint32_t slot = 0;
    if (!free_slots_.empty()) {
        slot = free_slots_.back();
        free_slots_.pop_back();
    } else {
        slot = static_cast<std::uint32_t>(slots_.size());
        assert(slot <= slot_mask);
        slots_.emplace_back();
        generations_.push_back(0);
    }
    const std::uint32_t generation = ++generations_[slot];
    state->session_id = (std::uint64_t{generation} << 32) | (std::uint64_t{slot} << shard_bits) | shard;
    slots_[slot] = LocalSession{sink, state};
    const bool first = by_user_.find(state->user_id) == by_user_.end();
    by_user_.emplace(std::string_view(state->user_id), LocalSession{sink, state});
    users_ += first ? 1 : 0;
    state->has_local_peers = !first;
    if (!first) {
        auto [begin, end] = by_user_.equal_range(state->user_id);
        for (auto it = begin; it != end; ++it) {
            it->second.state->has_local_peers = true;
        }
    }
    return first;
}

bool LocalSessions::remove(SessionState* state) {
    const std::uint32_t slot = slot_of(state->session_id);
    if (slot < slots_.size() && slots_[slot].state == state) {
        slots_[slot] = LocalSession{};
        free_slots_.push_back(slot);
    }
    auto [begin, end] = by_user_.equal_range(state->user_id);
    bool found = false;
    std::size_t left = 0;
    for (auto it = begin; it != end;) {
        if (it->second.state == state) {
            it = by_user_.erase(it);
            found = true;
        } else {
            ++left;
            ++it;
        }
    }
    if (found) {
        state->has_local_peers = false;
    }
    if (found && left == 1) {
        by_user_.find(state->user_id)->second.state->has_local_peers = false; // alone again
    }
    if (found && left == 0) {
        --users_;
        return true;
    }
    return false;
}

std::size_t LocalSessions::send_to(std::string_view user, SharedText text, std::uint64_t except) {
    return send_to(sessions_for(user), std::move(text), except);
}

LocalSessions::UserSessions LocalSessions::sessions_for(std::string_view user) {
    UserSessions found;
    std::tie(found.begin_, found.end_) = by_user_.equal_range(user);
    return found;
}

std::size_t LocalSessions::send_to(const UserSessions& sessions, SharedText text, std::uint64_t except) {
    std::size_t queued = 0;
    // Each session is sent to when the next one is found, so that the last one is known and
    // gets `text` itself. A send that overflows a queue closes that session, but the close must
    // not reach back into this table while we iterate: net defers the unregistering to a later
    // step.
    SessionSink* previous = nullptr;
    for (auto it = sessions.begin_; it != sessions.end_; ++it) {
        const LocalSession& s = it->second;
        // A session catching up gets this message in its catch-up: it was committed before the
        // catch-up was read (see StorageEngine::process).
        if (s.state->session_id == except || s.state->syncing) {
            continue;
        }
        if (previous != nullptr && previous->send(text) == send_result::queued) {
            ++queued;
        }
        previous = s.sink;
    }
    if (previous != nullptr && previous->send(std::move(text)) == send_result::queued) {
        ++queued;
    }
    return queued;
}

std::vector<LocalSession> LocalSessions::sessions_of(std::string_view user) const {
    std::vector<LocalSession> out;
    auto [begin, end] = by_user_.equal_range(user);
    for (auto it = begin; it != end; ++it) {
        out.push_back(it->second);
    }
    return out;
}

LocalSession* LocalSessions::find(std::uint64_t session_id) {
    const std::uint32_t slot = slot_of(session_id);
    if (slot >= slots_.size()) {
        return nullptr;
    }
    LocalSession& s = slots_[slot];
    return s.state != nullptr && s.state->session_id == session_id ? &s : nullptr;
}

} // namespace parley::chat
