// How many connections the server holds, in total and per client address. Shared by every shard
// (accept and close only, never the message path), so one mutex is its owner. Refusing at accept
// keeps a single address from taking all of the process's file descriptors.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace parley::net {

class ConnectionLimiter {
public:
    // 0 turns a limit off.
    ConnectionLimiter(std::size_t max_total, std::size_t max_per_address)
        : max_total_(max_total), max_per_address_(max_per_address) {}

    enum class verdict { admitted, too_many_total, too_many_from_address };

    // Counts a new connection from `address` unless that would pass a limit. Any thread.
    verdict try_admit(const std::string& address);
    // Forgets one admitted connection from `address`. Any thread.
    void release(const std::string& address);

    std::size_t total() const;
    std::size_t from(const std::string& address) const;

private:
    const std::size_t max_total_;
    const std::size_t max_per_address_;
    mutable std::mutex mutex_;
    std::size_t total_ = 0;
    std::unordered_map<std::string, std::size_t> by_address_;
};

} // namespace parley::net
