// Fuzzes the SQLite store's reading of its log-layout rows (log_rows.hpp, ADR 014): the bytes of
// a batch or a run as a damaged file could hold them. The first byte picks the decoder (batch,
// inbox run, conversation run, client-id run), the rest is the row.
// Beyond "no crash" (decoders must never read past the end or reserve a huge count):
// - what decodes re-encodes to bytes that decode to the same values;
// - in a decoded batch whose ids increase, find_in_batch() finds each message as decode saw it.
#include "store/log_rows.hpp"

#include "check.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace {

using parley::fuzz::check;
namespace rows = parley::store::log_rows;

bool same(const rows::LoggedMessage& a, const rows::LoggedMessage& b) {
    return a.msg_id == b.msg_id && a.ts_ms == b.ts_ms && a.from == b.from && a.to == b.to &&
           a.from_seq == b.from_seq && a.to_seq == b.to_seq && a.client_id == b.client_id && a.text == b.text;
}

void batch(std::string_view bytes) {
    std::vector<rows::LoggedMessage> messages;
    if (!rows::decode_batch(bytes, messages)) {
        return;
    }
    std::vector<rows::LoggedMessage> again;
    check(rows::decode_batch(rows::encode_batch(messages), again), "a decoded batch re-encodes");
    check(again.size() == messages.size(), "to as many messages");
    bool increasing = true;
    for (std::size_t i = 0; i < messages.size(); ++i) {
        check(same(again[i], messages[i]), "with the same values");
        increasing = increasing && (i == 0 || messages[i].msg_id > messages[i - 1].msg_id);
    }
    if (!increasing) {
        return;
    }
    for (const rows::LoggedMessage& m : messages) {
        bool damaged = true;
        const auto found = rows::find_in_batch(bytes, m.msg_id, damaged);
        check(!damaged && found && same(*found, m), "find_in_batch finds what decode_batch read");
    }
}

void inbox_run(std::string_view bytes) {
    std::vector<rows::InboxEntryRef> entries;
    if (!rows::decode_inbox_run(bytes, entries)) {
        return;
    }
    std::vector<rows::InboxEntryRef> again;
    check(rows::decode_inbox_run(rows::encode_inbox_run(entries), again) && again.size() == entries.size(),
          "an inbox run re-encodes");
    for (std::size_t i = 0; i < entries.size(); ++i) {
        check(again[i].seq == entries[i].seq && again[i].msg_id == entries[i].msg_id, "to the same entries");
    }
}

void conversation_run(std::string_view bytes) {
    std::vector<rows::ConversationEntryRef> entries;
    if (!rows::decode_conversation_run(bytes, entries)) {
        return;
    }
    std::vector<rows::ConversationEntryRef> again;
    check(rows::decode_conversation_run(rows::encode_conversation_run(entries), again) &&
              again.size() == entries.size(),
          "a conversation run re-encodes");
    for (std::size_t i = 0; i < entries.size(); ++i) {
        check(again[i].msg_id == entries[i].msg_id && again[i].from_lo == entries[i].from_lo,
              "to the same entries");
    }
}

void client_id_run(std::string_view bytes) {
    std::vector<rows::ClientIdRef> entries;
    if (!rows::decode_client_id_run(bytes, entries)) {
        return;
    }
    std::vector<rows::ClientIdRef> again;
    check(rows::decode_client_id_run(rows::encode_client_id_run(entries), again) &&
              again.size() == entries.size(),
          "a client-id run re-encodes");
    for (std::size_t i = 0; i < entries.size(); ++i) {
        check(again[i].msg_id == entries[i].msg_id && again[i].fingerprint == entries[i].fingerprint,
              "to the same entries");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string_view row(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 4) {
    case 0:
        batch(row);
        break;
    case 1:
        inbox_run(row);
        break;
    case 2:
        conversation_run(row);
        break;
    default:
        client_id_run(row);
        break;
    }
    return 0;
}
