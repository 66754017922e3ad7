// The rows of the SQLite store's log layout (schema version 3, ADR 014): many messages per row.
// A committed batch is one `batches` row holding all its messages; what readers look messages up
// by (a user's inbox, a conversation, the client ids) is written later, a run of entries per user
// and per conversation per indexing pass. This file owns only the bytes of those rows; it is pure
// (no SQLite), and every decoder is safe on damaged input: it reports it instead of reading past
// the end.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace parley::store::log_rows {

// A message as a batch row holds it: user ids, not names.
struct LoggedMessage {
    std::uint64_t msg_id = 0;
    std::int64_t ts_ms = 0;
    std::int64_t from = 0;
    std::int64_t to = 0;
    std::uint64_t from_seq = 0;
    std::uint64_t to_seq = 0;
    std::string client_id; // empty: none
    std::string text;
};

// A batch row's body: `messages` in msg_id order, ids and timestamps as deltas.
std::string encode_batch(std::span<const LoggedMessage> messages);
// False if `body` is damaged (`out` then holds what came before the damage).
bool decode_batch(std::string_view body, std::vector<LoggedMessage>& out);
// The message `msg_id` of a batch body, skipping the texts of the others; nullopt if the body
// does not hold it or is damaged (`damaged` says which).
std::optional<LoggedMessage> find_in_batch(std::string_view body, std::uint64_t msg_id, bool& damaged);

// An inbox run: one user's entries of one pass, in seq order.
struct InboxEntryRef {
    std::uint64_t seq = 0;
    std::uint64_t msg_id = 0;
};
std::string encode_inbox_run(std::span<const InboxEntryRef> entries);
bool decode_inbox_run(std::string_view entries, std::vector<InboxEntryRef>& out);

// A conversation run: one pair's messages of one pass, in msg_id order, each with which side sent
// it (the lower user id, or the higher).
struct ConversationEntryRef {
    std::uint64_t msg_id = 0;
    bool from_lo = false;
};
std::string encode_conversation_run(std::span<const ConversationEntryRef> entries);
bool decode_conversation_run(std::string_view entries, std::vector<ConversationEntryRef>& out);

// A client-id run: the pass's messages that came with a client id, as (msg_id, fingerprint of the
// sender and the id). Only the idempotency check's memory is rebuilt from them at open.
struct ClientIdRef {
    std::uint64_t msg_id = 0;
    std::uint64_t fingerprint = 0;
};
std::string encode_client_id_run(std::span<const ClientIdRef> entries);
bool decode_client_id_run(std::string_view entries, std::vector<ClientIdRef>& out);

// The fingerprint of (sender, client id): FNV-1a 64 over both, then a final mix; never 0. Stored
// in files, so it must never change.
std::uint64_t client_id_fingerprint(std::int64_t sender, std::string_view client_id);

} // namespace parley::store::log_rows
