// CPU and memory figures from the kernel: the server's from /proc/<pid> (so any server can be
// measured without its cooperation), the generator's own from getrusage and /proc/self.
#pragma once

#include <optional>

#include <sys/types.h>

namespace parley::bench {

// CPU time in seconds, in user space and in the kernel.
struct CpuSeconds {
    double user = 0;
    double system = 0;
    double total() const { return user + system; }
    CpuSeconds operator-(const CpuSeconds& earlier) const {
        return {user - earlier.user, system - earlier.system};
    }
};

// utime and stime of every thread of `pid` (/proc/<pid>/stat fields 14 and 15, in clock ticks:
// 10 ms resolution, so measured windows should be seconds long). nullopt if the process is gone.
// Read apart because a change to the server's own code shows in its user time, while its kernel
// time swings with the machine (ADR 015).
std::optional<CpuSeconds> process_cpu_seconds(pid_t pid);

// VmRSS of `pid` in KiB (/proc/<pid>/status); nullopt if the process is gone.
std::optional<long> process_rss_kib(pid_t pid);

// User + system CPU of this process, all threads, in seconds (getrusage RUSAGE_SELF).
double self_cpu_seconds();

} // namespace parley::bench
