// JSON text frame -> typed ClientMessage, with validation against Limits. Pure: no I/O.
// One Decoder per thread (it owns simdjson's parser and a padded copy of the input).
#pragma once

#include "protocol/client_message.hpp"
#include "protocol/limits.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string_view>

namespace parley::protocol {

// Boost.System's result<T, E>::value() throws through this; Parley checks has_value() first.
[[noreturn]] void throw_exception_from_error(const DecodeError& e, const boost::source_location& loc);

class Decoder {
public:
    explicit Decoder(Limits limits = {});
    ~Decoder();
    Decoder(const Decoder&) = delete;
    Decoder& operator=(const Decoder&) = delete;

    // Decodes one text frame (already UTF-8 valid). Unknown fields are ignored (clients may be
    // newer than the server); a repeated field keeps its last value. User ids may be JSON strings
    // or non-negative integers (the seed page sends strings; PHP clients often send numbers) and
    // are returned as text. Views in the result are valid until the next decode().
    // Errors: bad_json, not_an_object, missing_field, bad_field, unknown_type, bad_user_id,
    // message_too_long — each with a message naming the field, and the request's id when readable.
    boost::system::result<ClientMessage, DecodeError> decode(std::string_view text);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The user id rules (docs/protocol.md): 1..max bytes, no control characters (U+0000..U+001F,
// U+007F). Returns a message for people, or empty when the id is fine.
std::string_view check_user_id(std::string_view user_id, const Limits& limits);

} // namespace parley::protocol
