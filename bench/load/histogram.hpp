// A latency histogram with bounded relative error (log-linear buckets, ~0.8 %), fixed size, no
// allocation when recording: one per generator thread, merged at the end of a run.
#pragma once

#include <array>
#include <cstdint>

namespace parley::bench {

class Histogram {
public:
    // Records one latency in nanoseconds; negative values (clock skew cannot happen on one
    // monotonic clock, but a bug could) count as 0.
    void record(std::int64_t ns);
    void merge(const Histogram& other);

    std::uint64_t count() const { return count_; }
    std::int64_t max_ns() const { return max_; }
    // The value below which a fraction `q` (0..1) of the recordings fall, in nanoseconds: the
    // upper edge of the bucket holding that rank (never above the largest value recorded).
    std::int64_t quantile_ns(double q) const;

private:
    // Values below 2^sub_bits are exact; above, each power of two is split in 2^(sub_bits-1).
    static constexpr unsigned sub_bits = 8;
    static constexpr std::uint64_t exact_limit = std::uint64_t{1} << sub_bits;
    static constexpr std::uint64_t half = exact_limit / 2;
    static constexpr std::size_t bucket_count = exact_limit + (64 - sub_bits + 1) * half;

    static std::size_t index_of(std::uint64_t v);
    static std::uint64_t upper_edge(std::size_t index);

    std::array<std::uint64_t, bucket_count> buckets_{};
    std::uint64_t count_ = 0;
    std::int64_t max_ = 0;
};

} // namespace parley::bench
