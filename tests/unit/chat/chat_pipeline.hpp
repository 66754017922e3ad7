// The chat pipeline as a test fixture: two Routers (two shards) and the storage engine over the
// memory store, all driven from the test's thread.
#pragma once

#include "chat/router.hpp"
#include "chat/storage_engine.hpp"
#include "store/memory_store.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::chat::testing {

// Records everything sent to one session.
class RecordingSession final : public SessionSink {
public:
    send_result send(SharedText text) override {
        received.push_back(boost::json::parse(text.view()).as_object());
        return send_result::queued;
    }
    std::size_t queued_bytes() const override { return queued; }
    void resume_reading() override { ++resumed; }
    std::string peer_address() const override { return "192.0.2.7"; }
    void disconnect(std::string_view reason) override { disconnected = std::string(reason); }
    int resumed = 0;
    std::string disconnected; // the reason, once disconnect() was called

    std::vector<boost::json::object> received;
    std::size_t queued = 0;

    std::string last_type() const {
        return received.empty() ? "" : std::string(received.back().at("type").as_string());
    }
    std::vector<boost::json::object> of_type(std::string_view type) const {
        std::vector<boost::json::object> out;
        for (const auto& o : received) {
            if (o.at("type").as_string() == type) {
                out.push_back(o);
            }
        }
        return out;
    }
};

class FixedClock final : public Clock {
public:
    std::int64_t now_ms() const override { return now; }
    std::int64_t now = 1'700'000'000'000;
};

// Two shards and the storage thread in one test thread: pump() plays the event loops — routers
// hand their batches to the engine, the engine's deliveries go back to the routers.
class ChatPipeline : public ::testing::Test, public ShardLink, public StorageQueue, public ShardPoster {
protected:
    void request_flush() override { ++flush_requests; }
    void submit(std::vector<StorageRequest>& batch) override {
        ++batches_submitted;
        submitted.insert(submitted.end(), std::make_move_iterator(batch.begin()),
                         std::make_move_iterator(batch.end()));
        batch.clear();
    }
    void post(unsigned shard, std::vector<Delivery> batch) override {
        posted.emplace_back(shard, std::move(batch));
    }

    void pump() {
        for (int round = 0; round < 10; ++round) {
            shard0.flush();
            shard1.flush();
            if (submitted.empty() && posted.empty()) {
                return;
            }
            auto batch = std::move(submitted);
            submitted.clear();
            engine->process(batch);
            auto deliveries = std::move(posted);
            posted.clear();
            for (auto& [shard, items] : deliveries) {
                (shard == 0 ? shard0 : shard1).deliver(items);
            }
        }
    }

    void login(Router& r, SessionState& state, RecordingSession& s, std::string_view user,
               std::string_view extra = "") {
        r.on_text(state, s,
                  R"({"type":"login","user_id":")" + std::string(user) + "\"" + std::string(extra) + "}");
        ASSERT_EQ(s.last_type(), "login_ok");
        pump();
        ASSERT_EQ(s.last_type(), "synced");
    }
    void chat(Router& r, SessionState& st, RecordingSession& s, std::string_view to, std::string_view text,
              std::string_view id = "") {
        std::string frame = R"({"type":"chat","to_user_id":")" + std::string(to) + R"(","message":")" +
                            std::string(text) + "\"";
        if (!id.empty()) {
            frame += R"(,"id":)" + std::string(id);
        }
        r.on_text(st, s, frame + "}");
    }

    Directory directory;
    FixedClock clock;
    std::unique_ptr<store::MessageStore> store = store::make_memory_store();
    std::optional<StorageEngine> engine{std::in_place, *store, directory,
                                        *this,         clock,  StorageEngine::Options{}};
    // Fills what every test's routers need; a test may change the rest and call rebuild().
    static Router::Config config_for(unsigned shard) {
        Router::Config c;
        c.shard = shard;
        return c;
    }
    void rebuild(const Router::Config& c0, const Router::Config& c1) {
        router0.emplace(c0, directory, *this, *this);
        router1.emplace(c1, directory, *this, *this);
    }
    std::optional<Router> router0{std::in_place, config_for(0), directory, *this, *this};
    std::optional<Router> router1{std::in_place, config_for(1), directory, *this, *this};
    Router& shard0 = *router0;
    Router& shard1 = *router1;
    std::vector<StorageRequest> submitted;
    std::vector<std::pair<unsigned, std::vector<Delivery>>> posted;
    int flush_requests = 0;
    int batches_submitted = 0;
};

} // namespace parley::chat::testing
