// Chat's view of one connection: somewhere to queue encoded messages. Implemented by
// net::WsSession, and by a recording fake in tests, so chat/ never touches a socket.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <utility>

namespace parley::chat {

// One encoded JSON message, shared by every session it goes to: encoded once, written once into
// its block, then only shared. One allocation holds the reference count, the size and the bytes,
// and the queues that hold it are 8 bytes an entry. The count is its own (not a std::shared_ptr's
// control block with a weak count and two virtual calls to free it): a routed chat makes and
// frees two of these, and that was ~150 instructions a message.
class SharedText {
public:
    SharedText() = default;
    explicit SharedText(std::string_view text) : block_(allocate(text.size())) {
        std::memcpy(bytes(block_), text.data(), text.size());
        block_->size = static_cast<std::uint32_t>(text.size());
    }
    SharedText(const SharedText& other) noexcept : block_(other.block_) {
        if (block_ != nullptr) {
            block_->references.fetch_add(1, std::memory_order_relaxed);
        }
    }
    SharedText(SharedText&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
    SharedText& operator=(const SharedText& other) noexcept {
        SharedText(other).swap(*this);
        return *this;
    }
    SharedText& operator=(SharedText&& other) noexcept {
        SharedText(std::move(other)).swap(*this);
        return *this;
    }
    ~SharedText() { release(); }
    void swap(SharedText& other) noexcept { std::swap(block_, other.block_); }

    // A text written straight into its block: `write(char*)` writes at most `bound` bytes there and
    // returns the end of what it wrote (protocol::ChatEncoding, AckEncoding). The block keeps the
    // bound's room: it lives only until the text is sent.
    template <class Write> static SharedText written(std::size_t bound, Write&& write) {
        SharedText shared;
        shared.block_ = allocate(bound);
        char* const text = bytes(shared.block_);
        shared.block_->size = static_cast<std::uint32_t>(std::forward<Write>(write)(text) - text);
        return shared;
    }

    explicit operator bool() const { return block_ != nullptr; }
    const char* data() const { return block_ != nullptr ? bytes(block_) : nullptr; }
    std::size_t size() const { return block_ != nullptr ? block_->size : 0; }
    std::string_view view() const { return {data(), size()}; }

private:
    // The bytes follow the header. Texts are far below 4 GiB: a frame is at most a few MiB
    // (protocol::Limits, catch-up pages).
    struct Block {
        std::atomic<std::uint32_t> references;
        std::uint32_t size;
        std::uint32_t room; // bytes after the header, for the sized delete
    };

    static Block* allocate(std::size_t room) {
        void* memory = ::operator new(sizeof(Block) + room);
        return ::new (memory) Block{{1}, 0, static_cast<std::uint32_t>(room)};
    }
    static char* bytes(Block* block) { return reinterpret_cast<char*>(block + 1); }
    void release() noexcept {
        if (block_ != nullptr && block_->references.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            const std::size_t allocated = sizeof(Block) + block_->room;
            block_->~Block();
            ::operator delete(static_cast<void*>(block_), allocated);
        }
    }

    Block* block_ = nullptr;
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
