// Fuzzes protocol::Decoder, the first code to read a client's text frame, with arbitrary bytes.
// Beyond "no crash" it checks what the rest of the server relies on:
// - an accepted request is within the limits, and its user ids pass check_user_id;
// - the one decoder, reused as on a shard, gives the same answer for the same frame twice;
// - a frame the plain-chat scan takes is answered exactly as the full parser answers it (the
//   same frame with a trailing space, which JSON ignores and the scan refuses);
// - what the server sends back because of a frame is valid JSON that says the same thing: the
//   accepted fields re-encoded (login_ok, chat, ack, history, receipt) parse back to the decoded
//   values, and a rejection's encode_error parses, its `ref` being a string or integer.
#include "protocol/decoder.hpp"
#include "protocol/encoder.hpp"
#include "protocol/plain_chat.hpp"

#include "check.hpp"

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace {

using parley::fuzz::check;
namespace protocol = parley::protocol;

// Small limits, so that a short input can reach every over-the-limit rule.
constexpr protocol::Limits limits{
    .max_user_id_bytes = 8,
    .max_message_bytes = 64,
    // Under 19 digits: an integer id always fits an int64 when parsed back below.
    .max_client_id_bytes = 16,
};

// What the server's reply to the frame would have been, in a form that outlives the decoder's
// buffer: the variant's index when accepted, the error when not.
struct Outcome {
    std::size_t accepted_index = std::variant_npos;
    std::optional<protocol::DecodeError> error;

    bool operator==(const Outcome& other) const {
        if (accepted_index != other.accepted_index || error.has_value() != other.error.has_value()) {
            return false;
        }
        return !error || (error->code == other.error->code && error->message == other.error->message &&
                          error->ref_json == other.error->ref_json);
    }
};

Outcome outcome_of(const boost::system::result<protocol::ClientMessage, protocol::DecodeError>& decoded) {
    if (decoded.has_value()) {
        return Outcome{decoded->index(), std::nullopt};
    }
    return Outcome{std::variant_npos, decoded.error()};
}

// A chat's fields as owned strings (they must outlive the next decode), empty if not a chat.
std::string
chat_fields(const boost::system::result<protocol::ClientMessage, protocol::DecodeError>& decoded) {
    const auto* chat = decoded.has_value() ? std::get_if<protocol::ChatRequest>(&*decoded) : nullptr;
    if (chat == nullptr) {
        return {};
    }
    // Lengths first, so that no two different field triples give the same string.
    return std::to_string(chat->to_user_id.size()) + ":" + std::string(chat->to_user_id) + "|" +
           std::to_string(chat->message.size()) + ":" + std::string(chat->message) + "|" +
           std::string(chat->id_json);
}

simdjson::dom::parser& json_parser() {
    static simdjson::dom::parser parser;
    return parser;
}

// Parses what the encoder wrote; every reply must be a JSON object.
simdjson::dom::object parse_reply(const std::string& reply) {
    simdjson::dom::object object;
    check(json_parser().parse(reply).get(object) == simdjson::SUCCESS, "encoder output is a JSON object");
    return object;
}

std::string_view string_field(const simdjson::dom::object& object, std::string_view key) {
    std::string_view value;
    check(object[key].get(value) == simdjson::SUCCESS, "re-encoded field is a string");
    return value;
}

// An id is echoed verbatim, so it must be a JSON string or an integer on its own.
void check_id_json(std::string_view id_json) {
    check(id_json.size() <= limits.max_client_id_bytes, "id within its limit");
    if (id_json.empty()) {
        return;
    }
    simdjson::dom::element id;
    check(json_parser().parse(std::string(id_json)).get(id) == simdjson::SUCCESS, "id is JSON");
    check(id.is_string() || id.is_int64(), "id is a string or an integer");
}

void check_user_id(std::string_view user_id) {
    check(user_id.size() <= limits.max_user_id_bytes, "user id within its limit");
    check(protocol::check_user_id(user_id, limits).empty(), "accepted user id passes check_user_id");
}

void check_accepted(const protocol::ClientMessage& message) {
    std::string reply;
    if (const auto* login = std::get_if<protocol::LoginRequest>(&message)) {
        // A login names a user, or carries only a token (the account it names is the user).
        if (login->user_id.empty()) {
            check(!login->token.empty(), "a login without a user id has a token");
            return;
        }
        check_user_id(login->user_id);
        protocol::encode_login_ok(reply, login->user_id, 0);
        check(string_field(parse_reply(reply), "user_id") == login->user_id, "login_ok echoes the user id");
    } else if (const auto* chat = std::get_if<protocol::ChatRequest>(&message)) {
        check_user_id(chat->to_user_id);
        check(chat->message.size() <= limits.max_message_bytes, "message within its limit");
        check_id_json(chat->id_json);
        protocol::encode_chat(reply, protocol::ChatEvent{.from_user_id = "alice",
                                                         .to_user_id = chat->to_user_id,
                                                         .message = chat->message,
                                                         .msg_id = 1,
                                                         .ts_ms = 1});
        const auto pushed = parse_reply(reply);
        check(string_field(pushed, "message") == chat->message, "a chat's text survives re-encoding");
        check(string_field(pushed, "to_user_id") == chat->to_user_id, "a chat's recipient survives");
        reply.clear();
        protocol::encode_ack(reply, chat->id_json, 1, 1);
        parse_reply(reply);
    } else if (const auto* ping = std::get_if<protocol::PingRequest>(&message)) {
        check_id_json(ping->id_json);
        protocol::encode_pong(reply, ping->id_json);
        parse_reply(reply);
    } else if (const auto* history = std::get_if<protocol::HistoryRequest>(&message)) {
        check_user_id(history->peer);
        check(history->limit >= 1 && history->limit <= 100, "history limit in 1..100");
        check_id_json(history->id_json);
        protocol::encode_history(reply, history->id_json, history->peer, {}, false);
        check(string_field(parse_reply(reply), "peer") == history->peer, "history echoes the peer");
    } else if (const auto* conversations = std::get_if<protocol::ConversationsRequest>(&message)) {
        check_id_json(conversations->id_json);
        protocol::encode_conversations(reply, conversations->id_json, {});
        parse_reply(reply);
    } else if (const auto* receipt = std::get_if<protocol::ReceiptRequest>(&message)) {
        check_user_id(receipt->peer);
        check(receipt->up_to > 0, "receipt up_to is positive");
        check_id_json(receipt->id_json);
        protocol::encode_receipt(reply, receipt->status == protocol::receipt_status::read, "bob",
                                 receipt->peer, receipt->up_to);
        std::uint64_t up_to = 0;
        check(parse_reply(reply)["up_to"].get(up_to) == simdjson::SUCCESS && up_to == receipt->up_to,
              "a receipt's up_to survives re-encoding");
    }
}

void check_rejected(const protocol::DecodeError& error) {
    check(!error.message.empty(), "an error says why");
    check_id_json(error.ref_json);
    std::string reply;
    protocol::encode_error(reply, error.code, error.message, error.ref_json);
    const auto object = parse_reply(reply);
    check(string_field(object, "code") == protocol::wire_name(error.code), "error code survives");
    check(string_field(object, "message") == error.message, "error message survives");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // One decoder for the whole run, as one lives on a shard for its lifetime: state carried from
    // one frame to the next (the padded copy, the parser's capacity) is part of what is tested.
    static protocol::Decoder decoder(limits);
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    const auto decoded = decoder.decode(text);
    const Outcome first = outcome_of(decoded);
    if (decoded.has_value()) {
        check_accepted(*decoded);
    } else {
        check_rejected(decoded.error());
    }
    const std::string first_chat = chat_fields(decoded);
    check(outcome_of(decoder.decode(text)) == first, "decoding the same frame twice gives the same answer");
    if (protocol::scan_plain_chat(text)) {
        const std::string spaced = std::string(text) + " ";
        const auto parsed = decoder.decode(spaced);
        check(outcome_of(parsed) == first && chat_fields(parsed) == first_chat,
              "a plain chat is decoded as the full parser decodes it");
    }
    return 0;
}
