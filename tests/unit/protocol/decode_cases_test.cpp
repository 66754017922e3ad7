// Runs tests/protocol/decode_cases.jsonl through the Decoder: one test per line, so a new case
// costs a line of data. Each line is {"send": <frame as a JSON string>, "expect": {...}} with an
// optional "note" for people. `expect` is {"ok": <kind>, <field>: <value>...} with <kind> one of
// login, chat, ping, history, conversations, receipt, where the optional fields are checked against
// the decoded message: strings user_id, password, token, to_user_id, message, id (the id_json text, "" for
// none), peer, status ("delivered"/"read"), and integers since, before, limit, up_to. An error case is
// {"error": <wire code>, "ref": <ref_json>} with `ref` optional. Unknown keys, and fields the
// decoded kind does not have, fail the case, so a typo cannot make a case vacuous.
#include "protocol/decoder.hpp"

#include "protocol/errc.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

namespace parley::protocol {
namespace {

struct DecodeCase {
    int line = 0;
    std::string note;
    std::string send;
    std::string ok;    // the expected message kind, or empty when an error is expected
    std::string error; // the expected wire code, or empty when success is expected
    std::map<std::string, std::string, std::less<>> fields;    // expected text of decoded fields
    std::map<std::string, std::uint64_t, std::less<>> numbers; // expected integer fields
    std::optional<std::string> ref;
};

// Shown by GoogleTest when a case fails, instead of the struct's bytes.
void PrintTo(const DecodeCase& c, std::ostream* os) {
    *os << "line " << c.line << ": " << c.send;
}

struct CaseFile {
    std::vector<DecodeCase> cases;
    std::vector<std::string> problems; // lines that could not be read as cases
};

std::filesystem::path case_file_path() {
    // The build passes no data directory to tests, so find the file from this source file.
    return std::filesystem::path(__FILE__).parent_path() / "../../protocol/decode_cases.jsonl";
}

// Reads one line into `c`, or returns what is wrong with it.
std::string parse_case(simdjson::dom::parser& parser, const std::string& line, DecodeCase& c) {
    simdjson::dom::object root;
    if (auto error = parser.parse(line).get_object().get(root)) {
        return std::string("not a JSON object: ") + simdjson::error_message(error);
    }
    simdjson::dom::object expect;
    bool has_send = false;
    bool has_expect = false;
    for (auto [key, value] : root) {
        std::string_view text;
        if (key == "send" && value.get_string().get(text) == simdjson::SUCCESS) {
            c.send = text;
            has_send = true;
        } else if (key == "note" && value.get_string().get(text) == simdjson::SUCCESS) {
            c.note = text;
        } else if (key == "expect" && value.get_object().get(expect) == simdjson::SUCCESS) {
            has_expect = true;
        } else {
            return "unexpected key or type: " + std::string(key);
        }
    }
    if (!has_send || !has_expect) {
        return "needs \"send\" (a string) and \"expect\" (an object)";
    }
    for (auto [key, value] : expect) {
        std::string_view text;
        std::uint64_t number = 0;
        if (key == "since" || key == "before" || key == "limit" || key == "up_to") {
            if (value.get_uint64().get(number) != simdjson::SUCCESS) {
                return "expect." + std::string(key) + " must be a non-negative integer";
            }
            c.numbers.emplace(std::string(key), number);
        } else if (value.get_string().get(text) != simdjson::SUCCESS) {
            return "expect." + std::string(key) + " must be a string";
        } else if (key == "ok") {
            c.ok = text;
        } else if (key == "error") {
            c.error = text;
        } else if (key == "ref") {
            c.ref = std::string(text);
        } else if (key == "user_id" || key == "password" || key == "token" || key == "to_user_id" ||
                   key == "message" || key == "id" || key == "peer" || key == "status") {
            c.fields.emplace(std::string(key), std::string(text));
        } else {
            return "unknown key in expect: " + std::string(key);
        }
    }
    if (c.ok.empty() == c.error.empty()) {
        return "expect needs exactly one of \"ok\" and \"error\"";
    }
    if (!c.error.empty() && (!c.fields.empty() || !c.numbers.empty())) {
        return "field expectations only apply to \"ok\" cases";
    }
    if (!c.ok.empty() && c.ref) {
        return "\"ref\" only applies to \"error\" cases";
    }
    return {};
}

const CaseFile& case_file() {
    static const CaseFile file = [] {
        CaseFile loaded;
        std::ifstream in(case_file_path());
        if (!in) {
            loaded.problems.push_back("cannot open " + case_file_path().string());
            return loaded;
        }
        simdjson::dom::parser parser;
        std::string line;
        for (int number = 1; std::getline(in, line); ++number) {
            if (line.empty()) {
                continue;
            }
            DecodeCase c;
            c.line = number;
            if (auto problem = parse_case(parser, line, c); !problem.empty()) {
                loaded.problems.push_back("line " + std::to_string(number) + ": " + problem);
                continue;
            }
            loaded.cases.push_back(std::move(c));
        }
        return loaded;
    }();
    return file;
}

std::string_view kind_of(const ClientMessage& message) {
    constexpr std::string_view kinds[] = {"login", "chat", "ping", "history", "conversations", "receipt"};
    static_assert(std::size(kinds) == std::variant_size_v<ClientMessage>, "name every kind of message");
    return kinds[message.index()];
}

// Returns the decoded text of a field the case may name, or nullopt if this kind has no such field.
std::optional<std::string_view> field_of(const ClientMessage& message, std::string_view name) {
    if (const auto* login = std::get_if<LoginRequest>(&message)) {
        if (name == "user_id") {
            return login->user_id;
        }
        if (name == "password") {
            return login->password;
        }
        if (name == "token") {
            return login->token;
        }
    } else if (const auto* chat = std::get_if<ChatRequest>(&message)) {
        if (name == "to_user_id") {
            return chat->to_user_id;
        }
        if (name == "message") {
            return chat->message;
        }
        if (name == "id") {
            return chat->id_json;
        }
    } else if (const auto* ping = std::get_if<PingRequest>(&message)) {
        if (name == "id") {
            return ping->id_json;
        }
    } else if (const auto* history = std::get_if<HistoryRequest>(&message)) {
        if (name == "peer") {
            return history->peer;
        }
        if (name == "id") {
            return history->id_json;
        }
    } else if (const auto* conversations = std::get_if<ConversationsRequest>(&message)) {
        if (name == "id") {
            return conversations->id_json;
        }
    } else if (const auto* receipt = std::get_if<ReceiptRequest>(&message)) {
        if (name == "status") {
            return receipt->status == receipt_status::read ? "read" : "delivered";
        }
        if (name == "peer") {
            return receipt->peer;
        }
        if (name == "id") {
            return receipt->id_json;
        }
    }
    return std::nullopt;
}

// Returns the value of an integer field the case may name, or nullopt if this kind has no such
// field or (for login's optional `since`) the frame left it out.
std::optional<std::uint64_t> number_of(const ClientMessage& message, std::string_view name) {
    if (const auto* login = std::get_if<LoginRequest>(&message)) {
        if (name == "since") {
            return login->since;
        }
    } else if (const auto* history = std::get_if<HistoryRequest>(&message)) {
        if (name == "before") {
            return history->before;
        }
        if (name == "limit") {
            return history->limit;
        }
    } else if (const auto* receipt = std::get_if<ReceiptRequest>(&message)) {
        if (name == "up_to") {
            return receipt->up_to;
        }
    }
    return std::nullopt;
}

TEST(DecodeCasesFile, LoadsWithoutProblems) {
    const auto& file = case_file();
    for (const auto& problem : file.problems) {
        ADD_FAILURE() << problem;
    }
    // Guards against a truncated or misplaced file passing with nothing to check.
    EXPECT_GE(file.cases.size(), 40U);
}

TEST(DecodeCasesFile, ExpectedErrorsAreRealWireCodes) {
    for (const auto& c : case_file().cases) {
        if (c.error.empty()) {
            continue;
        }
        bool known = false;
        for (const auto& info : all_errcs()) {
            known = known || info.wire_name == c.error;
        }
        EXPECT_TRUE(known) << "line " << c.line << ": no errc is called '" << c.error << "'";
    }
}

class DecodeCaseTest : public testing::TestWithParam<DecodeCase> {};

TEST_P(DecodeCaseTest, DecodesAsExpected) {
    const DecodeCase& c = GetParam();
    SCOPED_TRACE("decode_cases.jsonl line " + std::to_string(c.line) + ": " + c.note);
    Decoder decoder;
    const auto result = decoder.decode(c.send);

    if (!c.error.empty()) {
        ASSERT_FALSE(result.has_value()) << c.send << " decoded as " << kind_of(*result);
        EXPECT_EQ(wire_name(result.error().code), c.error) << c.send << ": " << result.error().message;
        EXPECT_FALSE(result.error().message.empty());
        if (c.ref) {
            EXPECT_EQ(result.error().ref_json, *c.ref);
        }
        return;
    }

    ASSERT_TRUE(result.has_value()) << c.send << " -> " << wire_name(result.error().code) << ": "
                                    << result.error().message;
    const ClientMessage& message = *result;
    EXPECT_EQ(kind_of(message), c.ok);
    for (const auto& [name, expected] : c.fields) {
        const auto actual = field_of(message, name);
        ASSERT_TRUE(actual.has_value()) << "a " << kind_of(message) << " has no field '" << name << "'";
        EXPECT_EQ(*actual, expected) << "field " << name;
    }
    for (const auto& [name, expected] : c.numbers) {
        const auto actual = number_of(message, name);
        ASSERT_TRUE(actual.has_value()) << "a " << kind_of(message) << " has no value for '" << name << "'";
        EXPECT_EQ(*actual, expected) << "field " << name;
    }
}

INSTANTIATE_TEST_SUITE_P(Jsonl, DecodeCaseTest, testing::ValuesIn(case_file().cases),
                         [](const testing::TestParamInfo<DecodeCase>& param_info) {
                             return "line_" + std::to_string(param_info.param.line);
                         });

} // namespace
} // namespace parley::protocol
