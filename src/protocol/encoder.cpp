// Server messages as JSON text, written field by field into the caller's buffer. Owns only the
// exact bytes of each message shape (field order included: tests and clients compare them); it
// validates nothing, so callers pass ids that the decoder already checked.
#include "protocol/encoder.hpp"

#include "protocol/decimal.hpp"
#include "protocol/json_text.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace parley::protocol {

namespace {

using json_text::needs_escape;

// The longest a JSON string of `text` can be, quotes included: a byte that needs an escape takes
// at most six (\u00XX). Exact for text without escapes, which is nearly all chat text.
std::size_t json_string_bound(std::string_view text) {
    if (json_needs_no_escape(text)) { // chat text nearly always
        return text.size() + 2;
    }
    std::size_t escapes = 0;
    for (const char c : text) {
        escapes += needs_escape(static_cast<unsigned char>(c)) ? 1 : 0;
    }
    return text.size() + 5 * escapes + 2;
}

// Writes a message through a pointer, into room the caller made for the message's bound: no
// checked append per field (a chat and its ack are about thirty fields and punctuation).
class Cursor {
public:
    static constexpr std::size_t integer_bound = DecimalText::integer_room; // any 64-bit value, sign included

    explicit Cursor(char* next) : next_(next) {}
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;

    char* position() const { return next_; }
    // After bytes were written at position() by other means, up to `end`.
    void skip_to(char* end) { next_ = end; }

    void raw(std::string_view text) {
        std::memcpy(next_, text.data(), text.size());
        next_ += text.size();
    }
    void raw(char c) { *next_++ = c; }
    template <typename Integer> void integer(Integer value) {
        if constexpr (std::is_signed_v<Integer>) {
            next_ = write_decimal(next_, static_cast<std::int64_t>(value));
        } else {
            next_ = write_decimal(next_, static_cast<std::uint64_t>(value));
        }
    }
    // A ts, copied from `text` when it holds this value: a fixed-size copy of all its room,
    // which the bound reserves for any integer, then the cursor moves by its length.
    void timestamp(std::int64_t value, const DecimalText* text) {
        if (text != nullptr && text->value() == value) {
            std::memcpy(next_, text->digits(), DecimalText::integer_room);
            next_ += text->text().size();
        } else {
            integer(value);
        }
    }
    // `bound` is json_string_bound(text), already computed for the piece's size.
    void string(std::string_view text, std::size_t bound) {
        *next_++ = '"';
        if (bound == text.size() + 2) {
            raw(text); // nothing to escape
        } else {
            for (const char c : text) {
                const auto byte = static_cast<unsigned char>(c);
                if (needs_escape(byte)) {
                    escape(byte);
                } else {
                    *next_++ = c;
                }
            }
        }
        *next_++ = '"';
    }

private:
    void escape(unsigned char c) {
        switch (c) {
        case '"':
            return raw("\\\"");
        case '\\':
            return raw("\\\\");
        case '\n':
            return raw("\\n");
        case '\r':
            return raw("\\r");
        case '\t':
            return raw("\\t");
        case '\b':
            return raw("\\b");
        case '\f':
            return raw("\\f");
        default:
            break;
        }
        constexpr std::string_view hex = "0123456789abcdef";
        const std::array<char, 6> escape{'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0x0f]};
        raw({escape.data(), escape.size()});
    }

    char* next_;
};

// A Cursor into `out`: `out` grows once by the piece's bound and is cut back to what was written
// at the end.
class PieceWriter : public Cursor {
public:
    PieceWriter(std::string& out, std::size_t bound) : Cursor(grown(out, bound)), out_(out) {}
    PieceWriter(const PieceWriter&) = delete;
    PieceWriter& operator=(const PieceWriter&) = delete;
    ~PieceWriter() { out_.resize(static_cast<std::size_t>(position() - out_.data())); }

private:
    static char* grown(std::string& out, std::size_t bound) {
        const std::size_t start = out.size();
        out.resize(start + bound);
        return out.data() + start;
    }

