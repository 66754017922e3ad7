// Varints (LEB128) and zigzag for the signed deltas: a batch of 256 chats of 32 bytes takes about
// 12 KB, most of it the texts.
#include "store/log_rows.hpp"

namespace parley::store::log_rows {

namespace {

void put_varint(std::string& out, std::uint64_t value) {
    while (value >= 0x80) {
        out.push_back(static_cast<char>((value & 0x7f) | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<char>(value));
}

std::uint64_t zigzag(std::int64_t value) {
    return (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
}

std::int64_t unzigzag(std::uint64_t value) {
    return static_cast<std::int64_t>(value >> 1) ^ -static_cast<std::int64_t>(value & 1);
}

// Timestamps are stored as differences, taken and added modulo 2^64: defined for any two values,
// also those a damaged row holds, and exact again after the round trip.
std::int64_t minus(std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}

std::int64_t plus(std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

void put_bytes(std::string& out, std::string_view bytes) {
    put_varint(out, bytes.size());
    out.append(bytes);
}

// Reads what the put_ functions wrote; once anything is short or malformed it stays bad and
// every read returns zero or empty.
class Cursor {
public:
    explicit Cursor(std::string_view in) : in_(in) {}

    std::uint64_t varint() {
        std::uint64_t value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (at_ == in_.size()) {
                bad_ = true;
                return 0;
            }
            const auto byte = static_cast<unsigned char>(in_[at_++]);
            value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
            if ((byte & 0x80) == 0) {
                return value;
            }
        }
        bad_ = true;
        return 0;
    }

    std::int64_t signed_varint() { return unzigzag(varint()); }

    std::uint64_t fixed64() {
        if (in_.size() - at_ < 8) {
            bad_ = true;
            return 0;
        }
        std::uint64_t value = 0;
        for (int i = 0; i < 8; ++i) {
            value |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[at_ + i])) << (8 * i);
        }
        at_ += 8;
        return value;
    }

    std::string_view bytes() {
        const std::uint64_t size = varint();
        if (bad_ || size > in_.size() - at_) {
            bad_ = true;
            return {};
        }
        const std::string_view out = in_.substr(at_, size);
        at_ += size;
        return out;
    }

    // A count of items that each take at least one byte: bounded by what is left, so a damaged
    // count cannot make the caller reserve gigabytes.
    std::size_t count() {
        const std::uint64_t n = varint();
        if (n > in_.size() - at_) {
            bad_ = true;
            return 0;
        }
        return n;
    }

    bool bad() const { return bad_; }
    bool finished_cleanly() const { return !bad_ && at_ == in_.size(); }

private:
    std::string_view in_;
    std::size_t at_ = 0;
    bool bad_ = false;
};

void put_fixed64(std::string& out, std::uint64_t value) {
    for (int i = 0; i < 8; ++i) {
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    }
}

// One message's fields after its msg_id delta and ts delta.
void put_message_fields(std::string& out, const LoggedMessage& m) {
    put_varint(out, static_cast<std::uint64_t>(m.from));
    put_varint(out, static_cast<std::uint64_t>(m.to));
    put_varint(out, m.from_seq);
    put_varint(out, m.to_seq);
    put_bytes(out, m.client_id);
    put_bytes(out, m.text);
}

// Walks a batch body: calls `visit(cursor, msg_id, ts)` before each message's fields, which must
// read them (or skip them) and return false to stop. False if the body is damaged.
template <class Visit> bool walk_batch(std::string_view body, Visit&& visit) {
    Cursor in(body);
    const std::size_t count = in.count();
    std::uint64_t msg_id = 0;
    std::int64_t ts = 0;
    for (std::size_t i = 0; i < count && !in.bad(); ++i) {
        msg_id += in.varint();
        ts = plus(ts, in.signed_varint());
        if (in.bad()) {
            return false;
        }
        if (!visit(in, msg_id, ts)) {
            return !in.bad();
        }
    }
    return in.finished_cleanly();
}

LoggedMessage read_message_fields(Cursor& in, std::uint64_t msg_id, std::int64_t ts) {
    LoggedMessage m;
    m.msg_id = msg_id;
    m.ts_ms = ts;
    m.from = static_cast<std::int64_t>(in.varint());
    m.to = static_cast<std::int64_t>(in.varint());
    m.from_seq = in.varint();
    m.to_seq = in.varint();
    m.client_id = std::string(in.bytes());
    m.text = std::string(in.bytes());
    return m;
}

} // namespace

std::string encode_batch(std::span<const LoggedMessage> messages) {
    std::string out;
    std::size_t text_bytes = 0;
    for (const LoggedMessage& m : messages) {
        text_bytes += m.text.size() + m.client_id.size();
    }
    out.reserve(text_bytes + messages.size() * 16 + 8);
    put_varint(out, messages.size());
    std::uint64_t msg_id = 0;
    std::int64_t ts = 0;
    for (const LoggedMessage& m : messages) {
        put_varint(out, m.msg_id - msg_id);
        put_varint(out, zigzag(minus(m.ts_ms, ts)));
        msg_id = m.msg_id;
        ts = m.ts_ms;
        put_message_fields(out, m);
    }
    return out;
}

bool decode_batch(std::string_view body, std::vector<LoggedMessage>& out) {
    return walk_batch(body, [&](Cursor& in, std::uint64_t msg_id, std::int64_t ts) {
        LoggedMessage m = read_message_fields(in, msg_id, ts);
        if (!in.bad()) {
            out.push_back(std::move(m));
        }
        return true;
    });
}

std::optional<LoggedMessage> find_in_batch(std::string_view body, std::uint64_t msg_id, bool& damaged) {
    std::optional<LoggedMessage> found;
    const bool whole = walk_batch(body, [&](Cursor& in, std::uint64_t id, std::int64_t ts) {
        if (id == msg_id) {
            found = read_message_fields(in, id, ts);
            return false;
        }
        for (int i = 0; i < 4; ++i) {
            in.varint();
        }
        in.bytes();
        in.bytes();
        return id < msg_id; // ids increase: past it, it is not here
    });
    damaged = !whole;
    if (damaged) {
        found.reset();
    }
    return found;
}

std::string encode_inbox_run(std::span<const InboxEntryRef> entries) {
    std::string out;
    out.reserve(entries.size() * 4 + 4);
    put_varint(out, entries.size());
    std::uint64_t seq = 0;
    std::uint64_t msg_id = 0;
    for (const InboxEntryRef& e : entries) {
        put_varint(out, e.seq - seq);
        put_varint(out, e.msg_id - msg_id);
        seq = e.seq;
        msg_id = e.msg_id;
    }
    return out;
}

bool decode_inbox_run(std::string_view entries, std::vector<InboxEntryRef>& out) {
    Cursor in(entries);
    const std::size_t count = in.count();
    std::uint64_t seq = 0;
    std::uint64_t msg_id = 0;
    for (std::size_t i = 0; i < count && !in.bad(); ++i) {
        seq += in.varint();
        msg_id += in.varint();
        if (!in.bad()) {
            out.push_back({seq, msg_id});
        }
    }
    return in.finished_cleanly();
}

std::string encode_conversation_run(std::span<const ConversationEntryRef> entries) {
    std::string out;
    out.reserve(entries.size() * 3 + 4);
    put_varint(out, entries.size());
    std::uint64_t msg_id = 0;
    for (const ConversationEntryRef& e : entries) {
        // The delta, shifted to make room for the side.
        put_varint(out, ((e.msg_id - msg_id) << 1) | (e.from_lo ? 1 : 0));
        msg_id = e.msg_id;
    }
    return out;
}

bool decode_conversation_run(std::string_view entries, std::vector<ConversationEntryRef>& out) {
    Cursor in(entries);
    const std::size_t count = in.count();
    std::uint64_t msg_id = 0;
    for (std::size_t i = 0; i < count && !in.bad(); ++i) {
        const std::uint64_t packed = in.varint();
        msg_id += packed >> 1;
        if (!in.bad()) {
            out.push_back({msg_id, (packed & 1) != 0});
        }
    }
    return in.finished_cleanly();
}

std::string encode_client_id_run(std::span<const ClientIdRef> entries) {
    std::string out;
    out.reserve(entries.size() * 11 + 4);
    put_varint(out, entries.size());
    std::uint64_t msg_id = 0;
    for (const ClientIdRef& e : entries) {
        put_varint(out, e.msg_id - msg_id);
        put_fixed64(out, e.fingerprint);
        msg_id = e.msg_id;
    }
    return out;
}

bool decode_client_id_run(std::string_view entries, std::vector<ClientIdRef>& out) {
    Cursor in(entries);
    const std::size_t count = in.count();
    std::uint64_t msg_id = 0;
    for (std::size_t i = 0; i < count && !in.bad(); ++i) {
        msg_id += in.varint();
        const std::uint64_t fingerprint = in.fixed64();
        if (!in.bad()) {
            out.push_back({msg_id, fingerprint});
        }
    }
    return in.finished_cleanly();
}

std::uint64_t client_id_fingerprint(std::int64_t sender, std::string_view client_id) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    const auto mix_byte = [&h](unsigned char byte) {
        h ^= byte;
        h *= 0x100000001b3ULL;
    };
    for (int i = 0; i < 8; ++i) {
        mix_byte(static_cast<unsigned char>((static_cast<std::uint64_t>(sender) >> (8 * i)) & 0xff));
    }
    for (const char c : client_id) {
        mix_byte(static_cast<unsigned char>(c));
    }
    // FNV's low bits mix poorly; the finaliser of SplitMix64 spreads every input bit.
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h == 0 ? 1 : h; // 0 stands for "no client id" in the store's memory
}

} // namespace parley::store::log_rows
