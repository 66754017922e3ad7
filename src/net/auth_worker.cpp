// The auth thread's loop: jobs in FIFO order, a poll of the account store once a second.
#include "net/auth_worker.hpp"

#include "net/thread_name.hpp"
#include "store/account_store.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace parley::net {

namespace {

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Queued logins beyond this are refused at once: under a flood of password guesses the queue
// (each entry ~30 ms of Argon2id) must not grow into minutes of latency for honest users.
constexpr std::size_t max_queued_jobs = 1024;

} // namespace

AuthWorker::AuthWorker(auth::AuthenticatorOptions options, std::unique_ptr<store::AccountStore> accounts)
    : accounts_(std::move(accounts)), authenticator_(std::move(options), accounts_.get()) {}

AuthWorker::~AuthWorker() {
    stop();
}

void AuthWorker::start() {
    thread_ = std::thread([this] {
        name_this_thread("parley-auth");
        run();
    });
}

void AuthWorker::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        jobs_.clear();
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

bool AuthWorker::queue_full() {
    std::lock_guard lock(mutex_);
    return jobs_.size() >= max_queued_jobs;
}

void AuthWorker::submit(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            return;
        }
        jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
}

void AuthWorker::verify(unsigned shard, chat::LoginCredentials credentials,
                        std::function<void(chat::LoginVerdict)> done) {
    if (queue_full()) {
        chat::LoginVerdict busy;
        busy.code = protocol::errc::server_busy;
        busy.message = "too many logins are being checked; try again in a moment";
        links_.post_to_shard(
            shard, [done = std::move(done), busy = std::move(busy)]() mutable { done(std::move(busy)); });
        return;
    }
    submit([this, shard, credentials = std::move(credentials), done = std::move(done)]() mutable {
        chat::LoginVerdict verdict =
            authenticator_.verify_login(credentials, wall_ms(), std::chrono::steady_clock::now());
        links_.post_to_shard(shard, [done = std::move(done), verdict = std::move(verdict)]() mutable {
            done(std::move(verdict));
        });
    });
}

void AuthWorker::handle(unsigned shard, ApiRequest request, std::function<void(ApiReply)> done) {
    if (queue_full()) {
        links_.post_to_shard(shard, [done = std::move(done)] {
            done(ApiReply{503, R"({"error":"server_busy","message":"try again in a moment"})",
                          "Retry-After: 1\r\n"});
        });
        return;
    }
    submit([this, shard, request = std::move(request), done = std::move(done)]() mutable {
        auto outcome = authenticator_.handle_api(request, wall_ms(), std::chrono::steady_clock::now());
        for (const auto& revocation : outcome.revoked) {
            links_.revoke(revocation);
        }
        links_.post_to_shard(shard, [done = std::move(done), reply = std::move(outcome.reply)]() mutable {
            done(std::move(reply));
        });
    });
}

void AuthWorker::run() {
    auto next_poll = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (jobs_.empty()) {
            wake_.wait_until(lock, next_poll, [this] { return stopping_ || !jobs_.empty(); });
        }
        if (stopping_) {
            break;
        }
        if (!jobs_.empty()) {
            auto job = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            job();
            lock.lock();
        }
        if (std::chrono::steady_clock::now() >= next_poll) {
            next_poll = std::chrono::steady_clock::now() + std::chrono::seconds(1);
            lock.unlock();
            // Debug: every disabled account comes back on each change; each session actually
            // closed is logged at info by its connection.
            for (const auto& revocation : authenticator_.poll_changes(wall_ms())) {
                spdlog::debug("closing the sessions of '{}': {}", revocation.user, revocation.reason);
                links_.revoke(revocation);
            }
            lock.lock();
        }
    }
}

} // namespace parley::net
