// The journal store's file format (ADR 012): messages.journal is a file header followed by
// records, each one MessageStore call that changes state (append, record_receipts, prune,
// set_pushed_seq) with its arguments. The memory store answers the same calls the same way every
// time, so replaying the records in order rebuilds exactly the state that was acked. Pure: bytes
// in, bytes out; the file itself is journal_store.cpp's.
//
// Layout, integers little-endian:
//   file header: "PARLEYJ\n", u32 format version, u32 zero
//   record:      u32 payload length, u32 ~length, u32 CRC-32 of the payload, payload
//   payload:     u8 operation, then its fields; a string is u32 length + bytes
// Compaction writes a new file whose first records are the parts of the memory store's image
// (ImagePartOp), then renames it over the old one.
// The length's complement tells a torn header from a corrupt one; the CRC a torn payload.
#pragma once

#include "store/message_store.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace parley::store::journal {

inline constexpr std::string_view file_name = "messages.journal";
inline constexpr std::uint32_t format_version = 1;
inline constexpr std::size_t file_header_bytes = 16;
inline constexpr std::size_t record_header_bytes = 12;
// Far above any batch the storage thread forms (frames are at most 64 KiB, batches a few
// thousand chats): a larger length can only be damage.
inline constexpr std::uint32_t max_payload_bytes = 1U << 30;

struct AppendOp {
    std::int64_t now_ms = 0;
    std::int64_t idempotency_window_ms = 0;
    std::vector<NewMessage> batch; // views of the record's payload: apply it before the file goes
};
struct ReceiptsOp {
    std::vector<Receipt> receipts;
};
struct PruneOp {
    std::int64_t before_ms = 0;
    std::uint64_t max_messages = 0;
};
struct PushedSeqOp {
    std::string user;
    std::uint64_t seq = 0;
};
// One part of a memory store's image (memory_store.hpp): a compacted journal starts with the
// parts of the state it replaces, and replay reads them into the fresh store in order.
struct ImagePartOp {
    std::string part;
};
using Op = std::variant<AppendOp, ReceiptsOp, PruneOp, PushedSeqOp, ImagePartOp>;

// Each appends its bytes to `out`.
void write_file_header(std::string& out);
void write_append(std::string& out, std::span<const NewMessage> batch, std::int64_t now_ms,
                  std::int64_t idempotency_window_ms);
void write_receipts(std::string& out, std::span<const Receipt> receipts);
void write_prune(std::string& out, std::int64_t before_ms, std::uint64_t max_messages);
void write_pushed_seq(std::string& out, std::string_view user, std::uint64_t seq);
void write_image_part(std::string& out, std::string_view part);

enum class header_check { ok, empty, not_a_journal, newer_version };
header_check check_file_header(std::span<const char> file);

enum class scan_end {
    clean,     // every byte belongs to an intact record
    torn_tail, // the last write stopped part way (a crash): what follows valid_end is no record
    corrupt,   // a damaged record with intact data after it: not a crash's doing
};

struct ScanResult {
    std::size_t valid_end = 0; // offset just past the last intact record
    std::size_t records = 0;
    scan_end end = scan_end::clean;
    std::string problem; // for torn_tail and corrupt: what was found at valid_end
};

// Walks the records after the file header and hands each intact one, decoded, to `apply`, in
// order; stops at the first that is not intact. `file` starts with the file header.
ScanResult scan(std::span<const char> file, const std::function<void(Op&&)>& apply);

} // namespace parley::store::journal
