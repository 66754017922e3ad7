// Origin checks: scheme and host compared without regard to case (RFC 6454 §4 lower-cases them).
#include "net/origin_policy.hpp"

#include "net/ascii.hpp"

#include <algorithm>

namespace parley::net {

bool origin_allowed(const OriginPolicy& policy, std::string_view origin, std::string_view host, bool tls) {
    if (origin.empty()) {
        return true;
    }
    if (origin == "null") {
        return policy.allow_null;
    }
    const std::string_view scheme = tls ? "https://" : "http://";
    if (!host.empty() && origin.size() == scheme.size() + host.size() &&
        iequals(origin.substr(0, scheme.size()), scheme) && iequals(origin.substr(scheme.size()), host)) {
        return true;
    }
    return std::any_of(policy.allowed.begin(), policy.allowed.end(), [&](const std::string& allowed) {
        return allowed == "*" || iequals(allowed, origin);
    });
}

} // namespace parley::net
