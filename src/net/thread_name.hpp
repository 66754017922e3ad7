// Names the calling thread (what `top -H`, `ps -L`, perf and gdb show), so an operator can tell
// a shard from the storage or the auth thread. Linux keeps 15 bytes of a name; longer ones are cut.
#pragma once

#include <pthread.h>

#include <string>
#include <string_view>

namespace parley::net {

inline void name_this_thread(std::string_view name) {
    const std::string kept(name.substr(0, 15));
    // Failure only leaves the inherited name ("parley"): nothing to report.
    (void)pthread_setname_np(pthread_self(), kept.c_str());
}

} // namespace parley::net
