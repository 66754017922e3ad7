// JSON costs of one chat: decoding the request (simdjson On Demand through protocol::Decoder)
// and encoding the delivered message once (protocol::encode_chat).
#include "protocol/decoder.hpp"
#include "protocol/encoder.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

// The frame parley-bench sends: seed fields plus a client id.
constexpr std::string_view chat_request =
    R"({"type":"chat","to_user_id":"u1","message":"0000000000000007000001234abcdef0","id":1234567890123})";

void BM_json_decode_chat(benchmark::State& state) {
    parley::protocol::Decoder decoder;
    for (auto _ : state) {
        auto message = decoder.decode(chat_request);
        benchmark::DoNotOptimize(message);
    }
}
BENCHMARK(BM_json_decode_chat);

void BM_json_decode_login(benchmark::State& state) {
    parley::protocol::Decoder decoder;
    constexpr std::string_view login = R"({"type":"login","user_id":"u1234"})";
    for (auto _ : state) {
        auto message = decoder.decode(login);
        benchmark::DoNotOptimize(message);
    }
}
BENCHMARK(BM_json_decode_login);

void BM_json_encode_chat(benchmark::State& state) {
    const parley::protocol::ChatEvent chat{
        "u0", "u1", "0000000000000007000001234abcdef0", 4097, 1'764'158'400'123, false};
    std::string out;
    for (auto _ : state) {
        out.clear();
        parley::protocol::encode_chat(out, chat);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(BM_json_encode_chat);

void BM_json_encode_ack(benchmark::State& state) {
    std::string out;
    for (auto _ : state) {
        out.clear();
        parley::protocol::encode_ack(out, "1234567890123", 4097, 1'764'158'400'123);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(BM_json_encode_ack);

} // namespace
