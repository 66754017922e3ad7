// Routing one chat to a recipient on the same shard, with the shard link, the storage queue and
// the sessions faked so the figures are chat/'s own cost. Two cases: the shard's half alone
// (decode, build the storage request, hand the batch over) and the whole path in one thread
// (router -> StorageEngine over the in-memory store -> deliveries back to the sessions).
#include "chat/router.hpp"
#include "chat/storage_engine.hpp"
#include "store/memory_store.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

using namespace parley::chat;

// Holds the last message like a connection's queue would, without growing.
class KeepLastSession final : public SessionSink {
public:
    send_result send(SharedText text) override {
        last_ = std::move(text);
        return send_result::queued;
    }
    std::size_t queued_bytes() const override { return 0; }
    void resume_reading() override {}

private:
    SharedText last_;
};

class FixedClock final : public Clock {
public:
    std::int64_t now_ms() const override { return 1'764'158'400'123; }
};

// Plays the shard's event loop and the storage thread in one thread: flush requests are
// counted, submitted batches kept for pump(), deliveries handed straight back to the router.
class Loop final : public ShardLink, public StorageQueue, public ShardPoster {
public:
    void request_flush() override {}
    void submit(std::vector<StorageRequest>& batch) override {
        for (auto& request : batch) {
            submitted.push_back(std::move(request));
        }
        batch.clear();
    }
    void post(unsigned, std::vector<Delivery> batch) override {
        for (auto& d : batch) {
            posted.push_back(std::move(d));
        }
    }

    std::vector<StorageRequest> submitted;
    std::vector<Delivery> posted;
};

constexpr std::string_view chat_frame =
    R"({"type":"chat","to_user_id":"u1","message":"0000000000000007000001234abcdef0","id":1234567890123})";

struct TwoUsers {
    Directory directory;
    Loop loop;
    FixedClock clock;
    std::unique_ptr<parley::store::MessageStore> store = parley::store::make_memory_store();
    StorageEngine engine{*store, directory, loop, clock, StorageEngine::Options{}};
    Router router{Router::Config{}, directory, loop, loop};
    SessionState alice_state;
    SessionState bob_state;
    KeepLastSession alice;
    KeepLastSession bob;

    TwoUsers() {
        router.on_text(alice_state, alice, R"({"type":"login","user_id":"u0"})");
        router.on_text(bob_state, bob, R"({"type":"login","user_id":"u1"})");
        pump(); // both catch-ups done: the sessions are live
    }
    ~TwoUsers() {
        router.on_closed(alice_state, alice);
        router.on_closed(bob_state, bob);
    }
    TwoUsers(const TwoUsers&) = delete;
    TwoUsers& operator=(const TwoUsers&) = delete;

    void pump() {
        router.flush();
        if (!loop.submitted.empty()) {
            engine.process(loop.submitted);
            loop.submitted.clear();
        }
        if (!loop.posted.empty()) {
            router.deliver(loop.posted);
            loop.posted.clear();
        }
    }
};

// The shard's half: decode, validate, queue for storage, hand over the pass's batch.
void BM_router_chat_to_storage(benchmark::State& state) {
    TwoUsers users;
    for (auto _ : state) {
        users.router.on_text(users.alice_state, users.alice, chat_frame);
        users.router.flush();
        users.loop.submitted.clear();
    }
}
BENCHMARK(BM_router_chat_to_storage);

// The whole path of one chat: also stored (in memory), fanned out, delivered and acked. The
// store grows by one message per iteration, so the count is fixed to keep memory bounded.
void BM_router_chat_local(benchmark::State& state) {
    TwoUsers users;
    for (auto _ : state) {
        users.router.on_text(users.alice_state, users.alice, chat_frame);
        users.pump();
    }
}
BENCHMARK(BM_router_chat_local)->Iterations(200'000);

// 64 chats per loop pass, as under load: what batching buys per message.
void BM_router_chat_local_batch64(benchmark::State& state) {
    TwoUsers users;
    for (auto _ : state) {
        for (int i = 0; i < 64; ++i) {
            users.router.on_text(users.alice_state, users.alice, chat_frame);
        }
        users.pump();
    }
    state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_router_chat_local_batch64)->Iterations(5'000);

} // namespace
