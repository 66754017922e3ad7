// Which web pages may open a WebSocket to Parley or call its API: the defence against cross-site
// WebSocket hijacking. A browser always sends `Origin` on a WebSocket upgrade and on a POST; a page
// on another site could otherwise use the visitor's network position (or, later, cookies) to talk
// to Parley. Programs that are not browsers send no Origin and are not affected. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace parley::net {

struct OriginPolicy {
    // Origins allowed besides the server's own, exactly as browsers send them
    // ("https://chat.example.com", "http://localhost:8080"); "*" allows every origin.
    std::vector<std::string> allowed;
    // Accept "null": a page opened from disk (file://), such as the seed tutorial's page. Only
    // in `--auth open`, where there is nothing to steal.
    bool allow_null = false;
};

// True if a request with this Origin header (empty: none sent) may proceed. `host` is the
// request's Host header; `tls` whether it arrived over TLS: together they make the server's own
// origin ("http://" + host, or "https://" + host), which is always allowed.
bool origin_allowed(const OriginPolicy& policy, std::string_view origin, std::string_view host, bool tls);

} // namespace parley::net
