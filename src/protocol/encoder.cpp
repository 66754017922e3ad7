// Server messages as JSON text, written field by field into the caller's buffer. Owns only the
// exact bytes of each message shape (field order included: tests and clients compare them); it
// validates nothing, so callers pass ids that the decoder already checked.
#include "protocol/encoder.hpp"

#include <array>
#include <charconv>
#include <cstddef>

namespace parley::protocol {

namespace {

// RFC 8259 §7: quotation mark, reverse solidus and U+0000..U+001F must be escaped; nothing else
// must be, so UTF-8 passes through untouched and DEL (0x7f) stays as is.
bool needs_escape(unsigned char c) {
    return c < 0x20 || c == '"' || c == '\\';
}

void append_escaped(std::string& out, unsigned char c) {
    switch (c) {
    case '"':
        out.append("\\\"");
        return;
    case '\\':
        out.append("\\\\");
        return;
    case '\n':
        out.append("\\n");
        return;
    case '\r':
        out.append("\\r");
        return;
    case '\t':
        out.append("\\t");
        return;
    case '\b':
        out.append("\\b");
        return;
    case '\f':
        out.append("\\f");
        return;
    default:
        break;
    }
    constexpr std::string_view hex = "0123456789abcdef";
    const std::array<char, 6> escape{'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0x0f]};
    out.append(escape.data(), escape.size());
}

template <typename Integer> void append_integer(std::string& out, Integer value) {
    // 20 digits hold any 64-bit value, plus one for a minus sign.
    std::array<char, 24> digits{};
    const auto result = std::to_chars(digits.data(), digits.data() + digits.size(), value);
    out.append(digits.data(), result.ptr);
}

} // namespace

void append_json_string(std::string& out, std::string_view text) {
    out.push_back('"');
    // Copy runs of plain bytes in one append: chat text is mostly plain, and byte-wise push_back
    // is several times slower on long messages.
    std::size_t run_start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (!needs_escape(c)) {
            continue;
        }
        out.append(text.data() + run_start, i - run_start);
        append_escaped(out, c);
        run_start = i + 1;
    }
    out.append(text.data() + run_start, text.size() - run_start);
    out.push_back('"');
}

void encode_login_ok(std::string& out, std::string_view user_id, unsigned shard) {
    out.append(R"({"type":"login_ok","user_id":)");
    append_json_string(out, user_id);
    out.append(R"(,"shard":)");
    append_integer(out, shard);
    out.push_back('}');
}

namespace {

// The fields every chat object carries, in wire order, with no braces and no "type": a pushed
// chat puts its type in front, history and conversations nest the bare object.
void append_chat_fields(std::string& out, const ChatEvent& chat) {
    out.append(R"("from_user_id":)");
    append_json_string(out, chat.from_user_id);
    out.append(R"(,"to_user_id":)");
    append_json_string(out, chat.to_user_id);
    out.append(R"(,"message":)");
    append_json_string(out, chat.message);
    out.append(R"(,"msg_id":)");
    append_integer(out, chat.msg_id);
    out.append(R"(,"ts":)");
    append_integer(out, chat.ts_ms);
    if (chat.seq != 0) {
        out.append(R"(,"seq":)");
        append_integer(out, chat.seq);
    }
}

// A reply's `id`: replies that always carry the field say "no id" as null rather than drop it.
void append_reply_id(std::string& out, std::string_view id_json) {
    out.append(id_json.empty() ? std::string_view{"null"} : id_json);
}

} // namespace

void encode_chat(std::string& out, const ChatEvent& chat) {
    // One allocation instead of the four or five that doubling would take: this runs twice for
    // every stored chat. The fixed part, three 20-digit numbers and room for a few escapes.
    constexpr std::size_t fixed = 160;
    out.reserve(out.size() + fixed + chat.from_user_id.size() + chat.to_user_id.size() + chat.message.size() +
                chat.message.size() / 8);
    out.append(R"({"type":"chat",)");
    append_chat_fields(out, chat);
    if (chat.outgoing) {
        out.append(R"(,"outgoing":true)");
    }
    out.push_back('}');
}

void encode_ack(std::string& out, std::string_view id_json, std::uint64_t msg_id, std::int64_t ts_ms,
                std::uint64_t seq, bool duplicate) {
    constexpr std::size_t fixed = 112; // as encode_chat: once per stored chat
    out.reserve(out.size() + fixed + id_json.size());
    out.append(R"({"type":"ack","id":)");
    // A chat sent without an id is still acked, so the field stays and says "no id" explicitly.
    append_reply_id(out, id_json);
    out.append(R"(,"msg_id":)");
    append_integer(out, msg_id);
    out.append(R"(,"ts":)");
    append_integer(out, ts_ms);
    if (seq != 0) {
        out.append(R"(,"seq":)");
        append_integer(out, seq);
    }
    if (duplicate) {
        // A client that reused an id for a different text must be able to tell: its new text was
        // not stored.
        out.append(R"(,"duplicate":true)");
    }
    out.push_back('}');
}

void encode_synced(std::string& out, std::uint64_t seq) {
    out.append(R"({"type":"synced","seq":)");
    append_integer(out, seq);
    out.push_back('}');
}

void encode_history(std::string& out, std::string_view id_json, std::string_view peer,
                    std::span<const ChatEvent> messages, bool more) {
    out.append(R"({"type":"history","id":)");
    append_reply_id(out, id_json);
    out.append(R"(,"peer":)");
    append_json_string(out, peer);
    out.append(R"(,"messages":[)");
    for (std::size_t i = 0; i < messages.size(); ++i) {
        if (i != 0) {
            out.push_back(',');
        }
        // No "outgoing" here: it describes one pushed copy, and from_user_id already tells the
        // client which side of the conversation wrote each stored message.
        out.push_back('{');
        append_chat_fields(out, messages[i]);
        out.push_back('}');
    }
    out.append(more ? R"(],"more":true})" : R"(],"more":false})");
}

void encode_conversations(std::string& out, std::string_view id_json,
                          std::span<const ConversationSummary> items) {
    out.append(R"({"type":"conversations","id":)");
    append_reply_id(out, id_json);
    out.append(R"(,"conversations":[)");
    for (std::size_t i = 0; i < items.size(); ++i) {
        const ConversationSummary& item = items[i];
        if (i != 0) {
            out.push_back(',');
        }
        out.append(R"({"peer":)");
        append_json_string(out, item.peer);
        out.append(R"(,"last":{)");
        append_chat_fields(out, item.last);
        out.append(R"(},"unread":)");
        append_integer(out, item.unread);
        out.append(R"(,"read_up_to":)");
        append_integer(out, item.read_up_to);
        out.append(R"(,"peer_read_up_to":)");
        append_integer(out, item.peer_read_up_to);
        out.push_back('}');
    }
    out.append("]}");
}

void encode_receipt(std::string& out, bool read, std::string_view user_id, std::string_view peer,
                    std::uint64_t up_to) {
    out.append(read ? R"({"type":"receipt","status":"read","user_id":)"
                    : R"({"type":"receipt","status":"delivered","user_id":)");
    append_json_string(out, user_id);
    out.append(R"(,"peer":)");
    append_json_string(out, peer);
    out.append(R"(,"up_to":)");
    append_integer(out, up_to);
    out.push_back('}');
}

void encode_error(std::string& out, errc code, std::string_view message, std::string_view ref_json) {
    out.append(R"({"type":"error","code":)");
    append_json_string(out, wire_name(code));
    out.append(R"(,"message":)");
    append_json_string(out, message.empty() ? meaning(code) : message);
    if (!ref_json.empty()) {
        out.append(R"(,"ref":)");
        out.append(ref_json);
    }
    out.push_back('}');
}

void encode_pong(std::string& out, std::string_view id_json) {
    out.append(R"({"type":"pong")");
    if (!id_json.empty()) {
        out.append(R"(,"id":)");
        out.append(id_json);
    }
    out.push_back('}');
}

} // namespace parley::protocol
