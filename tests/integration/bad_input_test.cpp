// Bad input, one case per test: each gets a clear `error` reply or, for RFC 6455 violations, a
// close with the right status code — and the server keeps serving everyone else.
#include "parley_process.hpp"
#include "test_client.hpp"

#include <gtest/gtest.h>

namespace parley::testing {
namespace {

using net::ws::opcode;

// Two fresh users can still chat: the server survived whatever the test did.
void expect_server_healthy(std::uint16_t port) {
    TestClient a(port);
    TestClient b(port);
    a.login("healthy-a");
    b.login("healthy-b");
    a.send_text(R"({"type":"chat","to_user_id":"healthy-b","message":"still up"})");
    EXPECT_EQ(str(b.receive_type("chat"), "message"), "still up");
}

// Sends `frame` on a fresh connection (logged in as `user` unless empty) and returns the reply.
boost::json::object reply_to(ParleyProcess& server, std::string_view frame,
                             std::string_view user = "sender") {
    TestClient c(server.port());
    if (!user.empty()) {
        c.login(user);
    }
    c.send_text(frame);
    auto reply = c.receive_json();
    // The connection survives an error reply: it can still ping.
    c.send_text(R"({"type":"ping","id":"after"})");
    EXPECT_EQ(str(c.receive_type("pong"), "id"), "after");
    return reply;
}

void expect_error(const boost::json::object& reply, std::string_view code) {
    EXPECT_EQ(str(reply, "type"), "error") << boost::json::serialize(reply);
    EXPECT_EQ(str(reply, "code"), code) << boost::json::serialize(reply);
    EXPECT_FALSE(str(reply, "message").empty());
}

class BadInput : public ::testing::Test {
protected:
    ParleyProcess server{{"--threads", "2", "--max-message-bytes", "1KiB", "--max-frame-bytes", "8KiB"}};
    void TearDown() override { expect_server_healthy(server.port()); }
};

TEST_F(BadInput, NotJson) {
    expect_error(reply_to(server, "this is not json", ""), "bad_json");
}

TEST_F(BadInput, TruncatedJson) {
    expect_error(reply_to(server, R"({"type":"login","user_id":"a")", ""), "bad_json");
}

TEST_F(BadInput, JsonThatIsNotAnObject) {
    expect_error(reply_to(server, "[1,2,3]", ""), "not_an_object");
    expect_error(reply_to(server, "\"login\"", ""), "not_an_object");
}

TEST_F(BadInput, MissingType) {
    expect_error(reply_to(server, R"({"user_id":"a"})", ""), "missing_field");
}

TEST_F(BadInput, MissingRecipient) {
    expect_error(reply_to(server, R"({"type":"chat","message":"hi"})"), "missing_field");
}

TEST_F(BadInput, MissingMessage) {
    expect_error(reply_to(server, R"({"type":"chat","to_user_id":"b"})"), "missing_field");
}

TEST_F(BadInput, MistypedFields) {
    expect_error(reply_to(server, R"({"type":"login","user_id":{"a":1}})", ""), "bad_field");
    expect_error(reply_to(server, R"({"type":"chat","to_user_id":"b","message":7})"), "bad_field");
    expect_error(reply_to(server, R"({"type":5})", ""), "bad_field");
}

TEST_F(BadInput, UnknownType) {
    const auto reply = reply_to(server, R"({"type":"teleport","id":"t1"})");
    expect_error(reply, "unknown_type");
}

TEST_F(BadInput, ChatBeforeLoginIsRefusedWithRef) {
    const auto reply =
        reply_to(server, R"({"type":"chat","to_user_id":"b","message":"hi","id":"early"})", "");
    expect_error(reply, "not_logged_in");
    EXPECT_EQ(str(reply, "ref"), "early");
}

TEST_F(BadInput, SecondLoginOnOneConnection) {
    TestClient c(server.port());
    c.login("first");
    c.send_text(R"({"type":"login","user_id":"second"})");
    expect_error(c.receive_json(), "already_logged_in");
}

TEST_F(BadInput, EmptyUserId) {
    expect_error(reply_to(server, R"({"type":"login","user_id":""})", ""), "bad_user_id");
}

TEST_F(BadInput, UserIdOver64Bytes) {
    const std::string id(65, 'x');
    expect_error(reply_to(server, R"({"type":"login","user_id":")" + id + "\"}", ""), "bad_user_id");
    // Exactly 64 is fine.
    TestClient c(server.port());
    EXPECT_EQ(str(c.login(std::string(64, 'y')), "type"), "login_ok");
}

TEST_F(BadInput, UserIdWithControlCharacters) {
    expect_error(reply_to(server, R"({"type":"login","user_id":"a\u0007b"})", ""), "bad_user_id");
    expect_error(reply_to(server, R"({"type":"chat","to_user_id":"b\nc","message":"x"})"), "bad_user_id");
}

TEST_F(BadInput, MessageOverTheLimit) {
    const std::string text(1025, 'm');
    const auto reply =
        reply_to(server, R"({"type":"chat","to_user_id":"b","message":")" + text + R"(","id":"big"})");
    expect_error(reply, "message_too_long");
    EXPECT_EQ(str(reply, "ref"), "big");
}

TEST_F(BadInput, BinaryFrameGetsAnErrorAndTheConnectionStays) {
    TestClient c(server.port());
    c.login("bin");
    c.send_frame(opcode::binary, std::string("\x00\x01\x02", 3));
    expect_error(c.receive_json(), "binary_unsupported");
    c.send_text(R"({"type":"ping"})");
    EXPECT_EQ(str(c.receive_json(), "type"), "pong");
}

TEST_F(BadInput, InvalidUtf8TextClosesWith1007) {
    TestClient c(server.port());
    c.login("utf");
    c.send_frame(opcode::text, "{\"type\":\"chat\",\"message\":\"\xc3\x28\"}");
    EXPECT_EQ(c.wait_closed(), 1007);
}

TEST_F(BadInput, InvalidUtf8SplitAcrossFragmentsClosesWith1007) {
    TestClient c(server.port());
    c.login("utf2");
    c.send_frame(opcode::text, "{\"type\":\"ping\",\"x\":\"\xe2\x82", false);
    c.send_frame(opcode::continuation, "\x28\"}", true);
    EXPECT_EQ(c.wait_closed(), 1007);
}

TEST_F(BadInput, FrameOverTheLimitClosesWith1009) {
    TestClient c(server.port());
    c.login("big");
    c.send_text(std::string(9 * 1024, ' '));
    EXPECT_EQ(c.wait_closed(), 1009);
}

TEST_F(BadInput, FragmentedMessageOverTheLimitClosesWith1009) {
    TestClient c(server.port());
    c.login("big2");
    const std::string piece(3 * 1024, ' ');
    c.send_frame(opcode::text, piece, false);
    c.send_frame(opcode::continuation, piece, false);
    c.send_frame(opcode::continuation, piece, true);
    EXPECT_EQ(c.wait_closed(), 1009);
}

TEST_F(BadInput, UnmaskedClientFrameClosesWith1002) {
    TestClient c(server.port());
    std::string frame;
    net::ws::append_frame(frame, opcode::text, R"({"type":"ping"})");
    c.send_bytes(frame);
    EXPECT_EQ(c.wait_closed(), 1002);
}

TEST_F(BadInput, ReservedBitsCloseWith1002) {
    TestClient c(server.port());
    std::string frame;
    net::ws::append_masked_frame(frame, opcode::text, R"({"type":"ping"})", {1, 2, 3, 4});
    frame[0] = static_cast<char>(static_cast<unsigned char>(frame[0]) | 0x40);
    c.send_bytes(frame);
    EXPECT_EQ(c.wait_closed(), 1002);
}

TEST_F(BadInput, ReservedOpcodeClosesWith1002) {
    TestClient c(server.port());
    c.send_frame(static_cast<opcode>(0x3), "x");
    EXPECT_EQ(c.wait_closed(), 1002);
}

TEST_F(BadInput, FragmentedControlFrameClosesWith1002) {
    TestClient c(server.port());
    c.send_frame(opcode::ping, "x", false);
    EXPECT_EQ(c.wait_closed(), 1002);
}

TEST_F(BadInput, DroppedConnectionMidFrameHarmsNoOne) {
    {
        TestClient c(server.port());
        c.login("dropper");
        std::string frame;
        net::ws::append_masked_frame(frame, opcode::text, std::string(1000, 'x'), {9, 9, 9, 9});
        c.send_bytes(std::string_view(frame).substr(0, 500));
    } // closed with half a frame sent
}

TEST(Flood, FramesPastTheRateLimitAreRefusedThenTheConnectionIsClosed) {
    ParleyProcess server({"--max-frames-per-second", "5", "--max-frames-burst", "5"});
    TestClient c(server.port());
    c.login("flooder");
    for (int i = 0; i < 300; ++i) {
        c.send_text(R"({"type":"ping"})");
    }
    bool saw_rate_limited = false;
    std::optional<std::uint16_t> close_code;
    for (int i = 0; i < 400 && !close_code; ++i) {
        const Received r = c.receive();
        if (r.kind == net::ws::event_kind::text) {
            const auto o = boost::json::parse(r.payload).as_object();
            saw_rate_limited = saw_rate_limited || str(o, "code") == "rate_limited";
        } else if (r.kind == net::ws::event_kind::close) {
            close_code = r.close_code;
        } else {
            break;
        }
    }
    EXPECT_TRUE(saw_rate_limited);
    EXPECT_EQ(close_code, 1008);
    expect_server_healthy(server.port());
}

} // namespace
} // namespace parley::testing
