// Client frames -> ClientMessage, with simdjson On Demand. Owns the wire rules of each request
// (docs/protocol.md): which fields, which JSON types, which limits, and which errc a breach earns.
// One pass reads every field (so "last value wins" and field order do not matter) and validates
// every value, known or not, so a malformed frame is always bad_json. A chat in the seed page's
// exact form skips the parser (protocol/plain_chat.hpp) but not the rules. No I/O, no clocks.
#include "protocol/decoder.hpp"

#include "protocol/json_text.hpp"
#include "protocol/plain_chat.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

namespace parley::protocol {

namespace {

namespace od = simdjson::ondemand;

// On Demand has no depth limit of its own, and validate() recurses once per level. Parley's
// requests are flat; 64 levels leave newer clients room while keeping the recursion shallow.
constexpr int max_nesting_depth = 64;
// The root object is level 1, so the values of its fields (and a root array's elements) are at 2.
constexpr int field_depth = 2;

// The parser's first buffers: typical frames are well under 4 KiB, so they never reallocate.
constexpr std::size_t initial_parser_capacity = 4096;

// An unknown `type` is echoed in the error, cut to this many bytes: enough to spot a typo.
constexpr std::size_t max_echoed_type_bytes = 32;

// A history page: large enough to fill a screen, small enough that one request cannot make the
// server read and send a whole conversation at once.
constexpr std::uint64_t min_history_limit = 1;
constexpr std::uint64_t max_history_limit = 100;
constexpr std::uint32_t default_history_limit = 50;

// Credentials in a login: a passphrase longer than 1 KiB is a mistake or an attack on the
// hasher; a JWT with a few claims is well under 8 KiB (and session tokens are 46 bytes).
constexpr std::size_t max_password_bytes = 1024;
constexpr std::size_t max_token_bytes = 8192;

// simdjson's raw tokens run up to the next structural character, so they may end in whitespace.
std::string_view trim_trailing_whitespace(std::string_view token) {
    const auto end = token.find_last_not_of(" \t\n\r");
    return end == std::string_view::npos ? std::string_view{} : token.substr(0, end + 1);
}

using json_text::is_digit;
using json_text::is_integer;
using json_text::is_unsigned_integer;
using json_text::take_int_digits;

// RFC 8259 §6 `number`. Checked on the token rather than by parsing it to a double, because
// simdjson rejects valid JSON such as 1e999 that is merely out of a double's range.
bool is_json_number(std::string_view token) {
    if (!token.empty() && token.front() == '-') {
        token.remove_prefix(1);
    }
    if (!take_int_digits(token)) {
        return false;
    }
    const auto take_digits = [&token] {
        std::size_t n = 0;
        while (n < token.size() && is_digit(token[n])) {
            ++n;
        }
        token.remove_prefix(n);
        return n > 0;
    };
    if (!token.empty() && token.front() == '.') {
        token.remove_prefix(1);
        if (!take_digits()) {
            return false;
        }
    }
    if (!token.empty() && (token.front() == 'e' || token.front() == 'E')) {
        token.remove_prefix(1);
        if (!token.empty() && (token.front() == '+' || token.front() == '-')) {
            token.remove_prefix(1);
        }
        if (!take_digits()) {
            return false;
        }
    }
    return token.empty();
}

// On Demand classifies a scalar by its first byte and checks the rest only when asked; `nul` or
// `12x` would otherwise slip through an ignored field.
simdjson::error_code check_scalar_token(od::json_type type, std::string_view token) {
    switch (type) {
    case od::json_type::number:
        return is_json_number(token) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
    case od::json_type::boolean:
        return token == "true" || token == "false" ? simdjson::SUCCESS : simdjson::T_ATOM_ERROR;
    case od::json_type::null:
        return token == "null" ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    default:
        return simdjson::INCORRECT_TYPE;
    }
}

// Walks `value` to its end, checking everything a full parser would: On Demand skips what it is
// not asked for, and the protocol promises that a malformed frame is bad_json wherever the fault.
simdjson::error_code validate(od::value& value, int depth) {
    od::json_type type{};
    if (auto error = value.type().get(type)) {
        return error;
    }
    switch (type) {
    case od::json_type::object: {
        if (depth > max_nesting_depth) {
            return simdjson::DEPTH_ERROR;
        }
        od::object object;
        if (auto error = value.get_object().get(object)) {
            return error;
        }
        for (auto field_result : object) {
            od::field field;
            if (auto error = std::move(field_result).get(field)) {
                return error;
            }
            std::string_view key;
            if (auto error = field.unescaped_key().get(key)) {
                return error;
            }
            if (auto error = validate(field.value(), depth + 1)) {
                return error;
            }
        }
        return simdjson::SUCCESS;
    }
    case od::json_type::array: {
        if (depth > max_nesting_depth) {
            return simdjson::DEPTH_ERROR;
        }
        od::array array;
        if (auto error = value.get_array().get(array)) {
            return error;
        }
        for (auto element_result : array) {
            od::value element;
            if (auto error = std::move(element_result).get(element)) {
                return error;
            }
            if (auto error = validate(element, depth + 1)) {
                return error;
            }
        }
        return simdjson::SUCCESS;
    }
    case od::json_type::string: {
        // Unescaping is the only way to check the escapes; the copy lands in the parser's
        // string buffer, which is sized for it.
        std::string_view ignored;
        return value.get_string().get(ignored);
    }
    default:
        return check_scalar_token(type, trim_trailing_whitespace(value.raw_json_token()));
    }
}

// What one pass over the object found for a field Parley reads.
struct Field {
    enum class State : std::uint8_t {
        absent,
        ok,           // `text` (or `number`) holds the value
        wrong_type,   // a JSON type or shape the field does not take
        too_long,     // the right type, over its byte limit; `text` holds it
        out_of_range, // an integer too large for its field
    };
    State state = State::absent;
    std::string_view text;
    std::uint64_t number = 0;

