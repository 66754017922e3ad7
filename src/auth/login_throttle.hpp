// Login attempts per key (an IP address or a user name), with exponential backoff after a few
// free failures, so that guessing passwords online is slow. Pure: the time is a parameter.
// Not thread-safe: its owner is the auth thread, the only one that checks credentials.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace parley::auth {

class LoginThrottle {
public:
    using time_point = std::chrono::steady_clock::time_point;

    struct Config {
        // A typo or two, a forgotten caps lock: people get this many tries without waiting.
        unsigned free_failures = 5;
        // The wait after the last free failure; it doubles with each further failure.
        std::chrono::milliseconds base_delay{1000};
        // 15 minutes: long enough that guessing is hopeless, short enough to be a nuisance only.
        std::chrono::milliseconds max_delay{15 * 60 * 1000};
        // A key with no failure for an hour starts afresh. Keep it above max_delay, or a key would
        // be forgotten (and let in) before its wait is over.
        std::chrono::milliseconds forget_after{60 * 60 * 1000};
        // 100 000 keys is a few MiB; when full, the key whose last failure is oldest is evicted.
        std::size_t max_keys = 100000;
    };

    explicit LoginThrottle(Config config);

    // How long until `key` may try again; zero if it may now. After n consecutive failures with
    // n >= free_failures, the wait is base_delay * 2^(n - free_failures), at most max_delay,
    // counted from the last failure. Rounded up to whole milliseconds.
    std::chrono::milliseconds retry_after(std::string_view key, time_point now) const;

    // One more consecutive failure for `key` at `now` (the caller checked retry_after first; a
    // failure recorded during a wait still counts and restarts the wait). Drops keys idle longer
    // than forget_after, then, if `key` is new and max_keys are tracked, evicts the key whose last
    // failure is oldest. Eviction rather than refusing new keys: refusing would let an attacker
    // who cycles through addresses fill the table and then lock everyone else out. The cost is
    // that cycling through max_keys keys resets the oldest key's count; the user-name key and the
    // IP key are throttled separately, so one of them still holds against that.
    void record_failure(std::string_view key, time_point now);

    // A successful login: `key` starts afresh.
    void record_success(std::string_view key);

    // How many keys are tracked now (some may be idle past forget_after until the next failure).
    std::size_t size() const;

private:
    struct Entry {
        std::string key;
        unsigned failures = 0;
        time_point last_failure;
    };
    // Entries in order of their last failure, oldest first: forgetting and eviction both take
    // from the front. The index points into the list (whose nodes never move) and its keys view
    // the entries' own strings.
    using Entries = std::list<Entry>;

    bool is_forgotten(const Entry& entry, time_point now) const;
    std::chrono::milliseconds wait_after(unsigned failures) const;
    void erase(Entries::iterator it);

    Config config_;
    Entries entries_;
    std::unordered_map<std::string_view, Entries::iterator> index_;
};

} // namespace parley::auth
