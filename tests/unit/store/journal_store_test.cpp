#include "store/journal_store.hpp"

#include "store/journal_format.hpp"
#include "store/sqlite_store.hpp"

#include "memory_image_parts.hpp"
#include "raw_file.hpp"
#include "temp_dir.hpp"
#include "test_chat.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// The journal store on a real file: what survives a process that dies without closing it, what a
// torn or damaged file does at open, a write the file system refuses, and the data directory's
// guards. (The contract suite and the equivalence test cover what it answers.)

namespace parley::store {
namespace {

namespace fs = std::filesystem;
using testing::read_bytes;
using testing::write_bytes;
using testing_support::TempDir;

constexpr std::int64_t t0 = 1'700'000'000'000;
constexpr std::int64_t day = std::int64_t{24} * 3600 * 1000;

std::vector<NewMessage> chats(const std::string& from, const std::string& to, int count,
                              const std::string& text = "hello") {
    std::vector<NewMessage> batch;
    for (int i = 0; i < count; ++i) {
        batch.push_back(testing_support::chat(from, to, text + " " + std::to_string(i)));
    }
    return batch;
}

std::vector<std::uint64_t> inbox_ids(MessageStore& store, const std::string& user) {
    std::vector<std::uint64_t> ids;
    auto inbox = store.inbox_since(user, 0, 1000);
    EXPECT_TRUE(inbox.has_value());
    if (inbox) {
        for (const InboxEntry& e : *inbox) {
            ids.push_back(e.message.msg_id);
        }
    }
    return ids;
}

class JournalStore : public ::testing::Test {
protected:
    fs::path file() const { return dir.path() / journal::file_name; }

    std::unique_ptr<MessageStore> open(std::vector<std::string>* warnings = nullptr,
                                       std::size_t compact_at_least_bytes = std::size_t{64} << 20) {
        JournalOptions options;
        options.compact_at_least_bytes = compact_at_least_bytes;
        if (warnings != nullptr) {
            options.warn = [warnings](const std::string& line) { warnings->push_back(line); };
        }
        return open_journal_store(dir.path(), options);
    }

    // Opens the store in a child process, runs `body` on it, then ends the child with _exit(0): the
    // store is never closed or flushed — what a crash right after `body` leaves on disk.
    void in_a_process_that_dies(const std::function<void(MessageStore&)>& body,
                                std::size_t compact_at_least_bytes = std::size_t{64} << 20) {
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            std::unique_ptr<MessageStore> store = open(nullptr, compact_at_least_bytes);
            body(*store);
            (void)store.release(); // no destructor: nothing written at close
            ::_exit(::testing::Test::HasFailure() ? 1 : 0);
        }
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child's checks failed";
    }

    // Expects open to throw, with every one of `words` in its message.
    void expect_open_fails(const std::vector<std::string>& words) {
        try {
            open();
            ADD_FAILURE() << "open succeeded";
        } catch (const std::runtime_error& e) {
            for (const std::string& word : words) {
                EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
            }
        }
    }

    TempDir dir;
};

TEST_F(JournalStore, WhatWasAckedSurvivesAProcessThatDiedWithoutClosingIt) {
    in_a_process_that_dies([&](MessageStore& store) {
        ASSERT_TRUE(store.append(chats("ann", "ben", 3), t0, day));
        ASSERT_TRUE(store.append(std::vector<NewMessage>{{"ben", "ann", "back", "id-1"}}, t0 + 1, day));
        ASSERT_TRUE(store.record_receipt({"ben", "ann", receipt_kind::read, 2}));
        ASSERT_TRUE(store.set_pushed_seq("ben", 4)); // a hint: written with the next write only
    });
    auto store = open();
    EXPECT_EQ(inbox_ids(*store, "ann"), (std::vector<std::uint64_t>{1, 2, 3, 4}));
    EXPECT_EQ(inbox_ids(*store, "ben"), (std::vector<std::uint64_t>{1, 2, 3, 4}));
    auto conversations = store->conversations("ben");
    ASSERT_TRUE(conversations && conversations->size() == 1);
    EXPECT_EQ(conversations->front().read_up_to, 2u);
    EXPECT_EQ(conversations->front().unread, 1u);
    EXPECT_EQ(*store->pushed_seq("ben"), 0u) << "never written: lower than set, never higher";
    // The idempotency key came back too: a retry is still a duplicate.
    auto retry = store->append(std::vector<NewMessage>{{"ben", "ann", "back", "id-1"}}, t0 + 2, day);
    ASSERT_TRUE(retry);
    EXPECT_TRUE(retry->front().duplicate);
    EXPECT_EQ(retry->front().msg_id, 4u);
    // And numbering goes on where it was.
    auto next = store->append(chats("ann", "ben", 1), t0 + 3, day);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->front().msg_id, 5u);
    EXPECT_EQ(next->front().to_seq, 5u);
}

