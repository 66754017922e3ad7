// The chat domain on one shard: decodes each request of its sessions, answers what it can at once
// (login_ok, pong, errors) and queues the rest for the storage thread (chats, catch-up, history,
// conversations, receipts) in one batch per loop pass; then hands the storage thread's deliveries
// to the right local sessions. One Router per shard, used only by that shard's thread. No I/O.
#pragma once

#include "chat/clock.hpp"
#include "chat/delivery.hpp"
#include "chat/directory.hpp"
#include "chat/local_sessions.hpp"
#include "chat/login_verifier.hpp"
#include "chat/send_budget.hpp"
#include "chat/session_sink.hpp"
#include "chat/session_state.hpp"
#include "chat/storage_request.hpp"
#include "protocol/decoder.hpp"
#include "protocol/errc.hpp"
#include "protocol/limits.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace parley::chat {

// How a Router asks its shard for an end-of-pass call. Implemented by net::Shard; a fake in tests.
class ShardLink {
public:
    virtual ~ShardLink() = default;
    // Asks for Router::flush() once, after the current loop pass's input is handled.
    virtual void request_flush() = 0;

protected:
    ShardLink() = default;
    ShardLink(const ShardLink&) = default;
    ShardLink& operator=(const ShardLink&) = default;
};

class Router {
public:
    struct Config {
        unsigned shard = 0;
        protocol::Limits limits;
        // The next catch-up page is asked for once the session's queue is below this.
        std::size_t sync_resume_bytes = 64 * 1024;
        // Chats of one session on their way to storage, unacked. A sender faster than the disk
        // is paused here instead of growing the storage queue without bound.
        std::size_t max_inflight_bytes = 1024 * 1024;
        // Who checks logins. Null: `--auth open`, the seed's mode — the client's user_id is
        // trusted as sent.
        LoginVerifier* verifier = nullptr;
        // Account names are case-folded (`--auth password`): fold the user ids a client names
        // (to_user_id, peer) the same way, so "Bob" reaches the account "bob".
        bool fold_user_ids = false;
        // What one user may send over all of its sessions (off when !enabled()). Needs `clock`.
        SendLimits user_limits;
        const Clock* clock = nullptr;
        // Chats refused in a row for the user's limit before the session is closed (1008).
        std::uint32_t max_refused_in_a_row = 100;
    };

    Router(Config config, Directory& directory, ShardLink& link, StorageQueue& storage);

    // One text message from a session. Runs on the shard.
    void on_text(SessionState& state, SessionSink& session, std::string_view text);
    // Replies with an error for a request Parley could not take; `ref_json` is the request's id.
    void reply_error(SessionSink& session, protocol::errc code, std::string_view message,
                     std::string_view ref_json = {});
    // The session's send queue is empty again (called when it wants_next_page).
    void on_send_queue_drained(SessionState& state, SessionSink& session);
    // The session is gone: forget it. Must not be called from inside a send().
    void on_closed(SessionState& state, SessionSink& session);
    // Deliveries from the storage thread, in commit order. Their texts are moved out: the batch
    // is spent.
    void deliver(std::vector<Delivery>& batch);
    // Closes this shard's sessions of `user` (only those logged in with the token tagged
    // `token_tag`, unless it is 0): the token was revoked or the account disabled.
    void disconnect_user(std::string_view user, std::uint64_t token_tag, std::string_view reason);
    // Hands this pass's requests to the storage thread in one batch. Called once per loop pass
    // after request_flush().
    void flush();

    unsigned shard() const { return config_.shard; }
    std::size_t max_inflight_bytes() const { return config_.max_inflight_bytes; }
    std::size_t local_user_count() const { return local_.user_count(); }

private:
    void on_login(SessionState& state, SessionSink& session, const protocol::LoginRequest& login);
    // Registers a session whose user is known (trusted, or verified) and starts its catch-up.
    void complete_login(SessionState& state, SessionSink& session, std::string_view user,
                        std::optional<std::uint64_t> since);
    void finish_verified_login(std::uint32_t ticket, LoginVerdict verdict);
    std::string canonical_user(std::string_view user) const;
    void make_canonical(std::span<char> user) const; // canonical_user() in place
    void on_chat(SessionState& state, SessionSink& session, const protocol::ChatRequest& chat);
    void on_ping(SessionSink& session, const protocol::PingRequest& ping);
    void on_history(SessionState& state, SessionSink& session, const protocol::HistoryRequest& request);
    void on_conversations(SessionState& state, SessionSink& session,
                          const protocol::ConversationsRequest& request);
    void on_receipt(SessionState& state, SessionSink& session, const protocol::ReceiptRequest& request);
    void deliver_to_session(Delivery& d); // moves d.text into the session
    void request_next_page(SessionState& state);
    // Built in place at the back of the pass's batch: a chat's strings move once, not twice.
    template <class Request> void queue(Request&& request) {
        if (pending_.empty()) {
            link_.request_flush();
        }
        pending_.emplace_back(std::forward<Request>(request));
    }
    Origin origin(const SessionState& state) const { return Origin{config_.shard, state.session_id}; }

    Config config_;
    Directory& directory_;
    ShardLink& link_;
    StorageQueue& storage_;
    protocol::Decoder decoder_;
    LocalSessions local_;
    std::vector<StorageRequest> pending_;
    // This pass's chats: one StoreChats in pending_, at pass_chats_at_, made at the pass's first.
    StoreChats& pass_chats();
    static constexpr std::size_t no_chats = static_cast<std::size_t>(-1);
    std::size_t pass_chats_at_ = no_chats;
    std::size_t last_pass_chats_ = 0;
    std::size_t last_pass_bytes_ = 0;
    // Logins waiting for the verifier, by ticket. A session that closes meanwhile is erased, so a
    // late verdict finds nothing and is dropped.
    struct PendingLogin {
        SessionState* state = nullptr;
        SessionSink* session = nullptr;
        std::optional<std::uint64_t> since;
    };
    std::unordered_map<std::uint32_t, PendingLogin> pending_logins_;
    // Wraps after 2^32 logins; a ticket is pending for well under a second, so none collide.
    std::uint32_t login_tickets_ = 0;
};

} // namespace parley::chat
