#include "store/account_store.hpp"

#include "raw_file.hpp"
#include "store/sqlite_account_schema.hpp"
#include "store/sqlite_account_store.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// The account store against an accounts.db file and against ":memory:" where the behaviour is the
// same (AccountStoreContract), then what only a shared file has to show: reopening, two
// connections (the server and `parley user ...`) seeing each other, and files it must refuse.

namespace parley::store {
namespace {

namespace fs = std::filesystem;
using testing_support::TempDir;

constexpr std::int64_t t0 = 1'700'000'000'000;
constexpr std::int64_t hour = std::int64_t{3600} * 1000;

const std::string alice_hash = "$argon2id$v=19$m=65536,t=3,p=4$YWxpY2U$aGFzaA";
const std::string bob_hash = "$argon2id$v=19$m=65536,t=3,p=4$Ym9i$aGFzaA";

using testing::raw_sql;
using testing::read_bytes;
using testing::write_bytes;

// The message open_sqlite_account_store() throws, or "" if it opened.
std::string open_error(const fs::path& file) {
    try {
        auto store = open_sqlite_account_store(file.string());
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

// --- the contract, on a file and in memory --------------------------------------------------------

enum class backing { file, memory };

class AccountStoreContract : public ::testing::TestWithParam<backing> {
protected:
    AccountStoreContract()
        : store_(open_sqlite_account_store(GetParam() == backing::file
                                               ? (dir_.path() / accounts_db_file).string()
                                               : std::string(in_memory_accounts))) {}

    // Creates an account that must not fail.
    Account add(const std::string& name, const std::string& hash = alice_hash) {
        auto account = store_->create_account(name, hash, t0);
        EXPECT_TRUE(account.has_value()) << name;
        return account ? *account : Account{};
    }

    // Creates a session that must not fail.
    void login(const Account& account, const std::string& token_hash, std::int64_t expires_ms = t0 + hour) {
        EXPECT_TRUE(store_->create_session(account.id, token_hash, t0, expires_ms).has_value()) << token_hash;
    }

    bool live(const std::string& token_hash, std::int64_t now_ms = t0) {
        auto session = store_->find_session(token_hash, now_ms);
        EXPECT_TRUE(session.has_value());
        return session && session->has_value();
    }

    TempDir dir_;
    std::unique_ptr<AccountStore> store_;
};

TEST_P(AccountStoreContract, CreatesFindsAndListsAccountsByName) {
    const Account carol = add("carol", bob_hash);
    const Account alice = add("alice");
    EXPECT_GT(carol.id, 0);
    EXPECT_NE(alice.id, carol.id);
    EXPECT_EQ(alice.name, "alice");
    EXPECT_FALSE(alice.disabled);
    EXPECT_EQ(alice.created_ms, t0);

    auto found = store_->find_account("alice");
    ASSERT_TRUE(found.has_value());
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->id, alice.id);
    EXPECT_EQ((*found)->password_hash, alice_hash);
    EXPECT_FALSE((*found)->disabled);
    EXPECT_EQ((*found)->created_ms, t0);

    auto missing = store_->find_account("bob");
    ASSERT_TRUE(missing.has_value());
    EXPECT_FALSE(missing->has_value());

    auto all = store_->list_accounts();
    ASSERT_TRUE(all.has_value());
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].name, "alice");
    EXPECT_EQ((*all)[1].name, "carol");
    EXPECT_EQ((*all)[1].password_hash, bob_hash);
}

TEST_P(AccountStoreContract, ATakenNameIsRefusedAndKeepsItsAccount) {
    const Account alice = add("alice");
    auto again = store_->create_account("alice", bob_hash, t0 + 1);
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error(), account_errc::name_taken);
    EXPECT_EQ(again.error().category(), account_category());
    EXPECT_FALSE(again.error().message().empty());
    auto found = store_->find_account("alice");
    ASSERT_TRUE(found.has_value() && found->has_value());
    EXPECT_EQ((*found)->id, alice.id);
    EXPECT_EQ((*found)->password_hash, alice_hash);
    EXPECT_EQ(store_->list_accounts()->size(), 1u);
}

