// Typed server messages -> JSON text. Pure: appends to a caller's string so buffers can be reused.
#pragma once

#include "protocol/errc.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace parley::protocol {

// Appends `text` as a JSON string literal (with quotes), escaping ", \ and control characters.
void append_json_string(std::string& out, std::string_view text);

// True if no byte of `text` needs an escape in a JSON string: its JSON string is its bytes.
bool json_needs_no_escape(std::string_view text);

// {"type":"login_ok","user_id":…,"shard":N}
void encode_login_ok(std::string& out, std::string_view user_id, unsigned shard);

class DecimalText; // protocol/decimal.hpp

struct ChatEvent {
    std::string_view from_user_id;
    std::string_view to_user_id;
    std::string_view message;
    std::uint64_t msg_id = 0;
    std::int64_t ts_ms = 0;
    // True on the copy sent to the sender's other devices: "you sent this from elsewhere".
    bool outgoing = false;
    // The message's seq in the inbox of the user this copy goes to; 0: omitted.
    std::uint64_t seq = 0;
    // The caller knows that no byte of from_user_id, to_user_id or message needs an escape
    // (json_needs_no_escape): they are written without being looked at first.
    bool plain = false;
    // A ts already written out (a batch's, shared by its chats); used only if its value is
    // ts_ms, so a duplicate's older ts is still written from ts_ms.
    const DecimalText* ts_text = nullptr;
};

// {"type":"chat","from_user_id":…,"to_user_id":…,"message":…,"msg_id":N,"ts":N[,"seq":N][,"outgoing":true]}
// The seed page reads type, from_user_id and message; the rest is for newer clients.
void encode_chat(std::string& out, const ChatEvent& chat);

// encode_chat's bytes written straight into memory of the caller's: bound() is the most write()
// writes, and write() returns the end of what it wrote. The storage step writes each routed chat
// into the block its SharedText shares, so no string is grown (zero-filled), written and copied on
// the way. Keeps a copy of `chat` (its views must outlive this).
class ChatEncoding {
public:
    explicit ChatEncoding(const ChatEvent& chat);
    std::size_t bound() const;
    char* write(char* out) const;

private:
    ChatEvent chat_;
    std::size_t from_bound_; // each string's JSON length at most, escapes included
    std::size_t to_bound_;
    std::size_t message_bound_;
};

// {"type":"ack","id":<id_json>,"msg_id":N,"ts":N[,"seq":N][,"duplicate":true]}; `id_json` is
// inserted verbatim (it was validated as a JSON string or integer when decoded); `seq` (the
// message's seq in the sender's inbox) is omitted when 0; `duplicate` marks the ack of a retry
// that matched an earlier message with the same id (nothing new was stored).
void encode_ack(std::string& out, std::string_view id_json, std::uint64_t msg_id, std::int64_t ts_ms,
                std::uint64_t seq = 0, bool duplicate = false);

// encode_ack's bytes, written as ChatEncoding's are. Keeps a view of `id_json`.
class AckEncoding {
public:
    // `ts_text`, if given, is used as ChatEvent::ts_text is.
    AckEncoding(std::string_view id_json, std::uint64_t msg_id, std::int64_t ts_ms, std::uint64_t seq = 0,
                bool duplicate = false, const DecimalText* ts_text = nullptr);
    std::size_t bound() const;
    char* write(char* out) const;

private:
    std::string_view id_; // "null" if the chat had no id
    std::uint64_t msg_id_;
    std::int64_t ts_ms_;
    std::uint64_t seq_;
    bool duplicate_;
    const DecimalText* ts_text_;
};

// {"type":"synced","seq":N} — catch-up after login is complete; live messages follow. N is the
// last seq sent (or the `since` the client gave, if nothing was missing).
void encode_synced(std::string& out, std::uint64_t seq);

// {"type":"history","id":<id_json or null>,"peer":…,"messages":[<chat objects without "type">…],"more":bool}
// Each message: {"from_user_id":…,"to_user_id":…,"message":…,"msg_id":N,"ts":N}.
void encode_history(std::string& out, std::string_view id_json, std::string_view peer,
                    std::span<const ChatEvent> messages, bool more);

struct ConversationSummary {
    std::string_view peer;
    ChatEvent last;
    std::uint64_t unread = 0;
    std::uint64_t read_up_to = 0;      // the user's own read mark
    std::uint64_t peer_read_up_to = 0; // how far the peer has read
};

// {"type":"conversations","id":<id_json or null>,"conversations":[{"peer":…,"last":{<chat object
// without "type">},"unread":N,"read_up_to":N,"peer_read_up_to":N}…]}
void encode_conversations(std::string& out, std::string_view id_json,
                          std::span<const ConversationSummary> items);

// {"type":"receipt","status":"delivered"|"read","user_id":<who reports>,"peer":<whose messages>,"up_to":N}
void encode_receipt(std::string& out, bool read, std::string_view user_id, std::string_view peer,
                    std::uint64_t up_to);

// {"type":"error","code":…,"message":…[,"ref":<ref_json>]}; an empty message uses meaning(code).
void encode_error(std::string& out, errc code, std::string_view message, std::string_view ref_json);

// {"type":"pong"[,"id":<id_json>]}
void encode_pong(std::string& out, std::string_view id_json);

} // namespace parley::protocol
