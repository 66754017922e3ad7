// The few file operations both durable stores need, as error codes: writing a buffer whole at an
// offset, and syncing a directory so a file created or renamed in it survives a power cut.
#pragma once

#include <boost/system/error_code.hpp>

#include <sys/types.h>

#include <cstddef>
#include <filesystem>

namespace parley::store {

// pwrite until all `size` bytes are at `offset` (retrying EINTR and short writes); a write that
// makes no progress is EIO.
boost::system::error_code write_all(int fd, const char* data, std::size_t size, off_t offset);

// fsync of the directory itself.
boost::system::error_code sync_directory(const std::filesystem::path& dir);

} // namespace parley::store
