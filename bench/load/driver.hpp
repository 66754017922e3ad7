// One benchmark run from start to end: start the workers, move them through the phases, sample
// CPU and memory at the edges of the measured window, and turn what they measured into the JSON
// report. Runs on the main thread.
#pragma once

#include "options.hpp"

#include <string>

namespace parley::bench {

struct Outcome {
    std::string report; // one JSON object
    // 0: clean; 1: the run could not be carried out (setup failed, a worker crashed);
    // 3: it ran, but saw loss, duplication, reordering or errors.
    int exit_code = 0;
};

Outcome run_scenario(const Options& options);

} // namespace parley::bench
