// The fuzz targets' one assertion: an invariant that fails is a crash libFuzzer saves and the
// replay test reports. Unlike assert() it stays on in release (NDEBUG) builds of the replay tests.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace parley::fuzz {

inline void check(bool ok, const char* invariant) {
    if (!ok) {
        std::fprintf(stderr, "fuzz invariant broken: %s\n", invariant);
        std::abort();
    }
}

} // namespace parley::fuzz
