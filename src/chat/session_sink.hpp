// Chat's view of one connection: somewhere to queue encoded messages. Implemented by
// net::WsSession, and by a recording fake in tests, so chat/ never touches a socket.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace parley::chat {

// One encoded JSON message, shared by every session it goes to: encoded once, copied once into
// its block, then only shared. One allocation holds the reference count, the size and the bytes
// (a shared std::string took two), and the queues that hold it are 16 bytes an entry.
class SharedText {
public:
    SharedText() = default;
    explicit SharedText(std::string_view text) {
        const std::size_t size = text.size();
        std::shared_ptr<char[]> block = std::make_shared_for_overwrite<char[]>(sizeof size + size);
        std::memcpy(block.get(), &size, sizeof size);
        std::memcpy(block.get() + sizeof size, text.data(), size);
        block_ = std::move(block);
    }

    // A text written straight into its block: `write(char*)` writes at most `bound` bytes there and
    // returns the end of what it wrote (protocol::ChatEncoding, AckEncoding). The block keeps the
    // bound's room: it lives only until the text is sent.
    template <class Write> static SharedText written(std::size_t bound, Write&& write) {
        std::shared_ptr<char[]> block = std::make_shared_for_overwrite<char[]>(sizeof bound + bound);
        char* const text = block.get() + sizeof bound;
        const auto size = static_cast<std::size_t>(std::forward<Write>(write)(text) - text);
        std::memcpy(block.get(), &size, sizeof size);
        SharedText shared;
        shared.block_ = std::move(block);
        return shared;
    }

    explicit operator bool() const { return block_ != nullptr; }
    const char* data() const { return block_ ? block_.get() + sizeof(std::size_t) : nullptr; }
    std::size_t size() const {
        std::size_t size = 0;
        if (block_) {
            std::memcpy(&size, block_.get(), sizeof size);
        }
        return size;
    }
    std::string_view view() const { return {data(), size()}; }

private:
    std::shared_ptr<const char[]> block_;
};

inline SharedText make_text(std::string_view text) {
    return SharedText(text);
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
