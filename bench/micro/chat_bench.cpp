// Routing one chat to a recipient on the same shard, with the shard link, the storage queue and
// the sessions faked so the figures are chat/'s own cost. Two cases: the shard's half alone
// (decode, build the storage request, hand the batch over) and the whole path in one thread
// (router -> StorageEngine over the in-memory store -> deliveries back to the sessions).
#include "chat/router.hpp"
#include "chat/storage_engine.hpp"
#include "store/memory_store.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace parley::chat;

// Holds the last message like a connection's queue would, without growing.
class KeepLastSession final : public SessionSink {
public:
    send_result send(SharedText text) override {
        last_ = std::move(text);
        ++received;
        return send_result::queued;
    }
    std::uint64_t received = 0;
    std::string last_text() const { return std::string(last_.view()); }

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

// A chat frame whose id changes every time, as a client's do: a fixed id would make every
// chat after the first a duplicate (acked, not stored or delivered) and measure that path.
class ChatFrames {
public:
    std::string_view next() {
        std::uint64_t n = first_id + ++count_; // a JSON number has no leading zeros
        for (std::size_t i = id_end_; i > id_end_ - id_digits; --i) {
            frame_[i - 1] = static_cast<char>('0' + n % 10);
            n /= 10;
        }
        return frame_;
    }

private:
    static constexpr std::size_t id_digits = 13;
    static constexpr std::uint64_t first_id = 1'000'000'000'000;
    std::string frame_ =
        R"({"type":"chat","to_user_id":"u1","message":"0000000000000007000001234abcdef0","id":1000000000000})";
    std::size_t id_end_ = frame_.size() - 1;
    std::uint64_t count_ = 0;
};

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

// Every chat stored and delivered: none taken for a duplicate or refused (the sender's last
// reply says why).
void expect_delivered(benchmark::State& state, const TwoUsers& users, std::uint64_t chats) {
    if (users.bob.received < chats) {
        const std::string why = std::to_string(users.bob.received) + " of " + std::to_string(chats) +
                                " chats delivered; the sender's last reply: " + users.alice.last_text();
        state.SkipWithError(why.c_str());
    }
}

// The shard's half: decode, validate, queue for storage, hand over the pass's batch.
void BM_router_chat_to_storage(benchmark::State& state) {
    TwoUsers users;
    ChatFrames frames;
    for (auto _ : state) {
        users.router.on_text(users.alice_state, users.alice, frames.next());
        users.router.flush();
        users.loop.submitted.clear();
    }
}
BENCHMARK(BM_router_chat_to_storage);

// The whole path of one chat: also stored (in memory), fanned out, delivered and acked. The
// store grows by one message per iteration, so the count is fixed to keep memory bounded.
void BM_router_chat_local(benchmark::State& state) {
    TwoUsers users;
    ChatFrames frames;
    for (auto _ : state) {
        users.router.on_text(users.alice_state, users.alice, frames.next());
        users.pump();
    }
    expect_delivered(state, users, state.iterations());
}
BENCHMARK(BM_router_chat_local)->Iterations(200'000);

// 64 chats per loop pass, as under load: what batching buys per message.
void BM_router_chat_local_batch64(benchmark::State& state) {
    TwoUsers users;
    ChatFrames frames;
    for (auto _ : state) {
        for (int i = 0; i < 64; ++i) {
            users.router.on_text(users.alice_state, users.alice, frames.next());
        }
        users.pump();
    }
    expect_delivered(state, users, state.iterations() * 64);
    state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_router_chat_local_batch64)->Iterations(5'000);

} // namespace
