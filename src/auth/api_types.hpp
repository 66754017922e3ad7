// The HTTP JSON API's request and reply as plain data: what the connection read, what it writes
// back. Owned by auth (which gives them meaning); net only carries them.
#pragma once

#include <string>

namespace parley::auth {

struct ApiRequest {
    std::string method;
    std::string path;
    std::string content_type;
    std::string body;
    std::string bearer_token; // from `Authorization: Bearer …`, empty if none
    std::string peer_address;
};

struct ApiReply {
    int status = 200;
    std::string body;          // JSON
    std::string extra_headers; // complete header lines, e.g. "Retry-After: 5\r\n"
};

} // namespace parley::auth
