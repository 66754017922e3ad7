// Typed server messages -> JSON text. Pure: appends to a caller's string so buffers can be reused.
#pragma once

#include "protocol/errc.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace parley::protocol {

// Appends `text` as a JSON string literal (with quotes), escaping ", \ and control characters.
void append_json_string(std::string& out, std::string_view text);

// {"type":"login_ok","user_id":…,"shard":N}
void encode_login_ok(std::string& out, std::string_view user_id, unsigned shard);

struct ChatEvent {
    std::string_view from_user_id;
    std::string_view to_user_id;
    std::string_view message;
    std::uint64_t msg_id = 0;
    std::int64_t ts_ms = 0;
    // True on the copy sent to the sender's other devices: "you sent this from elsewhere".
    bool outgoing = false;
};

// {"type":"chat","from_user_id":…,"to_user_id":…,"message":…,"msg_id":N,"ts":N[,"outgoing":true]}
// The seed page reads type, from_user_id and message; the rest is for newer clients.
void encode_chat(std::string& out, const ChatEvent& chat);

// {"type":"ack","id":<id_json>,"msg_id":N,"ts":N}; `id_json` is inserted verbatim (it was
// validated as a JSON string or integer when decoded).
void encode_ack(std::string& out, std::string_view id_json, std::uint64_t msg_id, std::int64_t ts_ms);

// {"type":"error","code":…,"message":…[,"ref":<ref_json>]}; an empty message uses meaning(code).
void encode_error(std::string& out, errc code, std::string_view message, std::string_view ref_json);

// {"type":"pong"[,"id":<id_json>]}
void encode_pong(std::string& out, std::string_view id_json);

} // namespace parley::protocol
