// The plan: users in pairs (2k, 2k+1) share a worker, so the closed loop of a pair never crosses
// threads; only fanin's sink receives for senders on other workers.
#include "shared.hpp"

#include <stdexcept>
#include <system_error>

#include <sys/eventfd.h>
#include <unistd.h>

namespace parley::bench {

CreditInbox::CreditInbox() : event_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (event_fd_ < 0) {
        throw std::system_error(errno, std::generic_category(), "eventfd");
    }
}

CreditInbox::~CreditInbox() {
    ::close(event_fd_);
}

void CreditInbox::push(std::span<const std::uint32_t> senders) {
    bool was_empty = false;
    {
        const std::lock_guard lock(mutex_);
        was_empty = senders_.empty();
        senders_.insert(senders_.end(), senders.begin(), senders.end());
    }
    // A non-empty inbox has a wake-up pending already.
    if (was_empty) {
        wake();
    }
}

void CreditInbox::wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(event_fd_, &one, sizeof one);
}

void CreditInbox::take(std::vector<std::uint32_t>& into) {
    std::uint64_t count = 0;
    [[maybe_unused]] const ssize_t n = ::read(event_fd_, &count, sizeof count);
    const std::lock_guard lock(mutex_);
    into.swap(senders_);
    senders_.clear();
}

Shared::Shared(const Options& opts) : options(opts), users(opts.connections) {
    const unsigned workers = options.gen_threads;
    placement.resize(users);
    target.assign(users, no_target);
    streams.resize(users);
    std::vector<std::uint32_t> next_local(workers, 0);
    for (std::uint32_t u = 0; u < users; ++u) {
        const std::uint32_t w = (u / 2) % workers;
        placement[u] = Placement{w, next_local[w]++};
        switch (options.kind) {
        case scenario::pairs:
        case scenario::rate:
            target[u] = u ^ 1;
            break;
        case scenario::fanin:
            target[u] = u == 0 ? no_target : 0;
            break;
        case scenario::idle:
        case scenario::reconnect:
            break;
        }
    }
    for (unsigned w = 0; w < workers; ++w) {
        inboxes.push_back(std::make_unique<CreditInbox>());
    }
}

void Shared::set_phase(phase p) {
    current.store(p, std::memory_order_release);
    for (const auto& inbox : inboxes) {
        inbox->wake();
    }
}

} // namespace parley::bench
