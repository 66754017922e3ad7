// The table behind errc: each code's wire name (the enum name, as sent in `code`) and its meaning
// (the default `message`). Wire names are API: clients switch on them, so never rename one; add a
// new code at the end of the enum and a row at the end of the table.
#include "protocol/errc.hpp"

#include <array>
#include <cassert>
#include <cstddef>

namespace parley::protocol {

namespace {

constexpr std::array<ErrcInfo, 14> errc_table{{
    {errc::bad_json, "bad_json", "The frame is not valid JSON."},
    {errc::not_an_object, "not_an_object",
     "The frame is JSON but not an object; every message is an object."},
    {errc::missing_field, "missing_field", "A required field is missing."},
    {errc::bad_field, "bad_field", "A field has the wrong type or an unusable value."},
    {errc::unknown_type, "unknown_type", "The `type` field names no message this server knows."},
    {errc::not_logged_in, "not_logged_in",
     "Log in first: only login and ping are accepted before a successful login."},
    {errc::already_logged_in, "already_logged_in", "This connection is already logged in."},
    {errc::bad_user_id, "bad_user_id",
     "A user id must be non-empty, within the length limit and free of control characters."},
    {errc::message_too_long, "message_too_long", "The chat message is longer than the server allows."},
    {errc::binary_unsupported, "binary_unsupported",
     "Binary frames are not supported; send JSON in text frames."},
    {errc::rate_limited, "rate_limited", "Too many frames too fast; slow down."},
    {errc::server_busy, "server_busy", "The server had a temporary problem; retry later."},
    {errc::auth_failed, "auth_failed",
     "Login refused: the user name, password or token is wrong, expired, revoked or disabled."},
    {errc::auth_required, "auth_required",
     "This server needs credentials: a password or a token, depending on its auth mode."},
}};

// wire_name() and meaning() index the table by enum value, so row i must hold code i + 1.
constexpr bool table_in_enum_order() {
    for (std::size_t i = 0; i < errc_table.size(); ++i) {
        if (static_cast<std::size_t>(errc_table[i].code) != i + 1) {
            return false;
        }
    }
    return true;
}
static_assert(table_in_enum_order(), "errc_table rows must follow the enum, starting at bad_json = 1");
static_assert(static_cast<std::size_t>(errc::auth_required) == errc_table.size(),
              "every errc needs a row in errc_table");

const ErrcInfo& info(errc code) {
    const auto index = static_cast<std::size_t>(code) - 1;
    // Codes come from our own code, never from input, so a bad value is a programmer error; in a
    // release build it still yields a real row rather than reading outside the table.
    assert(index < errc_table.size());
    return index < errc_table.size() ? errc_table[index] : errc_table.back();
}

} // namespace

std::span<const ErrcInfo> all_errcs() {
    return errc_table;
}

std::string_view wire_name(errc code) {
    return info(code).wire_name;
}

std::string_view meaning(errc code) {
    return info(code).meaning;
}

} // namespace parley::protocol
