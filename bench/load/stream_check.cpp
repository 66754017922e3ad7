// The in-order case is one compare; gaps are remembered so a late message is told apart from a
// repeated one (reordered vs duplicated), which a plain "highest seen" counter cannot do.
#include "stream_check.hpp"

#include <algorithm>

namespace parley::bench {

StreamCheck::verdict StreamCheck::on_receive(std::uint32_t seq) {
    if (seq == next_expected_) {
        ++next_expected_;
        ++unique_;
        return verdict::in_order;
    }
    if (seq > next_expected_) {
        // Everything between was skipped: lost so far, or reordered if it turns up later.
        for (std::uint32_t s = next_expected_; s < seq; ++s) {
            if (missing_.size() >= max_tracked_missing) {
                untracked_ += seq - s;
                break;
            }
            missing_.push_back(s);
        }
        next_expected_ = seq + 1;
        ++unique_;
        return verdict::in_order;
    }
    const auto it = std::lower_bound(missing_.begin(), missing_.end(), seq);
    if (it != missing_.end() && *it == seq) {
        missing_.erase(it);
        ++unique_;
        ++reordered_;
        return verdict::reordered;
    }
    ++duplicated_;
    return verdict::duplicated;
}

} // namespace parley::bench