    void set_ok(std::string_view value) {
        state = State::ok;
        text = value;
    }
    void set(State new_state) {
        state = new_state;
        text = {};
    }
};

struct Fields {
    Field type;
    Field user_id;
    Field to_user_id;
    Field message;
    Field id;
    Field since;
    Field peer;
    Field before;
    Field limit;
    Field status;
    Field up_to;
    Field password;
    Field token;
};

// Reads a field that must be a JSON string (its unescaped text).
simdjson::error_code read_string(od::value& value, Field& field) {
    od::json_type type{};
    if (auto error = value.type().get(type)) {
        return error;
    }
    if (type != od::json_type::string) {
        field.set(Field::State::wrong_type);
        return validate(value, field_depth);
    }
    std::string_view text;
    if (auto error = value.get_string().get(text)) {
        return error;
    }
    field.set_ok(text);
    return simdjson::SUCCESS;
}

// Reads a user id: a string, or a non-negative integer taken as its decimal digits (PHP clients
// send numeric ids unquoted). Validity of the text itself is check_user_id's job, later.
simdjson::error_code read_user_id(od::value& value, Field& field) {
    od::json_type type{};
    if (auto error = value.type().get(type)) {
        return error;
    }
    if (type == od::json_type::string) {
        return read_string(value, field);
    }
    if (type != od::json_type::number) {
        field.set(Field::State::wrong_type);
        return validate(value, field_depth);
    }
    const auto token = trim_trailing_whitespace(value.raw_json_token());
    if (is_unsigned_integer(token)) {
        field.set_ok(token);
        return simdjson::SUCCESS;
    }
    field.set(Field::State::wrong_type);
    return check_scalar_token(type, token);
}

// A well-formed client id's token (a string with its quotes, or an integer), over the limit or not.
void set_client_id(Field& field, std::string_view token, std::size_t max_bytes) {
    if (token.size() > max_bytes) {
        field.set(Field::State::too_long);
        field.text = token;
        return;
    }
    field.set_ok(token);
}

// Reads a client id: a string or an integer, kept as its raw token so the ack echoes exactly what
// the client sent. The limit applies to that token, since that is what is stored and echoed.
simdjson::error_code read_client_id(od::value& value, Field& field, std::size_t max_bytes) {
    od::json_type type{};
    if (auto error = value.type().get(type)) {
        return error;
    }
    const auto token = trim_trailing_whitespace(value.raw_json_token());
    if (type == od::json_type::string) {
        std::string_view ignored;
        if (auto error = value.get_string().get(ignored)) {
            return error;
        }
    } else if (type == od::json_type::number) {
        if (!is_integer(token)) {
            field.set(Field::State::wrong_type);
            return check_scalar_token(type, token);
        }
    } else {
        field.set(Field::State::wrong_type);
        return validate(value, field_depth);
    }
    set_client_id(field, token, max_bytes);
    return simdjson::SUCCESS;
}

// Reads a non-negative integer that must fit in 64 bits.
simdjson::error_code read_uint64(od::value& value, Field& field) {
    od::json_type type{};
    if (auto error = value.type().get(type)) {
        return error;
    }
    if (type != od::json_type::number) {
        field.set(Field::State::wrong_type);
        return validate(value, field_depth);
    }
    const auto token = trim_trailing_whitespace(value.raw_json_token());
    if (!is_unsigned_integer(token)) {
        field.set(Field::State::wrong_type);
        return check_scalar_token(type, token);
    }
    std::uint64_t number = 0;
    if (value.get_uint64().get(number) != simdjson::SUCCESS) {
        // The token is a well-formed integer, so the only failure left is overflow.
        field.set(Field::State::out_of_range);
        return simdjson::SUCCESS;
    }
    field.set_ok(token);
    field.number = number;
    return simdjson::SUCCESS;
}

// "field 'x' is 70 bytes; the limit is 64"
std::string over_limit_message(std::string_view name, std::size_t size, std::size_t limit) {
    std::string message = "field '";
    message.append(name).append("' is ").append(std::to_string(size));
    message.append(" bytes; the limit is ").append(std::to_string(limit));
    return message;
}

std::string field_message(std::string_view name, std::string_view rule) {
    std::string message = "field '";
    message.append(name).append("' ").append(rule);
    return message;
}

// The start of `text`, at most `max_bytes` long, never ending inside a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) {
        return text;
    }
    std::size_t end = max_bytes;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) {
        --end;
    }
    return text.substr(0, end);
}

} // namespace

