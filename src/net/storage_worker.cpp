// The storage thread's loop.
#include "net/storage_worker.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <iterator>

namespace parley::net {

StorageWorker::StorageWorker(std::unique_ptr<store::MessageStore> store, chat::Directory& directory,
                             chat::ShardPoster& poster, const chat::Clock& clock,
                             chat::StorageEngine::Options options)
    : store_(std::move(store)), engine_(*store_, directory, poster, clock, options) {}

StorageWorker::~StorageWorker() {
    stop();
}

void StorageWorker::start() {
    thread_ = std::thread([this] { run(); });
}

void StorageWorker::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void StorageWorker::submit(std::vector<chat::StorageRequest> batch) {
    bool was_empty = false;
    {
        std::lock_guard lock(mutex_);
        was_empty = queue_.empty();
        if (was_empty) {
            queue_.swap(batch);
        } else {
            queue_.insert(queue_.end(), std::make_move_iterator(batch.begin()),
                          std::make_move_iterator(batch.end()));
        }
    }
    if (was_empty) {
        wake_.notify_one();
    }
}

void StorageWorker::run() {
    using clock = std::chrono::steady_clock;
    constexpr auto prune_every = std::chrono::seconds(1);
    auto next_prune = clock::now() + prune_every;
    std::vector<chat::StorageRequest> batch;
    for (;;) {
        bool stop = false;
        {
            std::unique_lock lock(mutex_);
            wake_.wait_until(lock, next_prune, [this] { return !queue_.empty() || stopping_; });
            batch.swap(queue_);
            stop = stopping_ && batch.empty();
        }
        if (!batch.empty()) {
            engine_.process(batch);
            batch.clear();
        }
        if (clock::now() >= next_prune) {
            // Pruning runs between batches in small steps, so traffic waits at most one step.
            if (const std::size_t pruned = engine_.prune_step(); pruned > 0) {
                spdlog::debug("pruned {} messages past the retention period", pruned);
            }
            next_prune = clock::now() + prune_every;
        }
        if (stop) {
            return;
        }
    }
}

} // namespace parley::net
