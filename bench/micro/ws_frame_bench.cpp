// The RFC 6455 codec's per-message costs: parsing the masked 32-byte text frame a chat client
// sends (unmask + UTF-8 check + framing rules) and writing the header of a server frame.
#include "net/ws_frame.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

using parley::net::ws::MessageReader;
using parley::net::ws::opcode;

// A chat-sized text: 32 bytes, as parley-bench sends.
const std::string text32 = "0000002a00000007000001234abcdef0";

void BM_ws_parse_masked_text32(benchmark::State& state) {
    std::string frame;
    parley::net::ws::append_masked_frame(frame, opcode::text, text32, {0x12, 0x34, 0x56, 0x78});
    MessageReader reader(parley::net::ws::peer::client);
    std::string buffer;
    for (auto _ : state) {
        // The reader unmasks in place, so each round parses a fresh copy, as a socket read would.
        buffer = frame;
        std::span<char> input(buffer.data(), buffer.size());
        auto event = reader.next(input);
        benchmark::DoNotOptimize(event);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frame.size()));
}
BENCHMARK(BM_ws_parse_masked_text32);

// A read that returned 64 frames at once: the per-frame cost without the copy dominating.
void BM_ws_parse_masked_text32_batch64(benchmark::State& state) {
    std::string frames;
    for (int i = 0; i < 64; ++i) {
        parley::net::ws::append_masked_frame(frames, opcode::text, text32, {0x12, 0x34, 0x56, 0x78});
    }
    MessageReader reader(parley::net::ws::peer::client);
    std::string buffer;
    for (auto _ : state) {
        buffer = frames;
        std::span<char> input(buffer.data(), buffer.size());
        for (int i = 0; i < 64; ++i) {
            auto event = reader.next(input);
            benchmark::DoNotOptimize(event);
        }
    }
    state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_ws_parse_masked_text32_batch64);

void BM_ws_write_header(benchmark::State& state) {
    std::array<std::uint8_t, parley::net::ws::max_header_bytes> header{};
    std::size_t payload_bytes = 120;
    for (auto _ : state) {
        benchmark::DoNotOptimize(payload_bytes);
        const std::size_t n = parley::net::ws::write_header(header, opcode::text, payload_bytes);
        benchmark::DoNotOptimize(n);
        benchmark::DoNotOptimize(header);
    }
}
BENCHMARK(BM_ws_write_header);

} // namespace
