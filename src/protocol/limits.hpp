// Protocol limits, with their defaults. The server's config fills these; docs/protocol.md lists them.
#pragma once

#include <cstddef>

namespace parley::protocol {

struct Limits {
    // A user id is a short name, not a document: 64 bytes holds any sane handle or UUID.
    std::size_t max_user_id_bytes = 64;
    // 64 KiB of text is a long letter; longer belongs in an attachment, not a chat frame.
    std::size_t max_message_bytes = 64 * 1024;
    // Client ids are correlation tokens; 64 bytes fits a UUID with room to spare.
    std::size_t max_client_id_bytes = 64;
};

} // namespace parley::protocol
