// Failure counts kept in last-failure order, so that forgetting idle keys and evicting the oldest
// key are both O(1) per key at the front of a list.
#include "auth/login_throttle.hpp"

#include <algorithm>
#include <iterator>
#include <limits>

namespace parley::auth {

LoginThrottle::LoginThrottle(Config config) : config_(config) {}

bool LoginThrottle::is_forgotten(const Entry& entry, time_point now) const {
    return now - entry.last_failure >= config_.forget_after;
}

std::chrono::milliseconds LoginThrottle::wait_after(unsigned failures) const {
    if (failures < config_.free_failures) {
        return std::chrono::milliseconds::zero();
    }
    // Doubling step by step, stopping at the cap, cannot overflow however many failures there are.
    auto wait = std::min(config_.base_delay, config_.max_delay);
    for (unsigned extra = failures - config_.free_failures; extra > 0 && wait < config_.max_delay; --extra) {
        wait = wait > config_.max_delay / 2 ? config_.max_delay : wait * 2;
    }
    return wait;
}

std::chrono::milliseconds LoginThrottle::retry_after(std::string_view key, time_point now) const {
    const auto found = index_.find(key);
    if (found == index_.end()) {
        return std::chrono::milliseconds::zero();
    }
    const Entry& entry = *found->second;
    if (is_forgotten(entry, now)) {
        return std::chrono::milliseconds::zero();
    }
    const auto ready_at = entry.last_failure + wait_after(entry.failures);
    if (ready_at <= now) {
        return std::chrono::milliseconds::zero();
    }
    return std::chrono::ceil<std::chrono::milliseconds>(ready_at - now);
}

void LoginThrottle::record_failure(std::string_view key, time_point now) {
    while (!entries_.empty() && is_forgotten(entries_.front(), now)) {
        erase(entries_.begin());
    }
    if (const auto found = index_.find(key); found != index_.end()) {
        // Move the entry to the back (newest) without copying it; iterators stay valid.
        entries_.splice(entries_.end(), entries_, found->second);
        Entry& entry = entries_.back();
        if (entry.failures < std::numeric_limits<unsigned>::max()) {
            ++entry.failures;
        }
        entry.last_failure = now;
        return;
    }
    while (!entries_.empty() && entries_.size() >= std::max<std::size_t>(config_.max_keys, 1)) {
        erase(entries_.begin());
    }
    entries_.push_back(Entry{.key = std::string(key), .failures = 1, .last_failure = now});
    index_.emplace(entries_.back().key, std::prev(entries_.end()));
}

void LoginThrottle::record_success(std::string_view key) {
    if (const auto found = index_.find(key); found != index_.end()) {
        erase(found->second);
    }
}

std::size_t LoginThrottle::size() const {
    return index_.size();
}

void LoginThrottle::erase(Entries::iterator it) {
    // The index's key views the entry's string: remove it from the index first.
    index_.erase(it->key);
    entries_.erase(it);
}

} // namespace parley::auth
