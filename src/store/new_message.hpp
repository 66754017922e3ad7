// A chat to be stored, as MessageStore::append() takes it. Apart from message_store.hpp so that
// the shards' requests (chat/storage_request.hpp), which carry chats in this form, need no more.
#pragma once

#include <string_view>

namespace parley::store {

// Views of bytes the batch's owner keeps for as long as append() runs: a shard pass's
// ByteArena (chat/storage_request.hpp's StoreChats), a journal record being replayed, a test's
// strings. A store copies what it keeps.
struct NewMessage {
    std::string_view from;
    std::string_view to;
    std::string_view text;
    std::string_view client_id; // the sender's `id` as sent (JSON text), empty if none
};

} // namespace parley::store
