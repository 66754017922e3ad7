// Starts the real `parley serve` binary for a test on a free port with a temporary data dir, and
// stops it. Captures its log so tests can assert on what it said.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace parley::testing {

class ParleyProcess {
public:
    // Starts `parley serve --listen 127.0.0.1:0 --data-dir <tmp> <args…>` and waits (up to 10 s)
    // for it to log the port it listens on. Throws std::runtime_error if it does not.
    explicit ParleyProcess(std::vector<std::string> args = {}, std::string data_dir = {});
    ~ParleyProcess();
    ParleyProcess(const ParleyProcess&) = delete;
    ParleyProcess& operator=(const ParleyProcess&) = delete;

    std::uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }

    // Sends `signal` and waits up to `timeout` for the exit; returns the exit status as
    // "exited N" or "signal N" (or "timeout" after killing it).
    std::string stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(10));

    const std::string& data_dir() const { return data_dir_; }

    // Everything the server wrote to stderr so far.
    std::string log() const;

    // Runs the binary with `args` to completion (for --help, --version, bad configs); returns the
    // exit code and fills `output` with stdout+stderr.
    static int run_to_exit(const std::vector<std::string>& args, std::string& output,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

    static std::string binary();

private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::string data_dir_;
    bool own_data_dir_ = true; // created here, removed at the end
    int log_fd_ = -1;
    std::thread log_reader_;
    mutable std::mutex log_mutex_;
    std::string log_;
};

} // namespace parley::testing
