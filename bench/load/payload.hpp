// What the generator puts in a chat text and how it reads server frames back. The text carries
// the sender, a per-sender sequence number and the send time, so the receiver alone measures
// latency and checks loss, duplication and order. Server JSON is scanned, not parsed: both
// servers write flat objects, and a full parser here would make the generator the bottleneck.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::bench {

// 8 hex digits of sender index, 8 of sequence number, 16 of send time (ns, the generator's
// clock): 32 bytes, the standard message size. Longer texts are padded.
inline constexpr std::size_t min_text_bytes = 32;

struct Stamp {
    std::uint32_t sender = 0;
    std::uint32_t seq = 0;
    std::int64_t sent_ns = 0;
};

// Appends the chat text for `stamp`, padded with '.' to `text_bytes` (>= min_text_bytes).
void append_text(std::string& out, const Stamp& stamp, std::size_t text_bytes);

// Reads a stamp back from a received text; nullopt if it is not one of ours.
std::optional<Stamp> parse_text(std::string_view text);

// A chat's client id ("id"): unique per sender (Parley drops a repeated id as a retry, so the
// send time alone, shared by a pass's messages, would not do) and carrying the send time so
// the ack can be timed: 8 hex digits of sequence number, 16 of send time. `scrambled`: the 8
// digits are a one-to-one shuffle of the sequence number, so a sender's ids come in no order, as
// random ids (UUIDs) would; Parley files those in its idempotency table, not in order per sender.
void append_client_id(std::string& out, std::uint32_t seq, std::int64_t sent_ns, bool scrambled);
// The send time from a client id echoed in an ack; nullopt if it is not one of ours.
std::optional<std::int64_t> parse_client_id(std::string_view id);

// The value of string field `key` in a flat JSON object, e.g. string_field(obj, "type");
// nullopt if absent. Escapes are not decoded: every string the generator reads is plain ASCII.
std::optional<std::string_view> string_field(std::string_view json, std::string_view key);

} // namespace parley::bench