TEST_P(AccountStoreContract, UnknownAccountsAreReportedAsNoSuchAccount) {
    const Account alice = add("alice");
    EXPECT_EQ(store_->set_password("bob", bob_hash).error(), account_errc::no_such_account);
    EXPECT_EQ(store_->set_disabled("bob", true).error(), account_errc::no_such_account);
    EXPECT_EQ(store_->set_disabled("bob", false).error(), account_errc::no_such_account);
    EXPECT_EQ(store_->create_session(alice.id + 100, "t", t0, t0 + hour).error(),
              account_errc::no_such_account);
    EXPECT_FALSE(store_->find_account("bob")->has_value());
    EXPECT_EQ(*store_->revoke_all_sessions(alice.id + 100), 0u);
}

TEST_P(AccountStoreContract, SetPasswordChangesTheHashAndRevokesEverySessionOfTheAccount) {
    const Account alice = add("alice");
    const Account bob = add("bob", bob_hash);
    login(alice, "a1");
    login(alice, "a2");
    login(bob, "b1");
    ASSERT_TRUE(store_->set_password("alice", "$argon2id$new").has_value());
    EXPECT_EQ((*store_->find_account("alice"))->password_hash, "$argon2id$new");
    EXPECT_FALSE(live("a1"));
    EXPECT_FALSE(live("a2"));
    EXPECT_TRUE(live("b1"));
    EXPECT_EQ((*store_->find_account("bob"))->password_hash, bob_hash);
    login(alice, "a3"); // logging in again works
    EXPECT_TRUE(live("a3"));
}

TEST_P(AccountStoreContract, DisablingRevokesSessionsAndEnablingDoesNotRestoreThem) {
    const Account alice = add("alice");
    const Account bob = add("bob", bob_hash);
    login(alice, "a1");
    login(bob, "b1");
    ASSERT_TRUE(store_->set_disabled("alice", true).has_value());
    EXPECT_TRUE((*store_->find_account("alice"))->disabled);
    EXPECT_FALSE(live("a1"));
    EXPECT_TRUE(live("b1"));
    EXPECT_EQ(store_->create_session(alice.id, "a2", t0, t0 + hour).error(), account_errc::account_disabled);
    EXPECT_FALSE(live("a2"));
    ASSERT_TRUE(store_->set_disabled("alice", true).has_value()); // again: no error

    ASSERT_TRUE(store_->set_disabled("alice", false).has_value());
    EXPECT_FALSE((*store_->find_account("alice"))->disabled);
    EXPECT_FALSE(live("a1"));
    login(alice, "a3");
    EXPECT_TRUE(live("a3"));
}

TEST_P(AccountStoreContract, DisabledAccountsListsOnlyDisabledNamesInOrder) {
    add("carol");
    add("alice");
    add("bob");
    EXPECT_TRUE(store_->disabled_accounts()->empty());
    ASSERT_TRUE(store_->set_disabled("carol", true).has_value());
    ASSERT_TRUE(store_->set_disabled("alice", true).has_value());
    EXPECT_EQ(*store_->disabled_accounts(), (std::vector<std::string>{"alice", "carol"}));
    ASSERT_TRUE(store_->set_disabled("carol", false).has_value());
    EXPECT_EQ(*store_->disabled_accounts(), (std::vector<std::string>{"alice"}));
}

TEST_P(AccountStoreContract, FindSessionReturnsTheAccountUntilExpiry) {
    const Account alice = add("alice");
    login(alice, "a1", t0 + hour);
    auto session = store_->find_session("a1", t0 + hour - 1);
    ASSERT_TRUE(session.has_value());
    ASSERT_TRUE(session->has_value());
    EXPECT_EQ((*session)->account_id, alice.id);
    EXPECT_EQ((*session)->name, "alice");
    EXPECT_EQ((*session)->expires_ms, t0 + hour);
    EXPECT_FALSE(live("a1", t0 + hour)); // expires_ms <= now is expired
    EXPECT_FALSE(live("a1", t0 + 2 * hour));
    EXPECT_FALSE(live("unknown"));
}