struct Decoder::Impl {
public:
    explicit Impl(Limits limits) : limits_(limits) {}

    boost::system::result<ClientMessage, DecodeError> decode(std::string_view text);

private:
    // Reads every field of the root object into `fields`; a simdjson error means bad JSON.
    simdjson::error_code read_fields(od::object& object, Fields& fields);
    // Checks a frame whose root is not an object all the same, to tell bad_json from not_an_object.
    simdjson::error_code validate_non_object(od::document& doc, od::json_type type, std::size_t frame_size);
    // The request rules, applied once the frame is known to be a well-formed JSON object.
    boost::system::result<ClientMessage, DecodeError> to_message(const Fields& fields) const;
    DecodeError reject(errc code, std::string message, const Fields& fields) const;
    std::optional<DecodeError> check_user_id_field(std::string_view name, const Field& field,
                                                   const Fields& fields) const;
    std::optional<DecodeError> check_client_id_field(const Fields& fields) const;
    boost::system::result<ClientMessage, DecodeError> to_login(const Fields& fields) const;
    boost::system::result<ClientMessage, DecodeError> to_history(const Fields& fields) const;
    boost::system::result<ClientMessage, DecodeError> to_receipt(const Fields& fields) const;

    Limits limits_;
    od::parser parser_;
    // The frame, then at least SIMDJSON_PADDING bytes: simdjson reads whole blocks past the end.
    // What is there does not change the parse (simdjson's documented contract, and the test
    // LeftoversOfALongerFrameChangeNothing), so only the frame is copied in; the bytes after it
    // are zeros where the buffer grew and an earlier frame's elsewhere, never uninitialized. Kept
    // between calls so that, once grown, decoding a frame allocates and clears nothing.
    std::string padded_;
    // A scanned plain chat's fields. Only type, to_user_id, message and id are ever set here;
    // the other nine stay absent, as a fresh Fields' are, without 416 bytes zeroed per chat.
    Fields plain_fields_;
};

