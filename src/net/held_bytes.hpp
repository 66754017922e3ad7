// Bytes a connection must keep between reads: an incomplete request or frame, the fragments of a
// message in progress. Rare, and usually short-lived, so while empty it costs one pointer, not a
// std::string's 32 bytes: that is paid by every idle session (docs/operations.md, Capacity).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace parley::net {

class HeldBytes {
public:
    bool empty() const { return !bytes_ || bytes_->empty(); }
    std::size_t size() const { return bytes_ ? bytes_->size() : 0; }
    // Valid until the next change; writable, because frames are unmasked in place.
    char* data() { return bytes_ ? bytes_->data() : nullptr; }
    std::string_view view() const { return bytes_ ? std::string_view(*bytes_) : std::string_view(); }

    void assign(std::string_view bytes) {
        if (!bytes_) {
            bytes_ = std::make_unique<std::string>();
        }
        bytes_->assign(bytes);
    }
    void append(std::string_view bytes) {
        if (!bytes_) {
            bytes_ = std::make_unique<std::string>();
        }
        bytes_->append(bytes);
    }
    // Drops the first `count` bytes; once nothing is left the memory goes back too.
    void consume(std::size_t count) {
        if (count >= size()) {
            release();
        } else {
            bytes_->erase(0, count);
        }
    }
    void release() { bytes_.reset(); }

private:
    std::unique_ptr<std::string> bytes_;
};

} // namespace parley::net
