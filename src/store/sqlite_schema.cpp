// Migrations of the SQLite store. Version 1 is the initial schema; see sqlite_store.cpp for how
// each table is used. Ids are SQLite integers (64-bit), names live only in `users`.
#include "store/sqlite_schema.hpp"

#include <array>

namespace parley::store {

namespace {

// Version 1, the initial schema.
//  - users: a name's integer id, its pushed_seq, and seq_floor: the highest seq it had when prune
//    last ran, so its next seq stays above everything ever assigned once its inbox is emptied.
//  - messages: one row a chat. lo/hi are min/max(sender, recipient), so one index range holds a
//    conversation in both directions (history, unread counts). client_id is NULL when the client
//    sent none; its index is partial, so a chat without one pays nothing for it, and not unique,
//    because an id may come back once the idempotency window has passed.
//  - inbox: (user, seq) -> msg_id, both participants' entries (one for a chat with oneself).
//  - conversations: per (user, peer) the user's read/delivered marks. Written once, by the pair's
//    first message, and then only by receipts: the last message is found through
//    messages_by_conversation when read, so a chat does not rewrite two scattered rows.
//  - meta: msg_id_floor plays seq_floor's part for msg_ids (messages' max id can be pruned).
constexpr std::string_view schema_v1 = R"sql(
CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    pushed_seq INTEGER NOT NULL DEFAULT 0,
    seq_floor  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    ts            INTEGER NOT NULL,
    sender        INTEGER NOT NULL,
    recipient     INTEGER NOT NULL,
    lo            INTEGER NOT NULL,
    hi            INTEGER NOT NULL,
    sender_seq    INTEGER NOT NULL,
    recipient_seq INTEGER NOT NULL,
    client_id     TEXT,
    body          TEXT    NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (lo, hi, id);
CREATE INDEX messages_by_client_id ON messages (sender, client_id) WHERE client_id IS NOT NULL;
CREATE TABLE inbox (
    user   INTEGER NOT NULL,
    seq    INTEGER NOT NULL,
    msg_id INTEGER NOT NULL,
    PRIMARY KEY (user, seq)
) WITHOUT ROWID;
CREATE TABLE conversations (
    user            INTEGER NOT NULL,
    peer            INTEGER NOT NULL,
    read_up_to      INTEGER NOT NULL DEFAULT 0,
    delivered_up_to INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user, peer)
) WITHOUT ROWID;
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('msg_id_floor', 0);
)sql";

// Version 2: the indexes a chat's readers need are no longer written by the chat's own commit
// (ADR 008). A commit appends to `messages` (rowid order: a batch fills a few fresh pages); inbox
// entries, the conversation index and the client-id index are written later, for every message
// past meta.indexed_through at once, sorted, so each index page is written once for many rows
// instead of once per row. The two indexes of `messages` become tables for that reason: SQLite
// maintains a table's own indexes on every insert.
//  - conversation_messages: (lo, hi) -> msg_id, history and unread counts.
//  - client_ids: (sender, client_id) -> msg_id, the idempotency check.
//  - meta.indexed_through: every message with id <= it has its index rows.
constexpr std::string_view schema_v2 = R"sql(
DROP INDEX messages_by_conversation;
DROP INDEX messages_by_client_id;
CREATE TABLE conversation_messages (
    lo     INTEGER NOT NULL,
    hi     INTEGER NOT NULL,
    msg_id INTEGER NOT NULL,
    PRIMARY KEY (lo, hi, msg_id)
) WITHOUT ROWID;
CREATE TABLE client_ids (
    sender    INTEGER NOT NULL,
    client_id TEXT    NOT NULL,
    msg_id    INTEGER NOT NULL,
    PRIMARY KEY (sender, client_id, msg_id)
) WITHOUT ROWID;
INSERT INTO conversation_messages (lo, hi, msg_id) SELECT lo, hi, id FROM messages ORDER BY lo, hi, id;
INSERT INTO client_ids (sender, client_id, msg_id)
    SELECT sender, client_id, id FROM messages WHERE client_id IS NOT NULL ORDER BY sender, client_id, id;
INSERT INTO meta (key, value) VALUES ('indexed_through', coalesce((SELECT max(id) FROM messages), 0));
)sql";

// Version 3, the log layout (ADR 014): many messages per row, because a row per message (and a
// row per message in each index) costs more CPU than a core has for 150k messages a second.
//  - batches: one row per committed append(): its messages (log_rows.hpp), ids first_id..last_id,
//    last_ts the newest ts in it. Replaces `messages`.
//  - inbox_runs: per indexing pass and user, the (seq, msg_id) entries of the pass, in seq order.
//    Replaces `inbox`. last_msg_id (the highest msg_id in it) lets prune drop a whole run.
//  - conversation_runs: per pass and pair (lo, hi), its msg_ids with the sending side. Replaces
//    conversation_messages.
//  - client_id_runs: per pass, (msg_id, fingerprint) of each message that came with a client id;
//    the idempotency check keeps them in memory and reads these only at open. Replaces client_ids.
//  - meta.indexed_through keeps its meaning (every batch with last_id <= it has its runs);
//    meta.pruned_through: every msg_id <= it was deleted by prune (prune deletes oldest first),
//    so runs that still name such ids are read past them.
// The version 2 tables stay until the store, at its next open, moves their rows into the new
// ones and drops them, in one transaction (sqlite_store.cpp, import_version_2); SQL alone cannot
// write the rows' encoding.
constexpr std::string_view schema_v3 = R"sql(
CREATE TABLE batches (
    first_id INTEGER PRIMARY KEY,
    last_id  INTEGER NOT NULL,
    last_ts  INTEGER NOT NULL,
    body     BLOB    NOT NULL
);
CREATE TABLE inbox_runs (
    user        INTEGER NOT NULL,
    first_seq   INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    last_msg_id INTEGER NOT NULL,
    entries     BLOB    NOT NULL,
    PRIMARY KEY (user, first_seq)
) WITHOUT ROWID;
CREATE INDEX inbox_runs_by_last_msg_id ON inbox_runs (last_msg_id);
CREATE TABLE conversation_runs (
    lo       INTEGER NOT NULL,
    hi       INTEGER NOT NULL,
    first_id INTEGER NOT NULL,
    last_id  INTEGER NOT NULL,
    entries  BLOB    NOT NULL,
    PRIMARY KEY (lo, hi, first_id)
) WITHOUT ROWID;
CREATE INDEX conversation_runs_by_last_id ON conversation_runs (last_id);
CREATE TABLE client_id_runs (
    first_id INTEGER PRIMARY KEY,
    last_id  INTEGER NOT NULL,
    last_ts  INTEGER NOT NULL,
    entries  BLOB    NOT NULL
);
INSERT INTO meta (key, value) VALUES ('pruned_through', 0);
)sql";

constexpr std::array<Migration, 3> migrations{{
    {1, schema_v1},
    {2, schema_v2},
    {3, schema_v3},
}};

static_assert(versions_count_up(migrations), "migration i must bring the schema to version i + 1");

} // namespace

std::span<const Migration> sqlite_migrations() {
    return migrations;
}

int latest_schema_version() {
    return migrations.back().version;
}

} // namespace parley::store
