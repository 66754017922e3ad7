// Login, chat routing, acks and error replies for one shard.
#include "chat/router.hpp"

#include "protocol/encoder.hpp"

#include <bit>
#include <cassert>
#include <variant>

namespace parley::chat {

namespace {
template <class... Ts> struct overloaded : Ts... { using Ts::operator()...; };
} // namespace

Router::Router(Config config, Directory& directory, ShardLink& link, const Clock& clock)
    : config_(config), directory_(directory), link_(link), clock_(clock), decoder_(config.limits),
      outboxes_(max_shards) {
    assert(config_.shard < max_shards);
}

void Router::on_text(SessionState& state, SessionSink& session, std::string_view text) {
    auto decoded = decoder_.decode(text);
    if (!decoded) {
        const auto& e = decoded.error();
        reply_error(session, e.code, e.message, e.ref_json);
        return;
    }
    std::visit(overloaded{
                   [&](const protocol::LoginRequest& m) { on_login(state, session, m); },
                   [&](const protocol::ChatRequest& m) { on_chat(state, session, m); },
                   [&](const protocol::PingRequest& m) { on_ping(session, m); },
               },
               *decoded);
}

void Router::reply_error(SessionSink& session, protocol::errc code, std::string_view message,
                         std::string_view ref_json) {
    std::string out;
    protocol::encode_error(out, code, message, ref_json);
    session.send(make_text(std::move(out)));
}

void Router::on_login(SessionState& state, SessionSink& session, const protocol::LoginRequest& login) {
    if (state.logged_in()) {
        // One connection speaks for one user: switching users mid-stream would let a client
        // receive another user's traffic already in flight to it.
        reply_error(session, protocol::errc::already_logged_in,
                    "this connection is logged in as '" + state.user_id + "'");
        return;
    }
    state.user_id.assign(login.user_id);
    if (local_.add(state.user_id, &session)) {
        directory_.add(state.user_id, config_.shard);
    }
    std::string out;
    protocol::encode_login_ok(out, state.user_id, config_.shard);
    session.send(make_text(std::move(out)));
}

void Router::on_chat(SessionState& state, SessionSink& session, const protocol::ChatRequest& chat) {
    if (!state.logged_in()) {
        reply_error(session, protocol::errc::not_logged_in, "log in before sending chat messages",
                    chat.id_json);
        return;
    }
    protocol::ChatEvent event{state.user_id, chat.to_user_id, chat.message,
                              next_msg_id(), clock_.now_ms(), false};

    std::string incoming;
    protocol::encode_chat(incoming, event);
    const bool to_self = chat.to_user_id == state.user_id;
    // A chat to oneself reaches every session of the user, the sender's too, as the seed did.
    route(chat.to_user_id, make_text(std::move(incoming)), nullptr);

    // The sender's other devices get a copy marked outgoing, so every device shows the whole
    // conversation. Encoded only when such a device exists.
    if (!to_self) {
        const ShardMask elsewhere = directory_.shards_of(state.user_id) & ~(ShardMask{1} << config_.shard);
        if (elsewhere != 0 || local_.count(state.user_id) > 1) {
            event.outgoing = true;
            std::string copy;
            protocol::encode_chat(copy, event);
            route(state.user_id, make_text(std::move(copy)), &session);
        }
    }

    std::string ack;
    protocol::encode_ack(ack, chat.id_json, event.msg_id, event.ts_ms);
    session.send(make_text(std::move(ack)));
}

void Router::on_ping(SessionSink& session, const protocol::PingRequest& ping) {
    std::string out;
    protocol::encode_pong(out, ping.id_json);
    session.send(make_text(std::move(out)));
}

void Router::route(std::string_view user, const SharedText& text, const SessionSink* except) {
    ShardMask shards = directory_.shards_of(user);
    while (shards != 0) {
        const auto shard = static_cast<unsigned>(std::countr_zero(shards));
        shards &= shards - 1;
        if (shard == config_.shard) {
            local_.send_to(user, text, except);
            continue;
        }
        if (outboxes_pending_ == 0) {
            link_.request_flush();
        }
        outboxes_pending_ |= ShardMask{1} << shard;
        outboxes_[shard].push_back(Delivery{std::string(user), text});
    }
}

void Router::deliver_remote(std::vector<Delivery>& batch) {
    for (const Delivery& d : batch) {
        local_.send_to(d.user, d.text, nullptr);
    }
}

void Router::flush() {
    while (outboxes_pending_ != 0) {
        const auto shard = static_cast<unsigned>(std::countr_zero(outboxes_pending_));
        outboxes_pending_ &= outboxes_pending_ - 1;
        link_.post(shard, std::move(outboxes_[shard]));
        outboxes_[shard] = {};
    }
}

void Router::on_closed(SessionState& state, SessionSink& session) {
    if (!state.logged_in()) {
        return;
    }
    if (local_.remove(state.user_id, &session)) {
        directory_.remove(state.user_id, config_.shard);
    }
    state.user_id.clear();
}

std::uint64_t Router::next_msg_id() {
    // Unique within this process: a per-shard counter with the shard in the low 6 bits. Stays
    // below 2^53 so JavaScript clients read it exactly. Durable ids come with the message store.
    return (++msg_counter_ << 6) | config_.shard;
}

} // namespace parley::chat
