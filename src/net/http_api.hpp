// The HTTP JSON API (/api/register, /api/login, /api/logout) as the connection sees it: a request
// in, a reply later. Answering may take tens of milliseconds (Argon2id), so it never runs on a
// shard; the reply comes back on the asking shard's thread. Implemented by net::AuthWorker.
#pragma once

#include "auth/api_types.hpp"

#include <functional>
#include <string_view>

namespace parley::net {

using auth::ApiReply;
using auth::ApiRequest;

class HttpApi {
public:
    virtual ~HttpApi() = default;
    // True if `path` is one of the API's endpoints (whatever the method).
    virtual bool handles(std::string_view path) const = 0;
    // Answers `request`; calls `done` exactly once on shard `shard`'s thread (unless the server
    // is shutting down).
    virtual void handle(unsigned shard, ApiRequest request, std::function<void(ApiReply)> done) = 0;

protected:
    HttpApi() = default;
    HttpApi(const HttpApi&) = default;
    HttpApi& operator=(const HttpApi&) = default;
};

} // namespace parley::net
