// Requests in, storage requests out, deliveries to local sessions.
#include "chat/router.hpp"

#include "protocol/encoder.hpp"
#include "store/short_strings.hpp"

#include <algorithm>
#include <cassert>
#include <variant>

namespace parley::chat {

namespace {
template <class... Ts> struct overloaded : Ts... { using Ts::operator()...; };
} // namespace

Router::Router(Config config, Directory& directory, ShardLink& link, StorageQueue& storage)
    : config_(config), directory_(directory), link_(link), storage_(storage), decoder_(config.limits) {
    assert(config_.shard < max_shards);
    assert(!config_.user_limits.enabled() || config_.clock != nullptr);
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
                   [&](const protocol::HistoryRequest& m) { on_history(state, session, m); },
                   [&](const protocol::ConversationsRequest& m) { on_conversations(state, session, m); },
                   [&](const protocol::ReceiptRequest& m) { on_receipt(state, session, m); },
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
    if (config_.verifier == nullptr) {
        // Open mode trusts the user_id it is given and checks no token; a token alone names
        // nobody here (it would log in as the empty user).
        if (login.user_id.empty()) {
            reply_error(session, protocol::errc::missing_field,
                        "this server (auth mode 'open') logs in by user_id; a token alone is not enough");
            return;
        }
        complete_login(state, session, login.user_id, login.since);
        return;
    }
    if (login.password.empty() && login.token.empty()) {
        reply_error(session, protocol::errc::auth_required,
                    "this server needs a password (with user_id) or a token to log in");
        return;
    }
    // Reading stops here (may_read) until the verdict, which comes back on this thread.
    state.login_pending = true;
    state.login_ticket = ++login_tickets_;
    pending_logins_.emplace(state.login_ticket, PendingLogin{&state, &session, login.since});
    LoginCredentials credentials{std::string(login.user_id), std::string(login.password),
                                 std::string(login.token), session.peer_address()};
    config_.verifier->verify(config_.shard, std::move(credentials),
                             [this, ticket = state.login_ticket](LoginVerdict verdict) {
                                 finish_verified_login(ticket, std::move(verdict));
                             });
}

void Router::finish_verified_login(std::uint32_t ticket, LoginVerdict verdict) {
    auto it = pending_logins_.find(ticket);
    if (it == pending_logins_.end()) {
        return; // the session closed while its login was checked
    }
    const PendingLogin pending = it->second;
    pending_logins_.erase(it);
    SessionState& state = *pending.state;
    SessionSink& session = *pending.session;
    state.login_pending = false;
    if (verdict.ok) {
        state.token_tag = verdict.token_tag;
        complete_login(state, session, verdict.user_id, pending.since);
    } else {
        std::string message = std::move(verdict.message);
        if (verdict.retry_after_ms > 0) {
            message += "; try again in " + std::to_string((verdict.retry_after_ms + 999) / 1000) + " s";
        }
        reply_error(session, verdict.code, message);
    }
    session.resume_reading();
}

void Router::complete_login(SessionState& state, SessionSink& session, std::string_view user,
                            std::optional<std::uint64_t> since) {
    state.user_id.assign(user);
    state.user_id_plain = protocol::json_needs_no_escape(state.user_id);
    // Live deliveries start now but are held back until the catch-up has been sent; the catch-up
    // is read after this registration, so it covers everything live delivery missed.
    state.syncing = true;
    if (local_.add(&session, &state, config_.shard)) {
        directory_.add(state.user_id, config_.shard);
    }
    std::string out;
    protocol::encode_login_ok(out, state.user_id, config_.shard);
    session.send(make_text(std::move(out)));
    queue(SyncInbox{origin(state), state.user_id, since});
}

std::string Router::canonical_user(std::string_view user) const {
    std::string out(user);
    make_canonical(out);
    return out;
}

void Router::make_canonical(std::span<char> user) const {
    if (config_.fold_user_ids) {
        for (char& c : user) {
            if (c >= 'A' && c <= 'Z') {
                c = static_cast<char>(c - 'A' + 'a');
            }
        }
    }
}

void Router::disconnect_user(std::string_view user, std::uint64_t token_tag, std::string_view reason) {
    for (const LocalSession& s : local_.sessions_of(user)) {
        if (token_tag == 0 || s.state->token_tag == token_tag) {
            s.sink->disconnect(reason);
        }
    }
}

void Router::on_chat(SessionState& state, SessionSink& session, const protocol::ChatRequest& chat) {
    if (!state.logged_in()) {
        reply_error(session, protocol::errc::not_logged_in, "log in before sending chat messages",
                    chat.id_json);
        return;
    }
    if (config_.user_limits.enabled() && !directory_.charge(state.user_id, chat.message.size(),
                                                            config_.clock->now_ms(), config_.user_limits)) {
        // Each refused chat is named (ref) so the client knows exactly what to send again later.
        reply_error(session, protocol::errc::rate_limited,
                    "you are sending faster than this server allows; this message was not stored",
                    chat.id_json);
        if (++state.refused_in_a_row >= config_.max_refused_in_a_row) {
            session.disconnect("kept sending over the rate limit");
        }
        return;
    }
    state.refused_in_a_row = 0;
    // Counted with a fixed overhead so a flood of empty messages is bounded too.
    const auto cost = static_cast<std::uint32_t>(chat.message.size() + chat.to_user_id.size() + 64);
    state.inflight_bytes += cost;
    StoreChats& chats = pass_chats();
    // The frame's bytes are reused once the pass reads on: the chat's are kept in the pass's arena.
    const std::span<char> to = chats.bytes.room(chat.to_user_id.size());
    std::copy(chat.to_user_id.begin(), chat.to_user_id.end(), to.begin());
    make_canonical(to);
    chats.messages.push_back(store::NewMessage{chats.bytes.keep(state.user_id),
                                               {to.data(), to.size()},
                                               chats.bytes.keep(chat.message),
                                               chats.bytes.keep(chat.id_json)});
    chats.senders.push_back(
        StoreChats::Sender{origin(state), cost, state.has_local_peers, chat.plain && state.user_id_plain});
}

StoreChats& Router::pass_chats() {
    if (pass_chats_at_ == no_chats) {
        pass_chats_at_ = pending_.size();
        // Sized like the last pass's: a busy pass's vectors and arena grow in one step, not by
        // doubling.
        StoreChats chats;
        chats.bytes = store::ByteArena(last_pass_bytes_);
        chats.messages.reserve(last_pass_chats_);
        chats.senders.reserve(last_pass_chats_);
        queue(std::move(chats));
    }
    return std::get<StoreChats>(pending_[pass_chats_at_]);
}

void Router::on_ping(SessionSink& session, const protocol::PingRequest& ping) {
    std::string out;
    protocol::encode_pong(out, ping.id_json);
    session.send(make_text(std::move(out)));
}

void Router::on_history(SessionState& state, SessionSink& session, const protocol::HistoryRequest& request) {
    if (!state.logged_in()) {
        reply_error(session, protocol::errc::not_logged_in, "log in before reading history", request.id_json);
        return;
    }
    // The query is always (this user, peer): nobody can read a conversation they are not in.
    queue(ReadHistory{origin(state), state.user_id, canonical_user(request.peer), request.before,
                      request.limit, std::string(request.id_json)});
}

void Router::on_conversations(SessionState& state, SessionSink& session,
                              const protocol::ConversationsRequest& request) {
    if (!state.logged_in()) {
        reply_error(session, protocol::errc::not_logged_in, "log in before listing conversations",
                    request.id_json);
        return;
    }
    queue(ListConversations{origin(state), state.user_id, std::string(request.id_json)});
}

void Router::on_receipt(SessionState& state, SessionSink& session, const protocol::ReceiptRequest& request) {
    if (!state.logged_in()) {
        reply_error(session, protocol::errc::not_logged_in, "log in before sending receipts",
                    request.id_json);
        return;
    }
    queue(RecordReceipt{origin(state), state.user_id, canonical_user(request.peer),
                        request.status == protocol::receipt_status::read, request.up_to});
}

void Router::flush() {
    if (pass_chats_at_ != no_chats) {
        const StoreChats& chats = std::get<StoreChats>(pending_[pass_chats_at_]);
        last_pass_chats_ = chats.messages.size();
        last_pass_bytes_ = chats.bytes.kept();
        pass_chats_at_ = no_chats;
    }
    if (!pending_.empty()) {
        storage_.submit(pending_); // leaves pending_ empty, its capacity kept for the next pass
    }
}

void Router::deliver(std::vector<Delivery>& batch) {
    // The texts are moved out, not copied: the batch is done with once delivered, and a copy of
    // a SharedText costs two atomic operations.
    // A run of deliveries to one user (a burst of one conversation) looks the user up once.
    // Nothing in this loop adds or removes a session (a send that closes one, and a resumed
    // read, are deferred by net), so what was found stays valid.
    std::string_view found_user;
    LocalSessions::UserSessions found;
    for (Delivery& d : batch) {
        if (!d.user.empty()) {
            if (!store::same_bytes(d.user, found_user)) {
                found = local_.sessions_for(d.user);
                found_user = d.user;
            }
            local_.send_to(found, std::move(d.text), d.except_session);
        } else {
            deliver_to_session(d);
        }
    }
}

void Router::deliver_to_session(Delivery& d) {
    LocalSession* s = local_.find(d.session);
    if (s == nullptr) {
        return; // closed meanwhile; a catch-up or reply for it has nowhere to go
    }
    switch (d.what) {
    case Delivery::kind::message:
        s->sink->send(std::move(d.text));
        break;
    case Delivery::kind::ack: {
        s->sink->send(std::move(d.text));
        SessionState& st = *s->state;
        st.inflight_bytes -= std::min<std::uint32_t>(st.inflight_bytes, d.released_bytes);
        // Resume at half the budget, not just under it, so a paused sender is not woken for
        // every single ack.
        if (st.reading_paused && st.inflight_bytes < config_.max_inflight_bytes / 2) {
            st.reading_paused = false;
            s->sink->resume_reading();
        }
        break;
    }
    case Delivery::kind::sync_more:
        s->state->synced_seq = d.seq;
        if (s->sink->queued_bytes() < config_.sync_resume_bytes) {
            request_next_page(*s->state);
        } else {
            s->state->wants_next_page = true;
        }
        break;
    case Delivery::kind::sync_done: {
        s->state->synced_seq = d.seq;
        s->state->syncing = false;
        std::string out;
        protocol::encode_synced(out, d.seq);
        s->sink->send(make_text(std::move(out)));
        break;
    }
    }
}

void Router::on_send_queue_drained(SessionState& state, SessionSink& /*session*/) {
    if (state.wants_next_page) {
        state.wants_next_page = false;
        request_next_page(state);
    }
}

void Router::request_next_page(SessionState& state) {
    queue(SyncInbox{origin(state), state.user_id, state.synced_seq});
}

void Router::on_closed(SessionState& state, SessionSink& /*session*/) {
    if (state.login_pending) {
        pending_logins_.erase(state.login_ticket);
        state.login_pending = false;
    }
    if (!state.logged_in()) {
        return;
    }
    if (local_.remove(&state)) {
        if (const auto pushed = directory_.remove(state.user_id, config_.shard)) {
            queue(UserOffline{state.user_id, *pushed});
        }
    }
    state.user_id.clear();
}

} // namespace parley::chat
