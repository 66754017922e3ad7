// What the storage thread hands a shard: encoded messages for a user's sessions or for one
// session, and the markers of a login's catch-up. Posted in batches, in commit order.
#pragma once

#include "chat/session_sink.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::chat {

struct Delivery {
    enum class kind : std::uint8_t {
        message,   // send `text`
        ack,       // send `text` (the ack, or the error for a chat that was not stored) and release
                   // `released_bytes` of the session's in-flight budget
        sync_more, // catch-up page sent up to `seq`; more is stored: ask for the next page
        sync_done, // catch-up complete up to `seq`: the session goes live
    };
    Delivery() = default;
    // Spelled out, not aggregate-initialized: GCC zero-fills an aggregate temporary (80 bytes,
    // `rep stos`) before writing its members, which cost ~15 ns a chat on the storage path.
    Delivery(kind what_, std::string_view user_, std::uint64_t session_, std::uint64_t except_session_,
             SharedText text_, std::uint64_t seq_, std::uint32_t released_bytes_ = 0)
        : what(what_), user(user_), session(session_), except_session(except_session_),
          text(std::move(text_)), seq(seq_), released_bytes(released_bytes_) {}

    kind what = kind::message;
    // Non-empty: every live session of this user on the shard, except `except_session`.
    std::string user;
    // When `user` is empty: this session only (also while it is catching up).
    std::uint64_t session = 0;
    std::uint64_t except_session = 0;
    SharedText text;
    // message: its seq in the receiving user's inbox (0 if none); sync_*: the last seq sent.
    std::uint64_t seq = 0;
    std::uint32_t released_bytes = 0;
};

// How the storage thread reaches the shards. Implemented by net::Server; a fake in tests.
class ShardPoster {
public:
    virtual ~ShardPoster() = default;
    // Hands `batch` to shard `shard`, whose Router::deliver() runs it in order. Any thread.
    virtual void post(unsigned shard, std::vector<Delivery> batch) = 0;

protected:
    ShardPoster() = default;
    ShardPoster(const ShardPoster&) = default;
    ShardPoster& operator=(const ShardPoster&) = default;
};

} // namespace parley::chat
