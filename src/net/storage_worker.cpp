// The storage thread's loop, or the inline path for a store that never waits.
#include "net/storage_worker.hpp"

#include "net/thread_name.hpp"

#include <spdlog/spdlog.h>

#include <iterator>

namespace parley::net {

StorageWorker::StorageWorker(std::unique_ptr<store::MessageStore> store, chat::Directory& directory,
                             chat::ShardPoster& poster, const chat::Clock& clock,
                             chat::StorageEngine::Options options)
    : store_(std::move(store)), engine_(*store_, directory, poster, clock, options),
      inline_(!store_->waits_on_io()) {}

StorageWorker::~StorageWorker() {
    stop();
}

void StorageWorker::start() {
    if (!inline_) {
        thread_ = std::thread([this] {
            name_this_thread("parley-storage");
            run();
        });
    }
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

void StorageWorker::submit(std::vector<chat::StorageRequest>& batch) {
    if (inline_) {
        // Deliveries are posted to the shards inside process(), under the lock, so each shard
        // receives them in the order the store assigned seqs (docs/threads.md).
        std::lock_guard lock(mutex_);
        engine_.process(batch);
        batch.clear();
        prune();
        return;
    }
    bool was_empty = false;
    {
        std::lock_guard lock(mutex_);
        was_empty = queue_.empty();
        if (was_empty) {
            queue_.swap(batch);
        } else {
            queue_.insert(queue_.end(), std::make_move_iterator(batch.begin()),
                          std::make_move_iterator(batch.end()));
            batch.clear();
        }
    }
    if (was_empty) {
        wake_.notify_one();
    }
}

void StorageWorker::prune() {
    // Pruning runs between batches in small steps, so traffic waits at most one step.
    if (const std::size_t pruned = engine_.prune_if_due(); pruned > 0) {
        spdlog::debug("pruned {} messages past the retention period", pruned);
    }
}

void StorageWorker::run() {
    std::vector<chat::StorageRequest> batch;
    for (;;) {
        bool stop = false;
        {
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, std::chrono::milliseconds(engine_.ms_until_prune()),
                           [this] { return !queue_.empty() || stopping_; });
            batch.swap(queue_);
            stop = stopping_ && batch.empty();
        }
        if (!batch.empty()) {
            engine_.process(batch);
            batch.clear();
        }
        // After the batch's acks and deliveries went out, so indexing delays none of them.
        if (!engine_.maintain()) {
            spdlog::warn("the store's deferred work failed; retrying after the next batch");
        }
        prune();
        if (stop) {
            return;
        }
    }
}

} // namespace parley::net