TEST_F(JournalStore, PushedSeqIsWrittenWithTheNextWriteOrByMaintainOrAtClose) {
    in_a_process_that_dies([&](MessageStore& store) {
        ASSERT_TRUE(store.append(chats("ann", "ben", 4), t0, day));
        ASSERT_TRUE(store.set_pushed_seq("ben", 2));
        ASSERT_TRUE(store.append(chats("ann", "cat", 1), t0, day)); // carries ben's hint
        ASSERT_TRUE(store.set_pushed_seq("cat", 1));
        ASSERT_TRUE(store.maintain()); // writes cat's
    });
    {
        auto store = open();
        EXPECT_EQ(*store->pushed_seq("ben"), 2u);
        EXPECT_EQ(*store->pushed_seq("cat"), 1u);
        ASSERT_TRUE(store->set_pushed_seq("ann", 3)); // written by the clean close
    }
    auto store = open();
    EXPECT_EQ(*store->pushed_seq("ann"), 3u);
}

TEST_F(JournalStore, PruneIsReplayed) {
    in_a_process_that_dies([&](MessageStore& store) {
        ASSERT_TRUE(store.append(chats("ann", "ben", 3), t0, day));
        ASSERT_TRUE(store.append(chats("ann", "ben", 2), t0 + 10 * day, day));
        auto deleted = store.prune(t0 + day, 100);
        ASSERT_TRUE(deleted);
        EXPECT_EQ(*deleted, 3u);
    });
    auto store = open();
    EXPECT_EQ(inbox_ids(*store, "ben"), (std::vector<std::uint64_t>{4, 5}));
    EXPECT_EQ(*store->last_seq("ben"), 5u);
}

