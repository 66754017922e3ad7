#include "protocol/plain_chat.hpp"

#include "protocol/json_text.hpp"

#include <cstddef>

namespace parley::protocol {

namespace {

// Takes `literal` from the front of `s`; false, leaving `s`, if it does not start with it.
bool take(std::string_view& s, std::string_view literal) {
    if (!s.starts_with(literal)) {
        return false;
    }
    s.remove_prefix(literal.size());
    return true;
}

// How many bytes from the front of `s` are plain: ASCII that stands for itself in a JSON string
// (0x20..0x7f but the quote and the backslash).
std::size_t plain_run(std::string_view s) {
    return json_text::first_stop<json_text::Stop::non_ascii>(s);
}

// Takes the rest of a JSON string whose opening quote is taken already, giving its text: false
// if a byte before the closing quote is not plain (a control character, which JSON forbids raw;
// a byte of a multi-byte character; a backslash, whose escape only a parser decodes).
bool take_plain_string_rest(std::string_view& s, std::string_view& text) {
    const std::size_t n = plain_run(s);
    if (n == s.size() || s[n] != '"') {
        return false;
    }
    text = s.substr(0, n);
    s.remove_prefix(n + 1);
    return true;
}

} // namespace

std::optional<PlainChat> scan_plain_chat(std::string_view frame) {
    PlainChat chat;
    std::string_view s = frame;
    if (!take(s, R"({"type":"chat","to_user_id":")") || !take_plain_string_rest(s, chat.to_user_id) ||
        !take(s, R"(,"message":")") || !take_plain_string_rest(s, chat.message)) {
        return std::nullopt;
    }
    if (take(s, R"(,"id":)")) {
        const std::string_view id_start = s;
        std::string_view ignored;
        if (take(s, "\"")) {
            if (!take_plain_string_rest(s, ignored)) {
                return std::nullopt;
            }
            chat.id_json = id_start.substr(0, id_start.size() - s.size());
        } else {
            // An integer id is the rest of the frame but its closing brace.
            chat.id_json = s.substr(0, s.empty() ? 0 : s.size() - 1);
            if (!json_text::is_integer(chat.id_json)) {
                return std::nullopt;
            }
            s.remove_prefix(chat.id_json.size());
        }
    }
    if (s != "}") {
        return std::nullopt;
    }
    return chat;
}

} // namespace parley::protocol
