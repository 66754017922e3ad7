#include "store/journal_format.hpp"

#include "store/byte_codec.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <optional>

namespace parley::store::journal {

namespace {

using bytes::put;
using bytes::put_string;

constexpr std::string_view magic = "PARLEYJ\n";

enum class op_code : std::uint8_t { append = 1, receipts = 2, prune = 3, pushed_seq = 4, image_part = 5 };

// zlib's CRC-32 (the common polynomial, as Boost.CRC's crc_32_type): about 3 GB/s here against
// Boost's 0.3, which mattered for compaction, where every byte of the image is checksummed.
std::uint32_t crc_of(const char* data, std::size_t size) {
    uLong crc = ::crc32(0L, Z_NULL, 0);
    while (size > 0) {
        const auto chunk = static_cast<uInt>(std::min<std::size_t>(size, 1U << 30));
        crc = ::crc32(crc, reinterpret_cast<const Bytef*>(data), chunk);
        data += chunk;
        size -= chunk;
    }
    return static_cast<std::uint32_t>(crc);
}

// Reserves the record header, lets `fill` write the payload, then fills the header in.
template <class Fill> void record(std::string& out, op_code op, Fill&& fill) {
    const std::size_t header_at = out.size();
    out.append(record_header_bytes, '\0');
    const std::size_t payload_at = out.size();
    put(out, static_cast<std::uint8_t>(op));
    fill();
    const auto length = static_cast<std::uint32_t>(out.size() - payload_at);
    const std::uint32_t check = ~length;
    const std::uint32_t crc = crc_of(out.data() + payload_at, length);
    std::memcpy(out.data() + header_at, &length, 4);
    std::memcpy(out.data() + header_at + 4, &check, 4);
    std::memcpy(out.data() + header_at + 8, &crc, 4);
}

std::optional<Op> decode(std::span<const char> payload) {
    bytes::Reader in(payload);
    const auto code = static_cast<op_code>(in.get<std::uint8_t>());
    Op op;
    switch (code) {
    case op_code::append: {
        AppendOp a;
        a.now_ms = in.get<std::int64_t>();
        a.idempotency_window_ms = in.get<std::int64_t>();
        a.batch.resize(in.get_count(16));
        for (NewMessage& m : a.batch) {
            m.from = in.get_string();
            m.to = in.get_string();
            m.text = in.get_string();
            m.client_id = in.get_string();
        }
        op = std::move(a);
        break;
    }
    case op_code::receipts: {
        ReceiptsOp r;
        r.receipts.resize(in.get_count(17));
        for (Receipt& receipt : r.receipts) {
            receipt.user = in.get_string();
            receipt.peer = in.get_string();
            const auto kind = in.get<std::uint8_t>();
            if (kind > 1) {
                return std::nullopt;
            }
            receipt.kind = kind == 0 ? receipt_kind::delivered : receipt_kind::read;
            receipt.up_to = in.get<std::uint64_t>();
        }
        op = std::move(r);
        break;
    }
    case op_code::prune:
        op = PruneOp{in.get<std::int64_t>(), in.get<std::uint64_t>()};
        break;
    case op_code::pushed_seq: {
        PushedSeqOp p;
        p.user = in.get_string();
        p.seq = in.get<std::uint64_t>();
        op = std::move(p);
        break;
    }
    case op_code::image_part: {
        // The rest of the payload, as it is: the memory store reads it.
        const std::size_t size = payload.size() - 1;
        op = ImagePartOp{std::string(payload.data() + 1, size)};
        return op;
    }
    default:
        return std::nullopt;
    }
    if (!in.finished_cleanly()) {
        return std::nullopt;
    }
    return op;
}

bool all_zero(std::span<const char> bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

} // namespace

void write_file_header(std::string& out) {
    out.append(magic);
    put(out, format_version);
    put(out, std::uint32_t{0});
}

void write_append(std::string& out, std::span<const NewMessage> batch, std::int64_t now_ms,
                  std::int64_t idempotency_window_ms) {
    record(out, op_code::append, [&] {
        put(out, now_ms);
        put(out, idempotency_window_ms);
        put(out, static_cast<std::uint32_t>(batch.size()));
        for (const NewMessage& m : batch) {
            put_string(out, m.from);
            put_string(out, m.to);
            put_string(out, m.text);
            put_string(out, m.client_id);
        }
    });
}

void write_receipts(std::string& out, std::span<const Receipt> receipts) {
    record(out, op_code::receipts, [&] {
        put(out, static_cast<std::uint32_t>(receipts.size()));
        for (const Receipt& r : receipts) {
            put_string(out, r.user);
            put_string(out, r.peer);
            put(out, static_cast<std::uint8_t>(r.kind == receipt_kind::read ? 1 : 0));
            put(out, r.up_to);
        }
    });
}

void write_prune(std::string& out, std::int64_t before_ms, std::uint64_t max_messages) {
    record(out, op_code::prune, [&] {
        put(out, before_ms);
        put(out, max_messages);
    });
}

void write_pushed_seq(std::string& out, std::string_view user, std::uint64_t seq) {
    record(out, op_code::pushed_seq, [&] {
        put_string(out, user);
        put(out, seq);
    });
}

void write_image_part(std::string& out, std::string_view part) {
    record(out, op_code::image_part, [&] { out.append(part); });
}

header_check check_file_header(std::span<const char> file) {
    if (file.empty() || (file.size() < file_header_bytes && all_zero(file))) {
        return header_check::empty; // created, then a crash before its header reached the disk
    }
    if (file.size() < file_header_bytes || std::string_view(file.data(), magic.size()) != magic) {
        return header_check::not_a_journal;
    }
    std::uint32_t version = 0;
    std::memcpy(&version, file.data() + magic.size(), 4);
    return version > format_version ? header_check::newer_version : header_check::ok;
}

ScanResult scan(std::span<const char> file, const std::function<void(Op&&)>& apply) {
    ScanResult result;
    std::size_t at = file_header_bytes;
    // What lies at `at` is no intact record. It is a torn tail if a crash can explain it: a write
    // that stopped part way leaves a short header, a payload shorter than its length, a last
    // record whose payload is not what was written, or zeros the file system allocated.
    auto stop = [&](bool torn, std::string problem) {
        result.valid_end = at;
        result.end = torn || all_zero(file.subspan(at)) ? scan_end::torn_tail : scan_end::corrupt;
        result.problem = std::move(problem);
        return result;
    };
    while (at < file.size()) {
        const std::size_t left = file.size() - at;
        if (left < record_header_bytes) {
            return stop(true, "a record header cut short");
        }
        std::uint32_t length = 0;
        std::uint32_t check = 0;
        std::uint32_t crc = 0;
        std::memcpy(&length, file.data() + at, 4);
        std::memcpy(&check, file.data() + at + 4, 4);
        std::memcpy(&crc, file.data() + at + 8, 4);
        if (check != ~length || length == 0 || length > max_payload_bytes) {
            return stop(false, "a damaged record header");
        }
        if (length > left - record_header_bytes) {
            return stop(true, "a record cut short");
        }
        const std::span<const char> payload = file.subspan(at + record_header_bytes, length);
        const bool last = length == left - record_header_bytes;
        if (crc_of(payload.data(), payload.size()) != crc) {
            return stop(last, "a record whose checksum does not match");
        }
        std::optional<Op> op = decode(payload);
        if (!op) {
            return stop(false, "a record that cannot be read (intact checksum)");
        }
        apply(std::move(*op));
        ++result.records;
        at += record_header_bytes + length;
    }
    result.valid_end = at;
    return result;
}

} // namespace parley::store::journal
