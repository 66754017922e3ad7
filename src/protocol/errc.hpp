// Protocol error codes: the one table of every `error` code Parley sends, its wire name and what
// it means. docs/protocol.md and the tests read from the same list; add a code here first.
#pragma once

#include <span>
#include <string_view>

namespace parley::protocol {

enum class errc {
    bad_json = 1,       // the text frame is not JSON
    not_an_object,      // valid JSON, but not an object
    missing_field,      // a required field is absent
    bad_field,          // a field has the wrong type or an unusable value
    unknown_type,       // `type` names no message Parley knows
    not_logged_in,      // anything but login or ping before a successful login
    already_logged_in,  // a second login on the same connection
    bad_user_id,        // empty, over 64 bytes, or with control characters
    message_too_long,   // chat text over the configured limit
    binary_unsupported, // a binary frame: Parley speaks JSON in text frames
    rate_limited,       // too many frames too fast; slow down
    server_busy,        // a temporary failure on the server's side; retry later
    auth_failed,        // login refused: wrong credentials, unknown/disabled account, bad token
    auth_required,      // this server's auth mode needs credentials the login did not carry
};

struct ErrcInfo {
    errc code;
    std::string_view wire_name; // the `code` field on the wire
    std::string_view meaning;   // one sentence for people: the default `message`
};

// Every code, in enum order.
std::span<const ErrcInfo> all_errcs();
std::string_view wire_name(errc code);
std::string_view meaning(errc code);

} // namespace parley::protocol
