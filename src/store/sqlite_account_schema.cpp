// Migrations of accounts.db. Version 1 is the initial schema; see sqlite_account_store.cpp for how
// each table is used.
#include "store/sqlite_account_schema.hpp"

#include <array>
#include <string_view>

namespace parley::store {

namespace {

// Version 1, the initial schema.
//  - accounts: one row a login name. disabled is 0 or 1; its partial index holds only disabled
//    accounts, so disabled_accounts() reads a handful of rows however many accounts there are.

//  - sessions: one row a login token, keyed by the token's hash (the token itself is never
//    stored, so a copy of the file logs nobody in). Deleting an account deletes its sessions.
//    Indexed by account for revoke-all and by expiry for pruning.
constexpr std::string_view account_schema_v1 = R"sql(
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_ms    INTEGER NOT NULL
);
CREATE INDEX accounts_disabled ON accounts (name) WHERE disabled != 0;
CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_account ON sessions (account_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_ms);
)sql";

// Version 2: accounts.revoked_seq orders the admin's revocations (password change, disable)
// across processes: each takes the next number, so a running server asks only for those after
// the last it saw (AccountStore::revocations_after).
constexpr std::string_view account_schema_v2 = R"sql(
ALTER TABLE accounts ADD COLUMN revoked_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX accounts_by_revocation ON accounts (revoked_seq);
)sql";

constexpr std::array<Migration, 2> migrations{{
    {1, account_schema_v1},
    {2, account_schema_v2},
}};

static_assert(versions_count_up(migrations), "migration i must bring the schema to version i + 1");

} // namespace

std::span<const Migration> account_migrations() {
    return migrations;
}

int latest_account_schema_version() {
    return migrations.back().version;
}

} // namespace parley::store
