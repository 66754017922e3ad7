#include "store/log_rows.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>
#include <vector>

// The bytes of the SQLite store's log layout (ADR 014): what is encoded decodes to the same
// values, whatever their size or sign, and damaged bytes are reported, never read past.

namespace parley::store::log_rows {
namespace {

LoggedMessage message(std::uint64_t id, std::int64_t ts, std::string client_id, std::string text) {
    LoggedMessage m;
    m.msg_id = id;
    m.ts_ms = ts;
    m.from = static_cast<std::int64_t>(id % 7) + 1;
    m.to = static_cast<std::int64_t>(id % 5) + 1;
    m.from_seq = id * 3;
    m.to_seq = id * 3 + 1;
    m.client_id = std::move(client_id);
    m.text = std::move(text);
    return m;
}

void expect_same(const LoggedMessage& a, const LoggedMessage& b) {
    EXPECT_EQ(a.msg_id, b.msg_id);
    EXPECT_EQ(a.ts_ms, b.ts_ms);
    EXPECT_EQ(a.from, b.from);
    EXPECT_EQ(a.to, b.to);
    EXPECT_EQ(a.from_seq, b.from_seq);
    EXPECT_EQ(a.to_seq, b.to_seq);
    EXPECT_EQ(a.client_id, b.client_id);
    EXPECT_EQ(a.text, b.text);
}

std::vector<LoggedMessage> sample_batch() {
    // Ids with a gap (a batch version 2 left after a prune), a clock that steps back, an empty
    // text, binary bytes and a text longer than a varint's first byte.
    return {message(1, 1'700'000'000'000, "c1", "hello"), message(2, 1'699'999'999'000, "", ""),
            message(9, 1'700'000'000'005, std::string("\0\xff", 2), std::string(300, 'x')),
            message(std::numeric_limits<std::uint64_t>::max() / 4,
                    std::numeric_limits<std::int64_t>::min() / 4, "\"k\"", "last")};
}

TEST(LogRows, ABatchDecodesToWhatWasEncoded) {
    const auto batch = sample_batch();
    const std::string body = encode_batch(batch);
    std::vector<LoggedMessage> out;
    ASSERT_TRUE(decode_batch(body, out));
    ASSERT_EQ(out.size(), batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
        expect_same(out[i], batch[i]);
    }
}

// The first and last timestamps an int64 holds, one after the other: their difference does not
// fit an int64, and is stored modulo 2^64 (fuzz/regressions/fuzz_log_rows/ts_delta_overflow was a
// damaged row whose deltas overflowed when added).
TEST(LogRows, TimestampsAtTheEndsOfTheRangeSurviveTheirDifferences) {
    const std::vector<LoggedMessage> batch{message(1, std::numeric_limits<std::int64_t>::max(), "", "a"),
                                           message(2, std::numeric_limits<std::int64_t>::min(), "", "b"),
                                           message(3, std::numeric_limits<std::int64_t>::max(), "", "c")};
    std::vector<LoggedMessage> out;
    ASSERT_TRUE(decode_batch(encode_batch(batch), out));
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[1].ts_ms, std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(out[2].ts_ms, std::numeric_limits<std::int64_t>::max());
}

TEST(LogRows, FindInBatchReturnsOneMessageOrNone) {
    const auto batch = sample_batch();
    const std::string body = encode_batch(batch);
    for (const LoggedMessage& m : batch) {
        bool damaged = true;
        const auto found = find_in_batch(body, m.msg_id, damaged);
        EXPECT_FALSE(damaged);
        ASSERT_TRUE(found.has_value()) << m.msg_id;
        expect_same(*found, m);
    }
    for (const std::uint64_t absent : {0ULL, 3ULL, 10ULL, 18446744073709551615ULL}) {
        bool damaged = true;
        EXPECT_FALSE(find_in_batch(body, absent, damaged).has_value()) << absent;
        EXPECT_FALSE(damaged) << absent;
    }
}

// Every prefix of a valid body, and every single-byte change to one, is reported as damaged or
// decodes to something; nothing reads past the end (ASan would say so) or reserves a huge count.
TEST(LogRows, CutOrChangedBytesAreReportedNotReadPast) {
    const auto batch = sample_batch();
    const std::string body = encode_batch(batch);
    for (std::size_t cut = 0; cut < body.size(); ++cut) {
        std::vector<LoggedMessage> out;
        EXPECT_FALSE(decode_batch(std::string_view(body).substr(0, cut), out)) << "cut at " << cut;
        // The last message is whole in no prefix (earlier ones are found before the cut).
        bool damaged = false;
        EXPECT_FALSE(find_in_batch(std::string_view(body).substr(0, cut), batch.back().msg_id, damaged));
        EXPECT_TRUE(damaged) << "cut at " << cut;
    }
    std::mt19937 random(5);
    for (int i = 0; i < 2000; ++i) {
        std::string changed = body;
        changed[random() % changed.size()] = static_cast<char>(random());
        std::vector<LoggedMessage> out;
        (void)decode_batch(changed, out);
        EXPECT_LE(out.size(), 4u);
    }
    std::vector<LoggedMessage> out;
    EXPECT_FALSE(decode_batch(std::string("\xff\xff\xff\xff\x0f", 5), out)) << "a count larger than the body";
    EXPECT_FALSE(decode_batch(std::string(11, '\x80'), out)) << "a varint longer than 64 bits";
    EXPECT_FALSE(decode_batch(body + "x", out)) << "bytes after the last message";
}

TEST(LogRows, RunsDecodeToWhatWasEncoded) {
    const std::vector<InboxEntryRef> inbox{{1, 5}, {2, 6}, {300, 70000}, {1ULL << 40, 1ULL << 50}};
    std::vector<InboxEntryRef> inbox_out;
    ASSERT_TRUE(decode_inbox_run(encode_inbox_run(inbox), inbox_out));
    ASSERT_EQ(inbox_out.size(), inbox.size());
    for (std::size_t i = 0; i < inbox.size(); ++i) {
        EXPECT_EQ(inbox_out[i].seq, inbox[i].seq);
        EXPECT_EQ(inbox_out[i].msg_id, inbox[i].msg_id);
    }

    const std::vector<ConversationEntryRef> conversation{{4, true}, {5, false}, {1ULL << 60, true}};
    std::vector<ConversationEntryRef> conversation_out;
    ASSERT_TRUE(decode_conversation_run(encode_conversation_run(conversation), conversation_out));
    ASSERT_EQ(conversation_out.size(), conversation.size());
    for (std::size_t i = 0; i < conversation.size(); ++i) {
        EXPECT_EQ(conversation_out[i].msg_id, conversation[i].msg_id);
        EXPECT_EQ(conversation_out[i].from_lo, conversation[i].from_lo);
    }

    const std::vector<ClientIdRef> client_ids{{7, 0xfedcba9876543210ULL}, {8, 1}};
    std::vector<ClientIdRef> client_ids_out;
    const std::string encoded = encode_client_id_run(client_ids);
    ASSERT_TRUE(decode_client_id_run(encoded, client_ids_out));
    ASSERT_EQ(client_ids_out.size(), 2u);
    EXPECT_EQ(client_ids_out[0].fingerprint, 0xfedcba9876543210ULL);
    EXPECT_EQ(client_ids_out[1].msg_id, 8u);

    client_ids_out.clear();
    EXPECT_FALSE(
        decode_client_id_run(std::string_view(encoded).substr(0, encoded.size() - 1), client_ids_out));
    inbox_out.clear();
    EXPECT_FALSE(decode_inbox_run("\x02\x01", inbox_out));
    conversation_out.clear();
    EXPECT_FALSE(decode_conversation_run("\x05", conversation_out));
}

// Fingerprints are stored in client_id_runs and compared with ones computed by later binaries:
// a change to the function would make every stored one miss. These values pin it.
TEST(LogRows, TheClientIdFingerprintNeverChanges) {
    EXPECT_NE(client_id_fingerprint(1, "a"), client_id_fingerprint(2, "a"));
    EXPECT_NE(client_id_fingerprint(1, "a"), client_id_fingerprint(1, "b"));
    EXPECT_EQ(client_id_fingerprint(1, "\"m-1\""), client_id_fingerprint(1, "\"m-1\""));
    EXPECT_EQ(client_id_fingerprint(42, "\"abc\""), 1163918747243123161ULL);
    EXPECT_EQ(client_id_fingerprint(7, ""), 12548494866695815710ULL);
}

} // namespace
} // namespace parley::store::log_rows
