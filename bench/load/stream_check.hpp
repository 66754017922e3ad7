// Loss, duplication and reordering of one sender's messages as one receiver sees them. Each
// stream is touched only by the thread that owns its receiver; counts are read after the run.
#pragma once

#include <cstdint>
#include <vector>

namespace parley::bench {

class StreamCheck {
public:
    enum class verdict { in_order, reordered, duplicated };

    // One message with sequence number `seq` arrived (the sender numbers from 0, step 1).
    verdict on_receive(std::uint32_t seq);

    // Messages seen at least once.
    std::uint64_t unique() const { return unique_; }
    std::uint64_t duplicated() const { return duplicated_; }
    std::uint64_t reordered() const { return reordered_; }
    // Sequence numbers skipped and not seen since; past the tracking bound a gap is only counted,
    // and a late arrival into an untracked gap reads as a duplicate (reported as gaps_untracked).
    std::uint64_t gaps_untracked() const { return untracked_; }

private:
    // How many missing sequence numbers one stream remembers: a loss that large is a failed run
    // anyway, and the bound keeps a broken server from growing the generator's memory.
    static constexpr std::size_t max_tracked_missing = 1 << 16;

    std::uint32_t next_expected_ = 0;
    std::uint64_t unique_ = 0;
    std::uint64_t duplicated_ = 0;
    std::uint64_t reordered_ = 0;
    std::uint64_t untracked_ = 0;
    // Skipped sequence numbers, ascending; empty on every healthy run, so it costs nothing.
    std::vector<std::uint32_t> missing_;
};

} // namespace parley::bench