    std::string& out_;
};

template <typename Integer> void append_integer(std::string& out, Integer value) {
    PieceWriter(out, Cursor::integer_bound).integer(value);
}

} // namespace

bool json_needs_no_escape(std::string_view text) {
    return json_text::first_stop<json_text::Stop::escape>(text) == text.size();
}

void append_json_string(std::string& out, std::string_view text) {
    const std::size_t bound = json_string_bound(text);
    PieceWriter(out, bound).string(text, bound);
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
struct ChatFields {
    static constexpr std::string_view from = R"("from_user_id":)";
    static constexpr std::string_view to = R"(,"to_user_id":)";
    static constexpr std::string_view message = R"(,"message":)";
    static constexpr std::string_view msg_id = R"(,"msg_id":)";
    static constexpr std::string_view ts = R"(,"ts":)";
    static constexpr std::string_view seq = R"(,"seq":)";

    explicit ChatFields(const ChatEvent& chat)
        : ChatFields(chat, json_string_bound(chat.from_user_id), json_string_bound(chat.to_user_id),
                     json_string_bound(chat.message)) {}
    ChatFields(const ChatEvent& chat, std::size_t from_json, std::size_t to_json, std::size_t message_json)
        : event(chat), from_bound(from_json), to_bound(to_json), message_bound(message_json) {}

    std::size_t bound() const {
        return from.size() + to.size() + message.size() + msg_id.size() + ts.size() + seq.size() +
               3 * Cursor::integer_bound + from_bound + to_bound + message_bound;
    }

    void write(Cursor& w) const {
        w.raw(from);
        w.string(event.from_user_id, from_bound);
        w.raw(to);
        w.string(event.to_user_id, to_bound);
        w.raw(message);
        w.string(event.message, message_bound);
        w.raw(msg_id);
        w.integer(event.msg_id);
        w.raw(ts);
        w.timestamp(event.ts_ms, event.ts_text);
        if (event.seq != 0) {
            w.raw(seq);
            w.integer(event.seq);
        }
    }

    const ChatEvent& event;
    std::size_t from_bound;
    std::size_t to_bound;
    std::size_t message_bound;
};

void append_chat_fields(std::string& out, const ChatEvent& chat) {
    const ChatFields fields(chat);
    PieceWriter w(out, fields.bound());
    fields.write(w);
}

// A reply's `id`: replies that always carry the field say "no id" as null rather than drop it.
std::string_view reply_id(std::string_view id_json) {
    return id_json.empty() ? std::string_view{"null"} : id_json;
}

} // namespace

namespace {

constexpr std::string_view chat_head = R"({"type":"chat",)";
constexpr std::string_view chat_outgoing = R"(,"outgoing":true)";

constexpr std::string_view ack_head = R"({"type":"ack","id":)";
constexpr std::string_view ack_msg_id = R"(,"msg_id":)";
constexpr std::string_view ack_ts = R"(,"ts":)";
constexpr std::string_view ack_seq = R"(,"seq":)";
// A client that reused an id for a different text must be able to tell: its new text was not
// stored.
constexpr std::string_view ack_duplicate = R"(,"duplicate":true)";

} // namespace

ChatEncoding::ChatEncoding(const ChatEvent& chat)
    : chat_(chat),
      from_bound_(chat.plain ? chat.from_user_id.size() + 2 : json_string_bound(chat.from_user_id)),
      to_bound_(chat.plain ? chat.to_user_id.size() + 2 : json_string_bound(chat.to_user_id)),
      message_bound_(chat.plain ? chat.message.size() + 2 : json_string_bound(chat.message)) {}

std::size_t ChatEncoding::bound() const {
    return chat_head.size() + ChatFields(chat_, from_bound_, to_bound_, message_bound_).bound() +
           chat_outgoing.size() + 1;
}

char* ChatEncoding::write(char* out) const {
    Cursor w(out);
    w.raw(chat_head);
    ChatFields(chat_, from_bound_, to_bound_, message_bound_).write(w);
    if (chat_.outgoing) {
        w.raw(chat_outgoing);
    }
    w.raw('}');
    return w.position();
}

void encode_chat(std::string& out, const ChatEvent& chat) {
    const ChatEncoding chat_encoding(chat);
    PieceWriter w(out, chat_encoding.bound());
    w.skip_to(chat_encoding.write(w.position()));
}

AckEncoding::AckEncoding(std::string_view id_json, std::uint64_t msg_id, std::int64_t ts_ms,
                         std::uint64_t seq, bool duplicate, const DecimalText* ts_text)
    // A chat sent without an id is still acked, so the field stays and says "no id" explicitly.
    : id_(reply_id(id_json)), msg_id_(msg_id), ts_ms_(ts_ms), seq_(seq), duplicate_(duplicate),
      ts_text_(ts_text) {}

std::size_t AckEncoding::bound() const {
    return ack_head.size() + id_.size() + ack_msg_id.size() + ack_ts.size() + ack_seq.size() +
           3 * Cursor::integer_bound + ack_duplicate.size() + 1;
}

char* AckEncoding::write(char* out) const {
    Cursor w(out);
    w.raw(ack_head);
    w.raw(id_);
    w.raw(ack_msg_id);
    w.integer(msg_id_);
    w.raw(ack_ts);
    w.timestamp(ts_ms_, ts_text_);
    if (seq_ != 0) {
        w.raw(ack_seq);
        w.integer(seq_);
    }
    if (duplicate_) {
        w.raw(ack_duplicate);
    }
    w.raw('}');
    return w.position();
}

void encode_ack(std::string& out, std::string_view id_json, std::uint64_t msg_id, std::int64_t ts_ms,
                std::uint64_t seq, bool duplicate) {
    const AckEncoding ack(id_json, msg_id, ts_ms, seq, duplicate);
    PieceWriter w(out, ack.bound());
    w.skip_to(ack.write(w.position()));
}

void encode_synced(std::string& out, std::uint64_t seq) {
    out.append(R"({"type":"synced","seq":)");
    append_integer(out, seq);
    out.push_back('}');
}

void encode_history(std::string& out, std::string_view id_json, std::string_view peer,
                    std::span<const ChatEvent> messages, bool more) {
    out.append(R"({"type":"history","id":)");
    out.append(reply_id(id_json));
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
    out.append(reply_id(id_json));
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
