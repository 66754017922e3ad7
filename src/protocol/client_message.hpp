// Typed messages a client sends, as decoded from one text frame. Views point into the decoder's
// buffer and are valid until the decoder's next call.
#pragma once

#include "protocol/errc.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace parley::protocol {

// {"type":"login","user_id":"alice"} — the seed's login (`--auth open`);
// {"type":"login","user_id":"alice","password":"…"} — an account's password (`--auth password`);
// {"type":"login","token":"…"} — a session token from /api/login, or a JWT (`--auth jwt`).
// `since` is the last inbox seq the client holds (resume). Which credentials a server takes is
// its auth mode's business; the decoder only checks shapes and sizes.
struct LoginRequest {
    std::string_view user_id; // empty when only a token was sent
    std::string_view password;
    std::string_view token;
    std::optional<std::uint64_t> since;
};

// {"type":"chat","to_user_id":"bob","message":"hi","id":"c-17"} — `id` optional: a client's own
// id for the message, echoed in the ack.
struct ChatRequest {
    std::string_view to_user_id;
    std::string_view message; // unescaped text
    std::string_view id_json; // the `id` exactly as sent (a JSON string or integer), empty if none
    // to_user_id and message are printable ASCII without a quote or backslash (the frame was in
    // the seed page's plain form, protocol/plain_chat): each one's JSON string is its bytes.
    bool plain = false;
};

// {"type":"ping","id":…} — an application-level ping for clients (browsers) that cannot send
// WebSocket pings; answered with {"type":"pong"}.
struct PingRequest {
    std::string_view id_json;
};

// {"type":"history","peer":"bob","before":4097,"limit":50,"id":…} — one page of the
// conversation with `peer`, newest first, older than msg_id `before` (absent: from the newest).
struct HistoryRequest {
    std::string_view peer;
    std::uint64_t before = 0; // 0: no bound
    std::uint32_t limit = 50; // 1..100
    std::string_view id_json;
};

// {"type":"conversations","id":…} — the user's conversations with last message and unread count.
struct ConversationsRequest {
    std::string_view id_json;
};

enum class receipt_status { delivered, read };

// {"type":"receipt","status":"read","peer":"alice","up_to":4097,"id":…} — the user has received
// (or read) every message from `peer` up to msg_id `up_to`.
struct ReceiptRequest {
    receipt_status status = receipt_status::read;
    std::string_view peer;
    std::uint64_t up_to = 0; // > 0
    std::string_view id_json;
};

using ClientMessage = std::variant<LoginRequest, ChatRequest, PingRequest, HistoryRequest,
                                   ConversationsRequest, ReceiptRequest>;

// Why a frame was refused: sent back as {"type":"error","code":…,"message":…,"ref":…}.
struct DecodeError {
    errc code;
    std::string message;  // for people: names the field and the rule
    std::string ref_json; // the request's `id` as sent, when one could be read; else empty
};

} // namespace parley::protocol
