// Chats for store tests. NewMessage views bytes its batch's owner keeps; a test builds its chats
// from temporaries, so their bytes are kept here until the test program ends.
#pragma once

#include "store/byte_arena.hpp"
#include "store/new_message.hpp"

#include <mutex>
#include <string_view>

namespace parley::store::testing_support {

inline std::string_view kept(std::string_view bytes) {
    static std::mutex lock;
    static ByteArena arena;
    const std::scoped_lock hold(lock);
    return arena.keep(bytes);
}

inline NewMessage chat(std::string_view from, std::string_view to, std::string_view text,
                       std::string_view client_id = "") {
    return {kept(from), kept(to), kept(text), kept(client_id)};
}

} // namespace parley::store::testing_support
