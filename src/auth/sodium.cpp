// libsodium's process-wide initialisation, done once.
#include "auth/sodium.hpp"

#include <sodium.h>

#include <stdexcept>

namespace parley::auth::detail {

void ensure_sodium() {
    // sodium_init() is idempotent and itself thread-safe, but a static keeps later calls to one
    // guard check. 1 means "already initialised" (someone else in the process did it): fine too.
    static const bool ready = sodium_init() >= 0;
    if (!ready) {
        throw std::runtime_error("libsodium could not initialise (no system randomness?)");
    }
}

} // namespace parley::auth::detail
