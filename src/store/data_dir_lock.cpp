#include "store/data_dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace parley::store {

DataDirLock::DataDirLock(const std::filesystem::path& path, const std::string& label) {
    auto fail = [&](const std::string& cause) { throw std::runtime_error(label + ": " + cause); };
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
        fail("cannot open lock file " + path.string() + ": " + std::strerror(errno));
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        const std::string holder = read_holder();
        ::close(fd_);
        if (err == EWOULDBLOCK) {
            fail("locked: in use by another Parley process" +
                 (holder.empty() ? std::string() : " (pid " + holder + ")") + " holding " + path.string());
        }
        fail("cannot lock " + path.string() + ": " + std::strerror(err));
    }
    // The pid is for the message above only; the lock itself is the flock.
    // Failing to write it is harmless: the next Parley's message just cannot name us.
    const std::string pid = std::to_string(::getpid()) + "\n";
    const bool recorded = ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) > 0;
    (void)recorded;
}

DataDirLock::~DataDirLock() {
    ::close(fd_);
}

std::string DataDirLock::read_holder() const {
    char buffer[32] = {};
    const ssize_t n = ::pread(fd_, buffer, sizeof buffer - 1, 0);
    std::string holder(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) {
        holder.pop_back();
    }
    return holder;
}

} // namespace parley::store
