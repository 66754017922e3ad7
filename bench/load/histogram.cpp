// Log-linear bucketing: the top sub_bits bits of a value pick its bucket, so every bucket is at
// most 1/128 of its value wide and the whole table is a few tens of KiB.
#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace parley::bench {

std::size_t Histogram::index_of(std::uint64_t v) {
    if (v < exact_limit) {
        return static_cast<std::size_t>(v);
    }
    const unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(v));
    const unsigned shift = msb - (sub_bits - 1); // >= 1 here
    const std::uint64_t top = v >> shift;        // in [half, exact_limit)
    return static_cast<std::size_t>(exact_limit + (shift - 1) * half + (top - half));
}

std::uint64_t Histogram::upper_edge(std::size_t index) {
    if (index < exact_limit) {
        return index;
    }
    const std::size_t past = index - exact_limit;
    const auto shift = static_cast<unsigned>(past / half + 1);
    const std::uint64_t top = half + past % half;
    return ((top + 1) << shift) - 1;
}

void Histogram::record(std::int64_t ns) {
    const std::uint64_t v = ns < 0 ? 0 : static_cast<std::uint64_t>(ns);
    ++buckets_[index_of(v)];
    ++count_;
    max_ = std::max(max_, static_cast<std::int64_t>(v));
}

void Histogram::merge(const Histogram& other) {
    for (std::size_t i = 0; i < bucket_count; ++i) {
        buckets_[i] += other.buckets_[i];
    }
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
}

std::int64_t Histogram::quantile_ns(double q) const {
    if (count_ == 0) {
        return 0;
    }
    // The rank of the q-quantile, 1-based: p99 of 1000 values is the 990th smallest.
    const auto rank =
        std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
        seen += buckets_[i];
        if (seen >= rank) {
            return std::min(static_cast<std::int64_t>(upper_edge(i)), max_);
        }
    }
    return max_;
}

} // namespace parley::bench