TEST_P(AccountStoreContract, RevokesOneSessionOrAllOfAnAccount) {
    const Account alice = add("alice");
    const Account bob = add("bob", bob_hash);
    login(alice, "a1");
    login(alice, "a2");
    login(alice, "a3");
    login(bob, "b1");
    EXPECT_EQ(*store_->revoke_session("a1"), true);
    EXPECT_EQ(*store_->revoke_session("a1"), false);
    EXPECT_FALSE(live("a1"));
    EXPECT_TRUE(live("a2"));
    EXPECT_EQ(*store_->revoke_all_sessions(alice.id), 2u);
    EXPECT_EQ(*store_->revoke_all_sessions(alice.id), 0u);
    EXPECT_FALSE(live("a2"));
    EXPECT_FALSE(live("a3"));
    EXPECT_TRUE(live("b1"));
}

TEST_P(AccountStoreContract, PruneDeletesExactlyTheExpiredSessions) {
    const Account alice = add("alice");
    login(alice, "early", t0 + 1);
    login(alice, "now", t0 + 2);
    login(alice, "later", t0 + 3);
    EXPECT_EQ(*store_->prune_expired_sessions(t0), 0u);
    EXPECT_EQ(*store_->prune_expired_sessions(t0 + 2), 2u);
    EXPECT_EQ(*store_->prune_expired_sessions(t0 + 2), 0u);
    EXPECT_TRUE(live("later", t0));
    // Pruned, not merely expired: the rows are gone even for a clock that went back.
    EXPECT_FALSE(live("early", t0));
    EXPECT_FALSE(live("now", t0));
}

TEST_P(AccountStoreContract, OwnWritesDoNotMoveTheChangeCounter) {
    auto before = store_->change_counter();
    ASSERT_TRUE(before.has_value());
    add("alice");
    ASSERT_TRUE(store_->set_disabled("alice", true).has_value());
    EXPECT_EQ(*store_->change_counter(), *before);
}

std::string backing_name(const ::testing::TestParamInfo<backing>& param) {
    return param.param == backing::file ? "file" : "memory";
}

INSTANTIATE_TEST_SUITE_P(AccountStore, AccountStoreContract,
                         ::testing::Values(backing::file, backing::memory), backing_name);

// --- a shared file --------------------------------------------------------------------------------

fs::path accounts_file(const TempDir& dir) {
    return dir.path() / accounts_db_file;
}

TEST(AccountStoreFile, ReopeningFindsEverything) {
    TempDir dir;
    Account alice;
    {
        auto store = open_sqlite_account_store(accounts_file(dir).string());
        alice = *store->create_account("alice", alice_hash, t0);
        ASSERT_TRUE(store->create_account("bob", bob_hash, t0 + 1).has_value());
        ASSERT_TRUE(store->set_disabled("bob", true).has_value());
        ASSERT_TRUE(store->create_session(alice.id, "a1", t0, t0 + hour).has_value());
    }
    auto store = open_sqlite_account_store(accounts_file(dir).string());
    auto all = store->list_accounts();
    ASSERT_TRUE(all.has_value());
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].id, alice.id);
    EXPECT_EQ((*all)[0].password_hash, alice_hash);
    EXPECT_EQ((*all)[1].name, "bob");
    EXPECT_TRUE((*all)[1].disabled);
    EXPECT_EQ((*all)[1].created_ms, t0 + 1);
    auto session = store->find_session("a1", t0);
    ASSERT_TRUE(session.has_value() && session->has_value());
    EXPECT_EQ((*session)->name, "alice");
    EXPECT_EQ(*store->disabled_accounts(), std::vector<std::string>{"bob"});
}

