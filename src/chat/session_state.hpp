// Chat's state for one connection, held by the connection and passed back on every call.
#pragma once

#include <cstdint>
#include <string>

namespace parley::chat {

struct SessionState {
    // Fields ordered by size so the struct packs: every connection holds one.
    std::string user_id;          // empty until login
    std::uint64_t session_id = 0; // unique in the process, assigned at login
    std::uint64_t synced_seq = 0; // the last seq handed over by catch-up
    // The session token this session logged in with (its tag), 0 if none: logout closes it.
    std::uint64_t token_tag = 0;
    // Chats sent to storage and not yet acked, in bytes. Past Router::Config::max_inflight_bytes
    // the connection stops reading (TCP pushes back on the sender) until acks come back, so
    // this stays below that limit plus one message: far below 4 GiB.
    std::uint32_t inflight_bytes = 0;
    // Identifies the login being verified (see login_pending).
    std::uint32_t login_ticket = 0;
    // Chats refused in a row for the user's send budget; past a limit the session is closed.
    std::uint32_t refused_in_a_row = 0;
    // Catch-up after login in progress: live messages are not sent (the catch-up carries them).
    bool syncing = false;
    // A catch-up page is due as soon as the session's send queue has drained.
    bool wants_next_page = false;
    bool reading_paused = false;
    // A login is being verified (auth modes password and jwt): nothing after it is read until the
    // verdict, so a chat pipelined behind the login is handled as the verified user, not refused.
    bool login_pending = false;
    // The user has other sessions on this shard. Kept by LocalSessions as sessions come and go,
    // so that a chat needs no lookup to know whether the sender's other devices here want a copy.
    bool has_local_peers = false;
    // No byte of user_id needs a JSON escape (set at login): with a plain chat's fields, the
    // chat is encoded without looking at its strings again.
    bool user_id_plain = false;

    // Chat's answer to "may this connection read more now?". Runs on the session's shard.
    bool may_read(std::size_t max_inflight_bytes) const {
        return !login_pending && inflight_bytes < max_inflight_bytes;
    }

    bool logged_in() const { return !user_id.empty(); }
};

} // namespace parley::chat