simdjson::error_code Decoder::Impl::read_fields(od::object& object, Fields& fields) {
    for (auto field_result : object) {
        od::field field;
        if (auto error = std::move(field_result).get(field)) {
            return error;
        }
        // Unescaped, so a key written as "t\u0079pe" is still `type`, as JSON means it to be.
        std::string_view key;
        if (auto error = field.unescaped_key().get(key)) {
            return error;
        }
        od::value& value = field.value();
        simdjson::error_code error = simdjson::SUCCESS;
        if (key == "type") {
            error = read_string(value, fields.type);
        } else if (key == "user_id") {
            error = read_user_id(value, fields.user_id);
        } else if (key == "to_user_id") {
            error = read_user_id(value, fields.to_user_id);
        } else if (key == "message") {
            error = read_string(value, fields.message);
        } else if (key == "id") {
            error = read_client_id(value, fields.id, limits_.max_client_id_bytes);
        } else if (key == "since") {
            error = read_uint64(value, fields.since);
        } else if (key == "peer") {
            error = read_user_id(value, fields.peer);
        } else if (key == "before") {
            error = read_uint64(value, fields.before);
        } else if (key == "limit") {
            error = read_uint64(value, fields.limit);
        } else if (key == "status") {
            error = read_string(value, fields.status);
        } else if (key == "up_to") {
            error = read_uint64(value, fields.up_to);
        } else if (key == "password") {
            error = read_string(value, fields.password);
        } else if (key == "token") {
            error = read_string(value, fields.token);
        } else {
            // Unknown fields are ignored (a newer client may send them) but must still be JSON.
            error = validate(value, field_depth);
        }
        if (error) {
            return error;
        }
    }
    return simdjson::SUCCESS;
}

simdjson::error_code Decoder::Impl::validate_non_object(od::document& doc, od::json_type type,
                                                        std::size_t frame_size) {
    if (type == od::json_type::array) {
        od::array array;
        if (auto error = doc.get_array().get(array)) {
            return error;
        }
        for (auto element_result : array) {
            od::value element;
            if (auto error = std::move(element_result).get(element)) {
                return error;
            }
            if (auto error = validate(element, field_depth)) {
                return error;
            }
        }
        return doc.current_location().error() == simdjson::OUT_OF_BOUNDS ? simdjson::SUCCESS
                                                                         : simdjson::TRAILING_CONTENT;
    }
    std::string_view token;
    if (auto error = doc.raw_json_token().get(token)) {
        return error;
    }
    // A root scalar's token runs to the next structural character; if that is not the end of
    // the frame, something follows it.
    if (token.data() + token.size() != padded_.data() + frame_size) {
        return simdjson::TRAILING_CONTENT;
    }
    if (type == od::json_type::string) {
        std::string_view ignored;
        return doc.get_string().get(ignored);
    }
    return check_scalar_token(type, trim_trailing_whitespace(token));
}

DecodeError Decoder::Impl::reject(errc code, std::string message, const Fields& fields) const {
    // The id is echoed only when it was itself valid, so a client can trust `ref` to be its own.
    std::string ref;
    if (fields.id.state == Field::State::ok) {
        ref = fields.id.text;
    }
    return DecodeError{code, std::move(message), std::move(ref)};
}

std::optional<DecodeError> Decoder::Impl::check_user_id_field(std::string_view name, const Field& field,
                                                              const Fields& fields) const {
    switch (field.state) {
    case Field::State::absent:
        return reject(errc::missing_field, field_message(name, "is missing"), fields);
    case Field::State::ok:
        break;
    default:
        return reject(errc::bad_field, field_message(name, "must be a string or a non-negative integer"),
                      fields);
    }
    const auto problem = check_user_id(field.text, limits_);
    if (problem.empty()) {
        return std::nullopt;
    }
    std::string message = field_message(name, "is not a valid user id: ");
    message.append(problem);
    if (field.text.size() > limits_.max_user_id_bytes) {
        message.append(" (").append(std::to_string(field.text.size())).append(" bytes; the limit is ");
        message.append(std::to_string(limits_.max_user_id_bytes)).append(")");
    }
    return reject(errc::bad_user_id, std::move(message), fields);
}

