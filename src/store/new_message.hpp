// A chat to be stored, as MessageStore::append() takes it. Apart from message_store.hpp so that
// the shards' requests (chat/storage_request.hpp), which carry chats in this form, need no more.
#pragma once

#include <string>

namespace parley::store {

struct NewMessage {
    std::string from;
    std::string to;
    std::string text;
    std::string client_id; // the sender's `id` as sent (JSON text), empty if none
};

} // namespace parley::store
