// The storage thread: takes the shards' request batches from one queue, runs them through the
// StorageEngine (group commit: everything queued while the last batch was being committed goes
// into the next one), and prunes old messages once a second. Owns the MessageStore.
#pragma once

#include "chat/storage_engine.hpp"
#include "chat/storage_request.hpp"

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

    void start();
    // Handles everything already queued, then stops the thread. Any thread but the worker's.
    void stop();

    // chat::StorageQueue. Any thread.
    void submit(std::vector<chat::StorageRequest> batch) override;

private:
    void run();

    std::unique_ptr<store::MessageStore> store_;
    chat::StorageEngine engine_;
    // Guards queue_ and stopping_; a leaf lock, held only to move a batch in or out
    // (docs/threads.md).
    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<chat::StorageRequest> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace parley::net
