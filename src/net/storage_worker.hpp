// Where the store's calls run. A store that waits for I/O (SQLite) gets the storage thread: it
// takes the shards' request batches from one queue, runs them through the StorageEngine (group
// commit: everything queued while the last batch was being committed goes into the next one),
// and prunes old messages once a second. A store that never waits (the memory store) runs on the
// shard that submits, under one lock: no thread hop, so no wake-up per batch (ADR 008). Owns the
// MessageStore either way.
#pragma once

#include "chat/storage_engine.hpp"
#include "chat/storage_request.hpp"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace parley::net {

class StorageWorker final : public chat::StorageQueue {
public:
    StorageWorker(std::unique_ptr<store::MessageStore> store, chat::Directory& directory,
                  chat::ShardPoster& poster, const chat::Clock& clock, chat::StorageEngine::Options options);
    ~StorageWorker() override;
    StorageWorker(const StorageWorker&) = delete;
    StorageWorker& operator=(const StorageWorker&) = delete;

    // True if requests are handled on the submitting thread (no storage thread).
    bool runs_inline() const { return inline_; }

    void start();
    // Handles everything already queued, then stops the thread. Any thread but the worker's.
    void stop();

    // chat::StorageQueue. Any thread.
    void submit(std::vector<chat::StorageRequest>& batch) override;

private:
    void run();
    // Prunes one step if the engine says one is due. Called with mutex_ held inline.
    void prune();

    std::unique_ptr<store::MessageStore> store_;
    chat::StorageEngine engine_;
    const bool inline_;
    // Thread mode: guards queue_ and stopping_, a leaf lock held only to move a batch in or out.
    // Inline mode: held while a batch is handled, so store calls never overlap (docs/threads.md).
    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<chat::StorageRequest> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace parley::net