// Compaction rewrites the journal as an image of the state: smaller, and what it answers after a
// crash (a process that never closed the store) is what it answered before.
TEST_F(JournalStore, CompactionShrinksTheJournalAndKeepsEverything) {
    const fs::path journal_file = file();
    in_a_process_that_dies(
        [&](MessageStore& store) {
            // Many receipts (each its own record) on few messages: the state stays small.
            ASSERT_TRUE(store.append(chats("ann", "ben", 3), t0, day));
            for (std::uint64_t i = 0; i < 600; ++i) {
                ASSERT_TRUE(store.record_receipt({"ben", "ann", receipt_kind::delivered, 1 + i % 3}));
            }
            ASSERT_TRUE(store.record_receipt({"ben", "ann", receipt_kind::read, 2}));
            ASSERT_TRUE(store.set_pushed_seq("ben", 3)); // pending: the image must carry it
            const auto size_before = fs::file_size(journal_file);
            ASSERT_GT(size_before, 16u * 1024);
            ASSERT_TRUE(store.maintain()); // forks the child that writes the image
            // Written while it runs: these must follow the image in the new journal.
            ASSERT_TRUE(store.append(chats("ben", "ann", 1), t0, day));
            ASSERT_TRUE(store.record_receipt({"ann", "ben", receipt_kind::read, 4}));
            const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
            while (fs::file_size(journal_file) >= size_before && std::chrono::steady_clock::now() < until) {
                ASSERT_TRUE(store.maintain());
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            EXPECT_LT(fs::file_size(journal_file), size_before / 10);
            EXPECT_FALSE(fs::exists(journal_file.string() + ".compacting"));
            ASSERT_TRUE(store.append(chats("ben", "ann", 1), t0, day)); // a record after the switch
        },
        16 * 1024);
    auto store = open();
    EXPECT_EQ(inbox_ids(*store, "ann"), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
    auto ann_view = store->conversations("ann");
    ASSERT_TRUE(ann_view && ann_view->size() == 1);
    EXPECT_EQ(ann_view->front().read_up_to, 4u) << "the receipt written during the compaction";
    EXPECT_EQ(*store->pushed_seq("ben"), 3u);
    auto conversations = store->conversations("ben");
    ASSERT_TRUE(conversations && conversations->size() == 1);
    EXPECT_EQ(conversations->front().read_up_to, 2u);
    EXPECT_EQ(conversations->front().unread, 1u);
    EXPECT_EQ(ann_view->front().peer_delivered_up_to, 3u);
}

// A journal of messages that are all still held is about the size of its image: rewriting it
// would gain nothing, so it is left alone.
TEST_F(JournalStore, AJournalOfLiveMessagesIsNotRewritten) {
    std::vector<std::string> compacted;
    JournalOptions options;
    options.compact_at_least_bytes = 16 * 1024;
    options.info = [&](const std::string& line) { compacted.push_back(line); };
    auto store = open_journal_store(dir.path(), options);
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(store->append(chats("ann", "ben", 20, std::string(40, 'x')), t0, day));
    }
    const auto size = fs::file_size(file());
    ASSERT_GT(size, 16u * 1024);
    ASSERT_TRUE(store->maintain());
    EXPECT_TRUE(compacted.empty());
    EXPECT_EQ(fs::file_size(file()), size);
}

// A stop during compaction leaves its unfinished file beside the whole journal.
TEST_F(JournalStore, AnUnfinishedCompactionIsRemovedAndTheJournalKept) {
    {
        auto store = open();
        ASSERT_TRUE(store->append(chats("ann", "ben", 2), t0, day));
    }
    const fs::path leftover = file().string() + ".compacting";
    write_bytes(leftover, "half an image");
    std::vector<std::string> warnings;
    auto store = open(&warnings);
    EXPECT_FALSE(fs::exists(leftover));
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("interrupted"), std::string::npos) << warnings[0];
    EXPECT_EQ(inbox_ids(*store, "ben"), (std::vector<std::uint64_t>{1, 2}));
}

// A crash during a write leaves its record partly on disk: open cuts it off, says so, and
// carries on with everything before it; the cut-off batch was never acked.
// An image whose parts each read, but which is not a whole state (an inbox stops short of its
// user's last seq: the next message would be filed under a seq its place does not give), is
// refused at open, whether records follow it or not.
TEST_F(JournalStore, AnImageWithAnInboxThatStopsShortIsRefused) {
    const auto parts = testing_support::image({{"ann", 3}, {"ben", 2}}, {{0, 1, 1, 1}, {0, 1, 2, 2}});
    std::string journal;
    journal::write_file_header(journal);
    for (const std::string& part : parts) {
        journal::write_image_part(journal, part);
    }
    write_bytes(file(), journal);
    expect_open_fails({"incomplete", "record 4"});
    journal::write_pushed_seq(journal, "ben", 1);
    write_bytes(file(), journal);
    expect_open_fails({"incomplete", "record 4"});
}

