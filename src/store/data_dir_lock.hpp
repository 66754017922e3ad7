// parley.lock: the data directory's lock, held with flock() by whichever message store has the
// directory open, for as long as it is open. Why a lock file of our own and not only a store's
// own locks: it is taken before the store reads a byte, so a second Parley never checks, migrates
// or replays files the first one is writing, and its message can name the holder. flock()
// conflicts between two opens in one process too (fcntl locks would not), and the kernel drops it
// when the holder dies, SIGKILL included, so a crash never leaves a stale lock.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace parley::store {

inline constexpr std::string_view data_dir_lock_file = "parley.lock";

class DataDirLock {
public:
    // Takes the lock on `path` or throws std::runtime_error starting with `label` (the store and
    // its file, as startup errors name them) and saying why, with the holder's pid if known.
    DataDirLock(const std::filesystem::path& path, const std::string& label);
    ~DataDirLock();
    DataDirLock(const DataDirLock&) = delete;
    DataDirLock& operator=(const DataDirLock&) = delete;

private:
    std::string read_holder() const;

    int fd_ = -1;
};

} // namespace parley::store
