#include "store/file_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace parley::store {

namespace {
boost::system::error_code last_error() {
    return {errno, boost::system::system_category()};
}
} // namespace

boost::system::error_code write_all(int fd, const char* data, std::size_t size, off_t offset) {
    for (std::size_t done = 0; done < size;) {
        const ssize_t n = ::pwrite(fd, data + done, size - done, offset + static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return last_error();
        }
        if (n == 0) {
            return {EIO, boost::system::system_category()};
        }
        done += static_cast<std::size_t>(n);
    }
    return {};
}

boost::system::error_code sync_directory(const std::filesystem::path& dir) {
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
        return last_error();
    }
    const boost::system::error_code error = ::fsync(dir_fd) == 0 ? boost::system::error_code{} : last_error();
    ::close(dir_fd);
    return error;
}

} // namespace parley::store