std::optional<DecodeError> Decoder::Impl::check_client_id_field(const Fields& fields) const {
    switch (fields.id.state) {
    case Field::State::absent:
    case Field::State::ok:
        return std::nullopt;
    case Field::State::too_long:
        return reject(errc::bad_field,
                      over_limit_message("id", fields.id.text.size(), limits_.max_client_id_bytes), fields);
    default:
        return reject(errc::bad_field, field_message("id", "must be a string or an integer"), fields);
    }
}

boost::system::result<ClientMessage, DecodeError> Decoder::Impl::decode(std::string_view text) {
    if (padded_.size() < text.size() + simdjson::SIMDJSON_PADDING) {
        padded_.resize(text.size() + simdjson::SIMDJSON_PADDING);
    }
    std::memcpy(padded_.data(), text.data(), text.size());

    if (const auto plain = scan_plain_chat(std::string_view(padded_.data(), text.size()))) {
        // Valid JSON in which every field reads as written: only the request rules are left. Scanned
        // in the copy, so that the views outlive `text` as the parser's do.
        Fields& fields = plain_fields_;
        fields.type.set_ok("chat");
        fields.to_user_id.set_ok(plain->to_user_id);
        fields.message.set_ok(plain->message);
        fields.id = Field{};
        if (!plain->id_json.empty()) {
            set_client_id(fields.id, plain->id_json, limits_.max_client_id_bytes);
        }
        auto message = to_message(fields);
        if (message) {
            if (auto* chat = std::get_if<ChatRequest>(&*message)) {
                chat->plain = true; // to_user_id and message as scanned: plain
            }
        }
        return message;
    }

    // iterate() would size the parser to exactly this frame, reallocating for every slightly
    // larger one; growing by doubling makes reallocation rare and then stop.
    if (parser_.capacity() < text.size()) {
        const auto grown = std::max({text.size(), 2 * parser_.capacity(), initial_parser_capacity});
        if (parser_.allocate(std::min(grown, parser_.max_capacity())) == simdjson::MEMALLOC) {
            return DecodeError{errc::server_busy, "out of memory while decoding the frame", {}};
        }
    }

    Fields fields;
    const auto bad_json = [&](simdjson::error_code code) {
        std::string message = "not valid JSON: ";
        if (code == simdjson::DEPTH_ERROR) {
            message.append("nested more than ")
                .append(std::to_string(max_nesting_depth))
                .append(" levels deep");
        } else if (code == simdjson::EMPTY) {
            message.append("the frame is empty");
        } else if (code == simdjson::TRAILING_CONTENT) {
            message.append("more content after the end of the value");
        } else {
            message.append(simdjson::error_message(code));
        }
        return reject(errc::bad_json, std::move(message), fields);
    };

    od::document doc;
    if (auto code = parser_.iterate(padded_.data(), text.size(), padded_.size()).get(doc)) {
        return bad_json(code);
    }
    od::json_type root_type{};
    if (auto code = doc.type().get(root_type)) {
        return bad_json(code);
    }
    if (root_type != od::json_type::object) {
        if (auto code = validate_non_object(doc, root_type, text.size())) {
            return bad_json(code);
        }
        return DecodeError{errc::not_an_object, "a frame must be a JSON object", {}};
    }

    od::object object;
    if (auto code = doc.get_object().get(object)) {
        return bad_json(code);
    }
    if (auto code = read_fields(object, fields)) {
        return bad_json(code);
    }
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
        return bad_json(simdjson::TRAILING_CONTENT);
    }
    return to_message(fields);
}