TEST_F(JournalStore, ATornWriteAtTheEndIsCutOffWithAWarning) {
    {
        auto store = open();
        ASSERT_TRUE(store->append(chats("ann", "ben", 2), t0, day));
    }
    const std::string intact = read_bytes(file());
    std::string torn;
    journal::write_append(torn, chats("ann", "ben", 5), t0, day);
    write_bytes(file(), torn.substr(0, torn.size() / 2), static_cast<std::streamoff>(intact.size()));

    std::vector<std::string> warnings;
    {
        auto store = open(&warnings);
        ASSERT_EQ(warnings.size(), 1u);
        EXPECT_NE(warnings[0].find("cut off " + std::to_string(torn.size() / 2) + " bytes"),
                  std::string::npos)
            << warnings[0];
        EXPECT_EQ(read_bytes(file()), intact) << "the torn bytes are gone from the file";
        EXPECT_EQ(inbox_ids(*store, "ben"), (std::vector<std::uint64_t>{1, 2}));
        auto next = store->append(chats("ann", "ben", 1), t0, day);
        ASSERT_TRUE(next);
        EXPECT_EQ(next->front().msg_id, 3u) << "the torn batch took no ids";
    }
    warnings.clear();
    auto store = open(&warnings);
    EXPECT_TRUE(warnings.empty());
    EXPECT_EQ(inbox_ids(*store, "ben"), (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST_F(JournalStore, DamageBeforeTheEndRefusesToOpenAndChangesNothing) {
    {
        auto store = open();
        ASSERT_TRUE(store->append(chats("ann", "ben", 2), t0, day));
        ASSERT_TRUE(store->append(chats("ann", "ben", 2), t0, day));
    }
    std::string bytes = read_bytes(file());
    const std::size_t at = journal::file_header_bytes + journal::record_header_bytes + 20;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x40); // inside the first record's payload
    write_bytes(file(), bytes);
    expect_open_fails({"damaged at byte 16", "truncate -s 16 " + file().string()});
    EXPECT_EQ(read_bytes(file()), bytes);
}

TEST_F(JournalStore, AFileThatIsNotAJournalIsRefused) {
    write_bytes(file(), "these are not the bytes of a journal");
    expect_open_fails({"not a Parley journal", journal::file_name.data()});
    std::string newer;
    journal::write_file_header(newer);
    newer[8] = 9;
    write_bytes(file(), newer);
    expect_open_fails({"newer Parley"});
}

TEST_F(JournalStore, AnEmptyShellLeftByACrashAtCreationStartsAfresh) {
    write_bytes(file(), std::string(5, '\0'));
    auto store = open();
    ASSERT_TRUE(store->append(chats("ann", "ben", 1), t0, day));
    EXPECT_EQ(inbox_ids(*store, "ben"), (std::vector<std::uint64_t>{1}));
}

TEST_F(JournalStore, ASecondOpenOfTheDirectoryIsRefused) {
    auto first = open();
    expect_open_fails({"locked", "in use by another Parley process"});
}

TEST_F(JournalStore, TheTwoDurableStoresRefuseEachOthersDirectory) {
    { open(); }
    try {
        open_sqlite_store(dir.path());
        ADD_FAILURE() << "the SQLite store opened a journal's directory";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("--store journal"), std::string::npos) << e.what();
    }
    TempDir sqlite_dir;
    { open_sqlite_store(sqlite_dir.path()); }
    try {
        open_journal_store(sqlite_dir.path());
        ADD_FAILURE() << "the journal store opened an SQLite store's directory";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("--store sqlite"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(sqlite_dir.path() / journal::file_name));
}

// The file system refuses a write part way (here: the file size limit, EFBIG; on a server, a full
// disk): the call fails, the file is cut back, nothing of the batch is stored, and the next call
// gets the ids the failed one would have had.
TEST_F(JournalStore, AWriteTheFileSystemRefusesStoresNothing) {
    auto store = open();
    ASSERT_TRUE(store->append(chats("ann", "ben", 2), t0, day));
    const std::string before = read_bytes(file());

    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = saved;
    small.rlim_cur = before.size() + 100; // room for part of the batch below, not all of it
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    auto refused = store->append(chats("ann", "ben", 10, std::string(200, 'x')), t0, day);
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
    std::signal(SIGXFSZ, old_handler);

    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), boost::system::error_code(EFBIG, boost::system::system_category()));
    EXPECT_EQ(read_bytes(file()), before);
    EXPECT_EQ(inbox_ids(*store, "ben"), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(*store->last_seq("ben"), 2u);

    auto next = store->append(chats("ann", "ben", 1), t0, day);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->front().msg_id, 3u);
    store.reset();
    store = open();
    EXPECT_EQ(inbox_ids(*store, "ben"), (std::vector<std::uint64_t>{1, 2, 3}));
}

} // namespace
} // namespace parley::store
