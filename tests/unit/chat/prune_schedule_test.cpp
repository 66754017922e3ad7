#include "chat_pipeline.hpp"

#include <gtest/gtest.h>

#include <vector>

// Retention's pruning schedule, on the engine's (fake) clock: a step a second while there is
// little to delete; a step every 10 ms while each finds a full batch, so pruning keeps up with a
// server that stores more than a batch a second (it used to prune 1,000 a second at most, and
// memory or disk grew without bound beyond that rate).

namespace parley::chat {
namespace {

using testing::ChatPipeline;

class PruneSchedule : public ChatPipeline {
protected:
    PruneSchedule() {
        StorageEngine::Options options;
        options.retention_ms = 1000;
        options.prune_batch = 10;
        options.prune_every_ms = 1000;
        options.prune_catch_up_ms = 10;
        engine.emplace(*store, directory, *this, clock, options);
    }

    void store_old_messages(int count) {
        std::vector<store::NewMessage> batch(static_cast<std::size_t>(count), {"ann", "ben", "old", ""});
        ASSERT_TRUE(store->append(batch, clock.now - 5000, 0));
    }

    std::uint64_t inbox_size(const std::string& user) {
        auto inbox = store->inbox_since(user, 0, 1000);
        return inbox ? inbox->size() : 0;
    }
};

TEST_F(PruneSchedule, FullStepsComeEveryTenMillisecondsUntilCaughtUpThenEverySecond) {
    store_old_messages(35);
    EXPECT_EQ(engine->prune_if_due(), 0u) << "not due before its first second";
    EXPECT_EQ(engine->ms_until_prune(), 1000);

    clock.now += 1000;
    EXPECT_EQ(engine->prune_if_due(), 10u);
    EXPECT_EQ(engine->ms_until_prune(), 10) << "a full step: the next one soon";
    EXPECT_EQ(engine->prune_if_due(), 0u) << "not due again at the same time";
    clock.now += 10;
    EXPECT_EQ(engine->prune_if_due(), 10u);
    clock.now += 10;
    EXPECT_EQ(engine->prune_if_due(), 10u);
    clock.now += 10;
    EXPECT_EQ(engine->prune_if_due(), 5u);
    EXPECT_EQ(engine->ms_until_prune(), 1000) << "caught up: back to a step a second";
    EXPECT_EQ(inbox_size("ben"), 0u);

    store_old_messages(3);
    clock.now += 999;
    EXPECT_EQ(engine->prune_if_due(), 0u);
    clock.now += 1;
    EXPECT_EQ(engine->prune_if_due(), 3u);
}

TEST_F(PruneSchedule, AClockThatWentBackMakesAStepDueAtOnce) {
    store_old_messages(3);
    clock.now += 1000;
    EXPECT_EQ(engine->prune_if_due(), 3u);
    clock.now -= 60'000;   // the wall clock was set back a minute
    store_old_messages(2); // 5 s older than the new now
    EXPECT_EQ(engine->ms_until_prune(), 0);
    EXPECT_EQ(engine->prune_if_due(), 2u);
    EXPECT_EQ(engine->ms_until_prune(), 1000);
}

TEST_F(PruneSchedule, WithoutRetentionTheScheduleStillMovesOn) {
    StorageEngine::Options options;
    engine.emplace(*store, directory, *this, clock, options);
    store_old_messages(3);
    clock.now += 1000;
    EXPECT_EQ(engine->ms_until_prune(), 0);
    EXPECT_EQ(engine->prune_if_due(), 0u);
    EXPECT_EQ(engine->ms_until_prune(), 1000) << "the storage thread sleeps by it: never a busy loop";
    EXPECT_EQ(inbox_size("ben"), 3u);
}

} // namespace
} // namespace parley::chat