boost::system::result<ClientMessage, DecodeError> Decoder::Impl::to_message(const Fields& fields) const {
    switch (fields.type.state) {
    case Field::State::absent:
        return reject(errc::missing_field, field_message("type", "is missing"), fields);
    case Field::State::ok:
        break;
    default:
        return reject(errc::bad_field, field_message("type", "must be a string"), fields);
    }
    const auto type = fields.type.text;

    if (type == "login") {
        return to_login(fields);
    }

    if (type == "chat") {
        if (auto failure = check_user_id_field("to_user_id", fields.to_user_id, fields)) {
            return std::move(*failure);
        }
        switch (fields.message.state) {
        case Field::State::absent:
            return reject(errc::missing_field, field_message("message", "is missing"), fields);
        case Field::State::ok:
            break;
        default:
            return reject(errc::bad_field, field_message("message", "must be a string"), fields);
        }
        if (fields.message.text.size() > limits_.max_message_bytes) {
            return reject(
                errc::message_too_long,
                over_limit_message("message", fields.message.text.size(), limits_.max_message_bytes), fields);
        }
        if (auto failure = check_client_id_field(fields)) {
            return std::move(*failure);
        }
        return ClientMessage{ChatRequest{fields.to_user_id.text, fields.message.text, fields.id.text}};
    }

    if (type == "ping") {
        if (auto failure = check_client_id_field(fields)) {
            return std::move(*failure);
        }
        return ClientMessage{PingRequest{fields.id.text}};
    }

    if (type == "history") {
        return to_history(fields);
    }

    if (type == "conversations") {
        if (auto failure = check_client_id_field(fields)) {
            return std::move(*failure);
        }
        return ClientMessage{ConversationsRequest{fields.id.text}};
    }

    if (type == "receipt") {
        return to_receipt(fields);
    }

    std::string message = "unknown type '";
    message.append(utf8_prefix(type, max_echoed_type_bytes));
    message.append(type.size() > max_echoed_type_bytes ? "...'" : "'");
    message.append("; expected login, chat, ping, history, conversations or receipt");
    return reject(errc::unknown_type, std::move(message), fields);
}

boost::system::result<ClientMessage, DecodeError> Decoder::Impl::to_login(const Fields& fields) const {
    LoginRequest login;
    // Credentials are strings of bounded size; their meaning (which mode takes which) is the
    // server's business, so a login may carry a user_id, a user_id and a password, or a token.
    for (const auto& [name, field, limit] : {std::tuple{"password", &fields.password, max_password_bytes},
                                             std::tuple{"token", &fields.token, max_token_bytes}}) {
        if (field->state == Field::State::absent) {
            continue;
        }
        if (field->state != Field::State::ok) {
            return reject(errc::bad_field, field_message(name, "must be a string"), fields);
        }
        if (field->text.size() > limit) {
            return reject(errc::bad_field, over_limit_message(name, field->text.size(), limit), fields);
        }
    }
    if (fields.token.state == Field::State::ok) {
        // An empty token names nobody; taken as "no token", it would let a login with no
        // user_id through (found by fuzz_protocol_decoder).
        if (fields.token.text.empty()) {
            return reject(errc::bad_field, field_message("token", "must not be empty"), fields);
        }
        login.token = fields.token.text;
    }
    if (fields.password.state == Field::State::ok) {
        login.password = fields.password.text;
    }
    // A token names its user; otherwise user_id is required (the seed's login).
    if (fields.token.state == Field::State::absent || fields.user_id.state != Field::State::absent) {
        if (auto failure = check_user_id_field("user_id", fields.user_id, fields)) {
            return std::move(*failure);
        }
        login.user_id = fields.user_id.text;
    }
    switch (fields.since.state) {
    case Field::State::absent:
        break;
    case Field::State::ok:
        login.since = fields.since.number;
        break;
    case Field::State::out_of_range:
        return reject(errc::bad_field, field_message("since", "is larger than any sequence number"), fields);
    default:
        return reject(errc::bad_field, field_message("since", "must be a non-negative integer"), fields);
    }
    return ClientMessage{login};
}