TEST(AccountStoreFile, CreatesItsDirectoryAndUsesWalAndRecordsItsSchema) {
    TempDir dir;
    const fs::path file = dir.path() / "a" / "b" / accounts_db_file;
    auto store = open_sqlite_account_store(file.string());
    ASSERT_TRUE(store->create_account("alice", alice_hash, t0).has_value());
    // Read by another connection while the store is open: normal locking lets it.
    EXPECT_EQ(raw_sql(file, "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(raw_sql(file, "PRAGMA user_version"), std::to_string(latest_account_schema_version()));
    EXPECT_EQ(raw_sql(file, "PRAGMA application_id"), std::to_string(0x50524c41));
    EXPECT_EQ(raw_sql(file, "SELECT name FROM accounts"), "alice");
}

// The server and `parley user ...` at once: each sees what the other committed, and the server's
// change counter moves when the CLI writes (and only then).
TEST(AccountStoreFile, TwoConnectionsSeeEachOthersWritesAndTheCounterMoves) {
    TempDir dir;
    auto server = open_sqlite_account_store(accounts_file(dir).string());
    auto cli = open_sqlite_account_store(accounts_file(dir).string());

    const std::int64_t c0 = *server->change_counter();
    EXPECT_EQ(*server->change_counter(), c0); // nothing happened
    const Account alice = *cli->create_account("alice", alice_hash, t0);
    const std::int64_t c1 = *server->change_counter();
    EXPECT_NE(c1, c0);
    auto found = server->find_account("alice");
    ASSERT_TRUE(found.has_value() && found->has_value());
    EXPECT_EQ((*found)->id, alice.id);

    ASSERT_TRUE(server->create_session(alice.id, "a1", t0, t0 + hour).has_value());
    auto session = cli->find_session("a1", t0);
    ASSERT_TRUE(session.has_value() && session->has_value());
    EXPECT_EQ(*server->change_counter(), c1); // its own write

    ASSERT_TRUE(cli->set_disabled("alice", true).has_value());
    EXPECT_NE(*server->change_counter(), c1);
    EXPECT_EQ(*server->disabled_accounts(), std::vector<std::string>{"alice"});
    EXPECT_FALSE(server->find_session("a1", t0)->has_value());
    EXPECT_EQ(server->create_account("alice", bob_hash, t0).error(), account_errc::name_taken);
}

// The admin's revocations, seen by another connection in the order they happened: what a running
// server needs to close the sessions of an account whose password changed or that was disabled.
TEST(AccountStoreFile, RevocationsAreNumberedAcrossConnectionsAndReadInOrder) {
    TempDir dir;
    auto server = open_sqlite_account_store(accounts_file(dir).string());
    auto cli = open_sqlite_account_store(accounts_file(dir).string());
    const Account alice = *cli->create_account("alice", alice_hash, t0);
    ASSERT_TRUE(cli->create_account("bob", bob_hash, t0).has_value());
    EXPECT_TRUE(server->revocations_after(0)->empty()) << "creating accounts revokes nothing";

    ASSERT_TRUE(cli->set_password("bob", alice_hash).has_value());
    ASSERT_TRUE(cli->set_disabled("alice", true).has_value());
    auto seen = server->revocations_after(0);
    ASSERT_TRUE(seen.has_value());
    ASSERT_EQ(seen->size(), 2u);
    EXPECT_EQ((*seen)[0].name, "bob");
    EXPECT_FALSE((*seen)[0].disabled) << "a password change";
    EXPECT_EQ((*seen)[1].name, "alice");
    EXPECT_TRUE((*seen)[1].disabled);
    EXPECT_LT((*seen)[0].seq, (*seen)[1].seq);
    const std::int64_t last = (*seen)[1].seq;
    EXPECT_TRUE(server->revocations_after(last)->empty());

    ASSERT_TRUE(cli->set_disabled("alice", false).has_value());
    ASSERT_TRUE(server->revoke_all_sessions(alice.id).has_value());
    EXPECT_TRUE(server->revocations_after(last)->empty())
        << "enabling and the server's own logout-everywhere are not admin revocations";
    ASSERT_TRUE(cli->set_password("alice", bob_hash).has_value());
    auto again = server->revocations_after(last);
    ASSERT_EQ(again->size(), 1u);
    EXPECT_EQ((*again)[0].name, "alice");
    EXPECT_GT((*again)[0].seq, last);
}

// A write while another connection holds the write lock waits for it (busy timeout) instead of
// failing with SQLITE_BUSY.
TEST(AccountStoreFile, AWriterWaitsForAnotherConnectionsTransaction) {
    TempDir dir;
    auto store = open_sqlite_account_store(accounts_file(dir).string());
    ASSERT_TRUE(store->create_account("alice", alice_hash, t0).has_value());
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(accounts_file(dir).c_str(), &other), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(other, "BEGIN IMMEDIATE; UPDATE accounts SET created_ms = 1", nullptr, nullptr, nullptr),
        SQLITE_OK);
    std::thread release([other] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
    });
    auto changed = store->set_password("alice", bob_hash);
    auto created = store->create_account("bob", bob_hash, t0);
    release.join();
    sqlite3_close(other);
    EXPECT_TRUE(changed.has_value()) << changed.error().message();
    EXPECT_TRUE(created.has_value()) << created.error().message();
    EXPECT_EQ((*store->find_account("alice"))->created_ms, 1); // the other transaction landed first
}

