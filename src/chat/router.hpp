// The chat domain on one shard: decodes each request of its sessions, answers what it can at once
// (login_ok, pong, errors) and queues the rest for the storage thread (chats, catch-up, history,
// conversations, receipts) in one batch per loop pass; then hands the storage thread's deliveries
// to the right local sessions. One Router per shard, used only by that shard's thread. No I/O.
#pragma once

#include "chat/delivery.hpp"
#include "chat/directory.hpp"
#include "chat/local_sessions.hpp"
#include "chat/session_sink.hpp"
#include "chat/session_state.hpp"
#include "chat/storage_request.hpp"
#include "protocol/decoder.hpp"
#include "protocol/errc.hpp"
#include "protocol/limits.hpp"

#include <cstdint>
#include <string>
#include <string_view>
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
    // Deliveries from the storage thread, in commit order.
    void deliver(std::vector<Delivery>& batch);
    // Hands this pass's requests to the storage thread in one batch. Called once per loop pass
    // after request_flush().
    void flush();

    unsigned shard() const { return config_.shard; }
    std::size_t max_inflight_bytes() const { return config_.max_inflight_bytes; }
    std::size_t local_user_count() const { return local_.user_count(); }

private:
    void on_login(SessionState& state, SessionSink& session, const protocol::LoginRequest& login);
    void on_chat(SessionState& state, SessionSink& session, const protocol::ChatRequest& chat);
    void on_ping(SessionSink& session, const protocol::PingRequest& ping);
    void on_history(SessionState& state, SessionSink& session, const protocol::HistoryRequest& request);
    void on_conversations(SessionState& state, SessionSink& session,
                          const protocol::ConversationsRequest& request);
    void on_receipt(SessionState& state, SessionSink& session, const protocol::ReceiptRequest& request);
    void deliver_to_session(const Delivery& d);
    void request_next_page(SessionState& state);
    void queue(StorageRequest request);
    Origin origin(const SessionState& state) const { return Origin{config_.shard, state.session_id}; }

    Config config_;
    Directory& directory_;
    ShardLink& link_;
    StorageQueue& storage_;
    protocol::Decoder decoder_;
    LocalSessions local_;
    std::vector<StorageRequest> pending_;
    std::uint64_t session_counter_ = 0;
};

} // namespace parley::chat
