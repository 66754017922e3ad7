// Process control for integration tests: fork/exec the binary, drain its stderr, find its port.
#include "parley_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>

namespace parley::testing {

namespace {

pid_t spawn(const std::vector<std::string>& args, int out_fd) {
    std::vector<char*> argv;
    std::string bin = ParleyProcess::binary();
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out_fd, STDOUT_FILENO);
        ::dup2(out_fd, STDERR_FILENO);
        ::execv(bin.c_str(), argv.data());
        ::_exit(127);
    }
    return pid;
}

std::string describe_status(int status) {
    if (WIFEXITED(status)) {
        return "exited " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return "signal " + std::to_string(WTERMSIG(status));
    }
    return "unknown";
}

// Waits for `pid` up to `timeout`; returns false on timeout.
bool wait_for(pid_t pid, int& status, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

// The port from the server's "listening on HOST:PORT " line, if it has logged it yet.
std::optional<std::uint16_t> listening_port(const std::string& log) {
    const auto at = log.find("listening on ");
    if (at == std::string::npos) {
        return std::nullopt;
    }
    const auto end = log.find_first_of(" \n", at + 13);
    if (end == std::string::npos) {
        return std::nullopt;
    }
    const auto colon = log.rfind(':', end);
    return static_cast<std::uint16_t>(std::stoi(log.substr(colon + 1, end - colon - 1)));
}

} // namespace

std::string ParleyProcess::binary() {
    if (const char* env = std::getenv("PARLEY_BINARY")) {
        return env;
    }
    return PARLEY_BINARY_PATH;
}

ParleyProcess::ParleyProcess(std::vector<std::string> args, std::string data_dir) {
    if (data_dir.empty()) {
        char tmpl[] = "/tmp/parley-test-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        data_dir_ = tmpl;
    } else {
        data_dir_ = std::move(data_dir);
        own_data_dir_ = false;
    }
    std::vector<std::string> full = {"serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir_};
    // Most tests speak the seed's protocol and drive many messages and connections from one user
    // and one address; the tests of auth and limits set these themselves.
    const auto given = [&args](std::string_view flag) {
        return std::find(args.begin(), args.end(), flag) != args.end();
    };
    for (const auto& [flag, value] :
         {std::pair{"--auth", "open"}, std::pair{"--user-messages-per-second", "0"},
          std::pair{"--user-bytes-per-second", "0"}, std::pair{"--max-connections-per-ip", "0"}}) {
        if (!given(flag)) {
            full.insert(full.end(), {flag, value});
        }
    }
    full.insert(full.end(), args.begin(), args.end());

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe failed");
    }
    pid_ = spawn(full, fds[1]);
    ::close(fds[1]);
    log_fd_ = fds[0];
    log_reader_ = std::thread([this] {
        char buf[4096];
        for (;;) {
            const ssize_t n = ::read(log_fd_, buf, sizeof buf);
            if (n <= 0) {
                break;
            }
            std::lock_guard lock(log_mutex_);
            log_.append(buf, static_cast<std::size_t>(n));
        }
    });

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        const std::string text = log();
        if (const auto port = listening_port(text)) {
            port_ = *port;
            return;
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("parley exited at start (" + describe_status(status) + "): " + text);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    throw std::runtime_error("parley did not report its port within 10 s: " + log());
}

ParleyProcess::~ParleyProcess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    if (log_reader_.joinable()) {
        log_reader_.join();
    }
    if (log_fd_ >= 0) {
        ::close(log_fd_);
    }
    if (own_data_dir_) {
        std::error_code ec;
        std::filesystem::remove_all(data_dir_, ec);
    }
}

std::string ParleyProcess::stop(int signal, std::chrono::milliseconds timeout) {
    if (pid_ <= 0) {
        return "not running";
    }
    ::kill(pid_, signal);
    int status = 0;
    if (!wait_for(pid_, status, timeout)) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return "timeout";
    }
    pid_ = -1;
    return describe_status(status);
}

std::string ParleyProcess::log() const {
    std::lock_guard lock(log_mutex_);
    return log_;
}

int ParleyProcess::run_to_exit(const std::vector<std::string>& args, std::string& output,
                               std::chrono::milliseconds timeout) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe failed");
    }
    const pid_t pid = spawn(args, fds[1]);
    ::close(fds[1]);
    output.clear();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    for (;;) {
        pollfd p{fds[0], POLLIN, 0};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
            break;
        }
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n <= 0) {
            break;
        }
        output.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    if (!wait_for(pid, status, std::chrono::seconds(2))) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace parley::testing
