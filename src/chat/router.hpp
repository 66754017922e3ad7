// The chat domain on one shard: login, routing a chat to every session of its recipient and to
// the sender's other sessions, acks and error replies. One Router per shard, used only by that
// shard's thread; other shards are reached through ShardLink in batches. No I/O, no real clock.
#pragma once

#include "chat/clock.hpp"
#include "chat/directory.hpp"
#include "chat/local_sessions.hpp"
#include "chat/session_sink.hpp"
#include "protocol/decoder.hpp"
#include "protocol/errc.hpp"
#include "protocol/limits.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace parley::chat {

// A message for every session of `user` on the receiving shard.
struct Delivery {
    std::string user;
    SharedText text;
};

// How a Router reaches the other shards. Implemented by net::Shard; by a fake in tests.
class ShardLink {
public:
    virtual ~ShardLink() = default;
    // Hands `batch` to shard `to_shard`, whose Router::deliver_remote() runs it in order.
    // Runs on the sending shard.
    virtual void post(unsigned to_shard, std::vector<Delivery> batch) = 0;
    // Asks for Router::flush() once, after the current loop pass's input is handled.
    virtual void request_flush() = 0;

protected:
    ShardLink() = default;
    ShardLink(const ShardLink&) = default;
    ShardLink& operator=(const ShardLink&) = default;
};

// Chat's state for one connection, held by the connection and passed back on every call.
struct SessionState {
    std::string user_id; // empty until login
    bool logged_in() const { return !user_id.empty(); }
};

class Router {
public:
    struct Config {
        unsigned shard = 0;
        protocol::Limits limits;
    };

    Router(Config config, Directory& directory, ShardLink& link, const Clock& clock);

    // One text message from a session. Runs on the shard.
    void on_text(SessionState& state, SessionSink& session, std::string_view text);
    // Replies with an error for a request Parley could not take; `ref_json` is the request's id.
    void reply_error(SessionSink& session, protocol::errc code, std::string_view message,
                     std::string_view ref_json = {});
    // The session is gone: forget it. Must not be called from inside a send().
    void on_closed(SessionState& state, SessionSink& session);
    // Deliveries posted by another shard, in the order that shard routed them.
    void deliver_remote(std::vector<Delivery>& batch);
    // Posts this pass's cross-shard deliveries, one batch per shard. Called once per loop pass
    // after request_flush().
    void flush();

    unsigned shard() const { return config_.shard; }
    std::size_t local_user_count() const { return local_.user_count(); }

private:
    void on_login(SessionState& state, SessionSink& session, const protocol::LoginRequest& login);
    void on_chat(SessionState& state, SessionSink& session, const protocol::ChatRequest& chat);
    void on_ping(SessionSink& session, const protocol::PingRequest& ping);
    // Sends `text` to every session of `user`, on every shard, except `except` on this one.
    void route(std::string_view user, const SharedText& text, const SessionSink* except);
    std::uint64_t next_msg_id();

    Config config_;
    Directory& directory_;
    ShardLink& link_;
    const Clock& clock_;
    protocol::Decoder decoder_;
    LocalSessions local_;
    std::vector<std::vector<Delivery>> outboxes_;
    ShardMask outboxes_pending_ = 0;
    std::uint64_t msg_counter_ = 0;
    std::string scratch_;
};

} // namespace parley::chat