boost::system::result<ClientMessage, DecodeError> Decoder::Impl::to_history(const Fields& fields) const {
    if (auto failure = check_user_id_field("peer", fields.peer, fields)) {
        return std::move(*failure);
    }
    HistoryRequest history{fields.peer.text, 0, default_history_limit, {}};
    switch (fields.before.state) {
    case Field::State::absent:
        break;
    case Field::State::ok:
        // 0 means "no bound", the same as leaving `before` out (msg_ids start above 0).
        history.before = fields.before.number;
        break;
    case Field::State::out_of_range:
        return reject(errc::bad_field, field_message("before", "is larger than any message id"), fields);
    default:
        return reject(errc::bad_field, field_message("before", "must be a non-negative integer"), fields);
    }
    switch (fields.limit.state) {
    case Field::State::absent:
        break;
    case Field::State::ok:
        if (fields.limit.number >= min_history_limit && fields.limit.number <= max_history_limit) {
            history.limit = static_cast<std::uint32_t>(fields.limit.number);
            break;
        }
        [[fallthrough]];
    default: {
        // Negative, huge and non-integer limits all get the one rule a client needs to fix them.
        std::string rule = "must be an integer from ";
        rule.append(std::to_string(min_history_limit))
            .append(" to ")
            .append(std::to_string(max_history_limit));
        return reject(errc::bad_field, field_message("limit", rule), fields);
    }
    }
    if (auto failure = check_client_id_field(fields)) {
        return std::move(*failure);
    }
    history.id_json = fields.id.text;
    return ClientMessage{history};
}

boost::system::result<ClientMessage, DecodeError> Decoder::Impl::to_receipt(const Fields& fields) const {
    ReceiptRequest receipt;
    switch (fields.status.state) {
    case Field::State::absent:
        return reject(errc::missing_field, field_message("status", "is missing"), fields);
    case Field::State::ok:
        // Exact, case-sensitive names like `type`: a status the server does not know is refused
        // rather than guessed at, so a newer client's status cannot be recorded as the wrong one.
        if (fields.status.text == "delivered") {
            receipt.status = receipt_status::delivered;
            break;
        }
        if (fields.status.text == "read") {
            receipt.status = receipt_status::read;
            break;
        }
        [[fallthrough]];
    default:
        return reject(errc::bad_field, field_message("status", "must be \"delivered\" or \"read\""), fields);
    }
    if (auto failure = check_user_id_field("peer", fields.peer, fields)) {
        return std::move(*failure);
    }
    receipt.peer = fields.peer.text;
    switch (fields.up_to.state) {
    case Field::State::absent:
        return reject(errc::missing_field, field_message("up_to", "is missing"), fields);
    case Field::State::ok:
        // A mark of 0 is "nothing yet": a receipt up to 0 would acknowledge nothing, so it is a
        // client bug worth reporting rather than a no-op.
        if (fields.up_to.number > 0) {
            receipt.up_to = fields.up_to.number;
            break;
        }
        [[fallthrough]];
    default:
        return reject(errc::bad_field, field_message("up_to", "must be a positive integer (a msg_id)"),
                      fields);
    }
    if (auto failure = check_client_id_field(fields)) {
        return std::move(*failure);
    }
    receipt.id_json = fields.id.text;
    return ClientMessage{receipt};
}

void throw_exception_from_error(const DecodeError& e, const boost::source_location& loc) {
    std::string what(wire_name(e.code));
    what.append(": ").append(e.message);
    boost::throw_with_location(std::invalid_argument(what), loc);
}

Decoder::Decoder(Limits limits) : impl_(std::make_unique<Impl>(limits)) {}

Decoder::~Decoder() = default;

boost::system::result<ClientMessage, DecodeError> Decoder::decode(std::string_view text) {
    return impl_->decode(text);
}

std::string_view check_user_id(std::string_view user_id, const Limits& limits) {
    if (user_id.empty()) {
        return "user id is empty";
    }
    if (user_id.size() > limits.max_user_id_bytes) {
        return "user id is too long";
    }
    // Control characters would corrupt logs and the subject names the cluster bus builds from ids.
    const bool has_control = std::any_of(user_id.begin(), user_id.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7f;
    });
    if (has_control) {
        return "user id contains a control character";
    }
    return {};
}

} // namespace parley::protocol
