// Connection counts per address, under one mutex.
#include "net/connection_limiter.hpp"

namespace parley::net {

ConnectionLimiter::verdict ConnectionLimiter::try_admit(const std::string& address) {
    std::lock_guard lock(mutex_);
    if (max_total_ != 0 && total_ >= max_total_) {
        return verdict::too_many_total;
    }
    std::size_t& count = by_address_[address];
    if (max_per_address_ != 0 && count >= max_per_address_) {
        if (count == 0) {
            by_address_.erase(address);
        }
        return verdict::too_many_from_address;
    }
    ++count;
    ++total_;
    return verdict::admitted;
}

void ConnectionLimiter::release(const std::string& address) {
    std::lock_guard lock(mutex_);
    auto it = by_address_.find(address);
    if (it == by_address_.end()) {
        return;
    }
    --total_;
    if (--it->second == 0) {
        by_address_.erase(it); // memory follows the addresses connected now, not all ever seen
    }
}

std::size_t ConnectionLimiter::total() const {
    std::lock_guard lock(mutex_);
    return total_;
}

std::size_t ConnectionLimiter::from(const std::string& address) const {
    std::lock_guard lock(mutex_);
    auto it = by_address_.find(address);
    return it == by_address_.end() ? 0 : it->second;
}

} // namespace parley::net
