// Chat's view of one connection: somewhere to queue encoded messages. Implemented by
// net::WsSession, and by a recording fake in tests, so chat/ never touches a socket.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace parley::chat {

// One encoded JSON message, shared by every session it goes to: encoded once, never copied.
using SharedText = std::shared_ptr<const std::string>;

inline SharedText make_text(std::string text) {
    return std::make_shared<const std::string>(std::move(text));
}

// What send() did with a message, so a caller can count or react.
enum class send_result {
    queued,  // will be written with this loop pass's other output
    dropped, // the session is closing; the message was discarded
    closed,  // this message overflowed the session's queue: the session is being closed (1008)
};

class SessionSink {
public:
    virtual ~SessionSink() = default;
    // Queues one text message. Runs on the session's shard.
    virtual send_result send(SharedText text) = 0;
    // Bytes queued and not yet written. Runs on the session's shard.
    virtual std::size_t queued_bytes() const = 0;
    // Starts reading the connection again after chat paused it (SessionState::reading_paused).
    virtual void resume_reading() = 0;
    // The client's IP address as text ("127.0.0.1", "::1"), for per-address limits.
    virtual std::string peer_address() const { return {}; }
    // Closes the session with a policy-violation close (1008) giving `reason`: for a session
    // whose login was revoked, or one that keeps sending over its limit. Must not be called from
    // inside a send(). Runs on the session's shard.
    virtual void disconnect(std::string_view reason) { (void)reason; }

protected:
    SessionSink() = default;
    SessionSink(const SessionSink&) = default;
    SessionSink& operator=(const SessionSink&) = default;
};

} // namespace parley::chat
