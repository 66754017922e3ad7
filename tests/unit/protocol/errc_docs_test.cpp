#include "protocol/errc.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace parley::protocol {
namespace {

// docs/protocol.md is normative: every code the server can send must be documented there, in
// its table of error codes.
TEST(ErrcDocs, EveryCodeIsInProtocolMd) {
    const auto path = std::filesystem::path(__FILE__).parent_path() / "../../../docs/protocol.md";
    std::ifstream file(path);
    ASSERT_TRUE(file) << "cannot read " << path;
    std::stringstream text;
    text << file.rdbuf();
    for (const ErrcInfo& info : all_errcs()) {
        const std::string row = "| `" + std::string(info.wire_name) + "` |";
        EXPECT_NE(text.str().find(row), std::string::npos) << info.wire_name << " is not documented";
    }
}

} // namespace
} // namespace parley::protocol
