#include "store/journal_format.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

// The journal's bytes: every operation comes back as written, and a file cut or damaged anywhere
// is classified the way the store's open relies on — a cut (what a crash leaves) is a torn tail
// that loses only the records it reaches into; damage followed by data is corruption.

namespace parley::store::journal {
namespace {

std::string three_records() {
    std::string file;
    write_file_header(file);
    const std::vector<NewMessage> batch{{"ann", "ben", "hi ben", "c-1"}, {"ben", "ann", "", ""}};
    write_append(file, batch, 1'700'000'000'000, 86'400'000);
    const std::vector<Receipt> receipts{{"ben", "ann", receipt_kind::read, 1}};
    write_receipts(file, receipts);
    write_prune(file, 1'600'000'000'000, 5);
    return file;
}

std::vector<Op> scan_all(const std::string& file, ScanResult& result) {
    std::vector<Op> ops;
    result = scan(file, [&](Op&& op) { ops.push_back(std::move(op)); });
    return ops;
}

TEST(JournalFormat, EveryOperationReadsBackAsWritten) {
    std::string file = three_records();
    write_pushed_seq(file, "ann", 42);
    const std::string image_part("\x03 any bytes\0 at all", 20);
    write_image_part(file, image_part);
    ASSERT_EQ(check_file_header(file), header_check::ok);
    ScanResult result;
    const std::vector<Op> ops = scan_all(file, result);
    EXPECT_EQ(result.end, scan_end::clean);
    EXPECT_EQ(result.valid_end, file.size());
    ASSERT_EQ(ops.size(), 5u);
    EXPECT_EQ(std::get<ImagePartOp>(ops[4]).part, image_part);

    const auto& append = std::get<AppendOp>(ops[0]);
    EXPECT_EQ(append.now_ms, 1'700'000'000'000);
    EXPECT_EQ(append.idempotency_window_ms, 86'400'000);
    ASSERT_EQ(append.batch.size(), 2u);
    EXPECT_EQ(append.batch[0].from, "ann");
    EXPECT_EQ(append.batch[0].to, "ben");
    EXPECT_EQ(append.batch[0].text, "hi ben");
    EXPECT_EQ(append.batch[0].client_id, "c-1");
    EXPECT_EQ(append.batch[1].text, "");
    EXPECT_EQ(append.batch[1].client_id, "");

    const auto& receipts = std::get<ReceiptsOp>(ops[1]);
    ASSERT_EQ(receipts.receipts.size(), 1u);
    EXPECT_EQ(receipts.receipts[0].user, "ben");
    EXPECT_EQ(receipts.receipts[0].peer, "ann");
    EXPECT_EQ(receipts.receipts[0].kind, receipt_kind::read);
    EXPECT_EQ(receipts.receipts[0].up_to, 1u);

    const auto& prune = std::get<PruneOp>(ops[2]);
    EXPECT_EQ(prune.before_ms, 1'600'000'000'000);
    EXPECT_EQ(prune.max_messages, 5u);

    const auto& pushed = std::get<PushedSeqOp>(ops[3]);
    EXPECT_EQ(pushed.user, "ann");
    EXPECT_EQ(pushed.seq, 42u);
}

// A crash can stop a write after any byte: cut the file at every length and check that exactly
// the records wholly before the cut are read, and the rest is a torn tail.
TEST(JournalFormat, AFileCutAtAnyByteKeepsTheWholeRecordsBeforeTheCut) {
    const std::string file = three_records();
    std::vector<std::size_t> record_ends;
    ScanResult full;
    scan_all(file, full);
    ASSERT_EQ(full.records, 3u);
    // Record ends, found by scanning growing prefixes.
    for (std::size_t cut = file_header_bytes; cut <= file.size(); ++cut) {
        ScanResult result;
        const std::vector<Op> ops = scan_all(file.substr(0, cut), result);
        const bool at_record_end = result.end == scan_end::clean;
        if (at_record_end) {
            record_ends.push_back(cut);
        } else {
            EXPECT_EQ(result.end, scan_end::torn_tail) << "cut at " << cut << ": " << result.problem;
        }
        EXPECT_EQ(ops.size(), result.records);
        EXPECT_LE(result.valid_end, cut);
        EXPECT_EQ(result.valid_end, record_ends.back()) << "cut at " << cut;
    }
    EXPECT_EQ(record_ends.size(), 4u) << "the header's end and three records'";
}

TEST(JournalFormat, ZerosAfterTheLastRecordAreATornTail) {
    std::string file = three_records();
    const std::size_t end = file.size();
    file.append(4096, '\0'); // a file system may show the new size before the data
    ScanResult result;
    scan_all(file, result);
    EXPECT_EQ(result.end, scan_end::torn_tail);
    EXPECT_EQ(result.valid_end, end);
    EXPECT_EQ(result.records, 3u);
}

TEST(JournalFormat, ALastRecordThatDoesNotMatchItsChecksumIsATornTail) {
    std::string file = three_records();
    ScanResult before;
    scan_all(file, before);
    file.back() ^= 0x20; // the prune record's last byte
    ScanResult result;
    scan_all(file, result);
    EXPECT_EQ(result.end, scan_end::torn_tail);
    EXPECT_EQ(result.records, 2u);
}

// Flip each byte of the first record in turn: with two intact records after it, no flip may be
// taken for a crash's torn tail, and none may be read as an operation.
TEST(JournalFormat, DamageWithDataAfterItIsCorruptionNotATornTail) {
    const std::string file = three_records();
    std::string header_only;
    write_file_header(header_only);
    std::string one = header_only;
    const std::vector<NewMessage> batch{{"ann", "ben", "hi ben", "c-1"}, {"ben", "ann", "", ""}};
    write_append(one, batch, 1'700'000'000'000, 86'400'000);
    const std::size_t first_end = one.size();
    ASSERT_EQ(file.substr(0, first_end), one);
    for (std::size_t at = file_header_bytes; at < first_end; ++at) {
        std::string damaged = file;
        damaged[at] = static_cast<char>(damaged[at] ^ 0x01);
        ScanResult result;
        const std::vector<Op> ops = scan_all(damaged, result);
        EXPECT_EQ(result.end, scan_end::corrupt) << "flip at " << at << ": " << result.problem;
        EXPECT_EQ(result.valid_end, file_header_bytes) << "flip at " << at;
        EXPECT_TRUE(ops.empty());
    }
}

TEST(JournalFormat, HeaderChecks) {
    std::string header;
    write_file_header(header);
    EXPECT_EQ(header.size(), file_header_bytes);
    EXPECT_EQ(check_file_header(header), header_check::ok);
    EXPECT_EQ(check_file_header(""), header_check::empty);
    EXPECT_EQ(check_file_header(std::string(7, '\0')), header_check::empty);
    EXPECT_EQ(check_file_header("SQLite format 3\0"), header_check::not_a_journal);
    EXPECT_EQ(check_file_header(header.substr(0, 10)), header_check::not_a_journal);
    std::string newer = header;
    newer[8] = static_cast<char>(format_version + 1);
    EXPECT_EQ(check_file_header(newer), header_check::newer_version);
}

} // namespace
} // namespace parley::store::journal
