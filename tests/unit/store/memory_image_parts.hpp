// Memory store images made by hand, in memory_store.hpp's format, for tests of what a reader
// refuses: each message gets the next msg_id (1, 2, ...), a fixed ts and text, and no client id.
#pragma once

#include "store/byte_codec.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace parley::store::testing_support {

inline constexpr std::uint8_t head_part = 1;
inline constexpr std::uint8_t users_part = 2;
inline constexpr std::uint8_t messages_part = 3;

struct ImageUser {
    std::string name;
    std::uint64_t last_seq;
};
struct ImageMessage {
    std::uint32_t from;
    std::uint32_t to;
    std::uint64_t from_seq;
    std::uint64_t to_seq;
};

inline std::string part_header(std::uint8_t kind, std::uint32_t count) {
    std::string out;
    bytes::put(out, kind);
    bytes::put(out, count);
    return out;
}

// The parts of an image: messages get msg_ids 1, 2, ... in order.
inline std::vector<std::string> image(const std::vector<ImageUser>& users,
                                      const std::vector<ImageMessage>& messages) {
    std::string head = part_header(head_part, 1);
    bytes::put(head, std::uint64_t{messages.size() + 1}); // next_msg_id
    bytes::put(head, std::uint64_t{1});                   // first_msg_id
    std::string user_items = part_header(users_part, static_cast<std::uint32_t>(users.size()));
    for (const ImageUser& u : users) {
        bytes::put_string(user_items, u.name);
        bytes::put(user_items, u.last_seq);
        bytes::put(user_items, std::uint64_t{0}); // pushed_seq
    }
    std::string message_items = part_header(messages_part, static_cast<std::uint32_t>(messages.size()));
    for (const ImageMessage& m : messages) {
        bytes::put(message_items, std::int64_t{1'700'000'000'000});
        bytes::put(message_items, m.from);
        bytes::put(message_items, m.to);
        bytes::put(message_items, m.from_seq);
        bytes::put(message_items, m.to_seq);
        bytes::put_string(message_items, "text");
        bytes::put_string(message_items, "");
    }
    return {head, user_items, message_items};
}

} // namespace parley::store::testing_support