// The server and a first `parley user add` creating the file at the same moment: both open it,
// and the schema is created once.
TEST(AccountStoreFile, FirstOpensRacingOnANewFileBothSucceed) {
    for (int round = 0; round < 10; ++round) {
        TempDir dir;
        std::vector<std::string> errors(4);
        std::vector<std::thread> openers;
        for (std::string& error : errors) {
            openers.emplace_back([&error, &dir] { error = open_error(accounts_file(dir)); });
        }
        for (std::thread& opener : openers) {
            opener.join();
        }
        for (const std::string& error : errors) {
            EXPECT_EQ(error, "") << "round " << round;
        }
        EXPECT_EQ(raw_sql(accounts_file(dir), "SELECT count(*) FROM sqlite_schema WHERE name = 'accounts'"),
                  "1");
    }
}

TEST(AccountStoreFile, RefusesAFileThatIsNotSqliteAndLeavesItUntouched) {
    TempDir dir;
    std::mt19937 random(7);
    std::string garbage(std::size_t{16} * 1024, '\0');
    for (char& c : garbage) {
        c = static_cast<char>(random());
    }
    write_bytes(accounts_file(dir), garbage);
    const std::string error = open_error(accounts_file(dir));
    EXPECT_NE(error.find("not an SQLite database"), std::string::npos) << error;
    EXPECT_NE(error.find(accounts_file(dir).string()), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    EXPECT_EQ(read_bytes(accounts_file(dir)), garbage);
    EXPECT_FALSE(fs::exists(dir.path() / "accounts.db-wal"));
}

TEST(AccountStoreFile, RefusesAnotherProgramsDatabaseAndLeavesItUntouched) {
    TempDir dir;
    raw_sql(accounts_file(dir),
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY); INSERT INTO accounts VALUES (1)");
    const std::string before = read_bytes(accounts_file(dir));
    const std::string error = open_error(accounts_file(dir));
    EXPECT_NE(error.find("not a Parley accounts database"), std::string::npos) << error;
    EXPECT_NE(error.find(accounts_file(dir).string()), std::string::npos) << error;
    EXPECT_EQ(read_bytes(accounts_file(dir)), before);

    TempDir versioned;
    raw_sql(accounts_file(versioned), "CREATE TABLE t (x); PRAGMA user_version = 1");
    const std::string versioned_before = read_bytes(accounts_file(versioned));
    const std::string versioned_error = open_error(accounts_file(versioned));
    EXPECT_NE(versioned_error.find("not a Parley accounts database"), std::string::npos) << versioned_error;
    EXPECT_EQ(read_bytes(accounts_file(versioned)), versioned_before);
}

// A file written by version 1 (before revocations were numbered) opens, keeps its accounts and
// sessions, and gains the revocation order.
TEST(AccountStoreFile, AVersionOneFileIsMigratedKeepingItsAccounts) {
    TempDir dir;
    const fs::path file = accounts_file(dir);
    raw_sql(file, "PRAGMA journal_mode = WAL; PRAGMA application_id = " + std::to_string(0x50524c41) + "; " +
                      std::string(account_migrations().front().sql) +
                      "INSERT INTO accounts (name, password_hash, created_ms) VALUES ('alice', 'h', 1);"
                      "INSERT INTO sessions VALUES ('t1', 1, 1, 9000000000000);"
                      "PRAGMA user_version = 1;");
    auto store = open_sqlite_account_store(file.string());
    EXPECT_EQ(raw_sql(file, "PRAGMA user_version"), std::to_string(latest_account_schema_version()));
    auto alice = store->find_account("alice");
    ASSERT_TRUE(alice.has_value() && alice->has_value());
    EXPECT_TRUE(store->find_session("t1", t0)->has_value());
    ASSERT_TRUE(store->set_password("alice", "h2").has_value());
    auto revoked = store->revocations_after(0);
    ASSERT_EQ(revoked->size(), 1u);
    EXPECT_EQ((*revoked)[0].name, "alice");
}

TEST(AccountStoreFile, RefusesTheMessageDatabase) {
    TempDir dir;
    const fs::path file = dir.path() / "parley.db";
    raw_sql(file, "PRAGMA application_id = " + std::to_string(0x50524c59) +
                      "; PRAGMA user_version = 1; "
                      "CREATE TABLE users (id)");
    const std::string before = read_bytes(file);
    const std::string error = open_error(file);
    EXPECT_NE(error.find("message database"), std::string::npos) << error;
    EXPECT_EQ(read_bytes(file), before);
}

TEST(AccountStoreFile, RefusesADatabaseFromANewerParleyAndLeavesItUntouched) {
    TempDir dir;
    open_sqlite_account_store(accounts_file(dir).string()).reset();
    raw_sql(accounts_file(dir), "PRAGMA user_version = 99");
    const std::string before = read_bytes(accounts_file(dir));
    const std::string error = open_error(accounts_file(dir));
    EXPECT_NE(error.find("newer"), std::string::npos) << error;
    EXPECT_NE(error.find("99"), std::string::npos) << error;
    EXPECT_NE(error.find(accounts_file(dir).string()), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    EXPECT_EQ(read_bytes(accounts_file(dir)), before);
}

// A disabled account found through a row written behind the store's back (an older CLI, a sqlite3
// shell) still cannot use its sessions: find_session checks the account, not only the session.
TEST(AccountStoreFile, FindSessionRefusesADisabledAccountEvenIfItsSessionsSurvived) {
    TempDir dir;
    auto store = open_sqlite_account_store(accounts_file(dir).string());
    const Account alice = *store->create_account("alice", alice_hash, t0);
    ASSERT_TRUE(store->create_session(alice.id, "a1", t0, t0 + hour).has_value());
    raw_sql(accounts_file(dir), "UPDATE accounts SET disabled = 1 WHERE name = 'alice'");
    EXPECT_FALSE(store->find_session("a1", t0)->has_value());
    EXPECT_EQ(raw_sql(accounts_file(dir), "SELECT count(*) FROM sessions"), "1");
}

TEST(AccountStoreFile, APathThatCannotBeOpenedIsAStartupError) {
    TempDir dir;
    fs::create_directory(accounts_file(dir)); // a directory where the file should be
    const std::string error = open_error(accounts_file(dir));
    EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
    EXPECT_NE(error.find(accounts_file(dir).string()), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

TEST(AccountStoreFile, AnEmptyPathIsAStartupError) {
    EXPECT_NE(open_error("").find("no path"), std::string::npos);
}

} // namespace
} // namespace parley::store
