// The command line: --help, --version, startup errors as one clear line and exit 1, and the
// order of configuration layers (flags > environment > file > defaults).
#include "parley_process.hpp"
#include "test_client.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace parley::testing {
namespace {

TEST(Cli, VersionPrintsTheVersion) {
    std::string out;
    EXPECT_EQ(ParleyProcess::run_to_exit({"--version"}, out), 0);
    EXPECT_NE(out.find("parley 0."), std::string::npos) << out;
}

TEST(Cli, HelpListsServeAndItsFlags) {
    std::string out;
    EXPECT_EQ(ParleyProcess::run_to_exit({"--help"}, out), 0);
    EXPECT_NE(out.find("serve"), std::string::npos) << out;
    EXPECT_EQ(ParleyProcess::run_to_exit({"serve", "--help"}, out), 0);
    for (const char* flag :
         {"--listen", "--threads", "--config", "--data-dir", "--auth", "--max-send-queue-bytes"}) {
        EXPECT_NE(out.find(flag), std::string::npos) << flag << " missing from:\n" << out;
    }
}

TEST(Cli, BadValueIsOneClearLineAndExit1) {
    std::string out;
    EXPECT_EQ(ParleyProcess::run_to_exit({"serve", "--threads", "0"}, out), 1);
    EXPECT_NE(out.find("threads"), std::string::npos) << out;
    EXPECT_EQ(ParleyProcess::run_to_exit({"serve", "--ping-interval", "soon"}, out), 1);
    EXPECT_NE(out.find("ping_interval"), std::string::npos) << out;
    EXPECT_EQ(ParleyProcess::run_to_exit({"serve", "--auth", "nobody"}, out), 1);
}

TEST(Cli, PortInUseIsAStartupError) {
    ParleyProcess first;
    std::string out;
    EXPECT_EQ(
        ParleyProcess::run_to_exit({"serve", "--listen", "127.0.0.1:" + std::to_string(first.port())}, out),
        1);
    EXPECT_NE(out.find("cannot listen"), std::string::npos) << out;
}

TEST(Cli, UnknownKeyInConfigFileIsAStartupError) {
    const std::string path = "/tmp/parley-cli-test-bad.toml";
    std::ofstream(path) << "listen = \"127.0.0.1:0\"\nthraeds = 2\n";
    std::string out;
    EXPECT_EQ(ParleyProcess::run_to_exit({"serve", "--config", path}, out), 1);
    EXPECT_NE(out.find("thraeds"), std::string::npos) << out;
    std::remove(path.c_str());
}

// max_message_bytes is observable over the wire: the layer that wins decides whether a 15-byte
// message passes.
bool accepts_15_bytes(ParleyProcess& server) {
    TestClient c(server.port());
    c.login("a");
    c.send_text(R"({"type":"chat","to_user_id":"b","message":"123456789012345"})");
    return str(c.receive_json(), "type") == "ack";
}

TEST(Cli, FlagsBeatEnvironmentBeatsFileBeatsDefaults) {
    const std::string path = "/tmp/parley-cli-test-layers.toml";
    std::ofstream(path) << "max_message_bytes = 10\n";
    {
        ParleyProcess file_only({"--config", path});
        EXPECT_FALSE(accepts_15_bytes(file_only));
    }
    ::setenv("PARLEY_MAX_MESSAGE_BYTES", "20", 1);
    {
        ParleyProcess env_over_file({"--config", path});
        EXPECT_TRUE(accepts_15_bytes(env_over_file));
        ParleyProcess flag_over_env({"--config", path, "--max-message-bytes", "12"});
        EXPECT_FALSE(accepts_15_bytes(flag_over_env));
    }
    ::unsetenv("PARLEY_MAX_MESSAGE_BYTES");
    std::remove(path.c_str());
}

} // namespace
} // namespace parley::testing
