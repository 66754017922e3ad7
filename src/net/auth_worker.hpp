// The auth thread: runs the Authenticator (Argon2id, token and JWT checks, the account store) off
// the shards, one request at a time, and posts each answer back to the shard that asked. Also
// polls the account store every second for accounts disabled from the admin CLI, and has their
// live sessions closed. Owner of the Authenticator and of its AccountStore connection.
#pragma once

#include "auth/authenticator.hpp"
#include "chat/login_verifier.hpp"
#include "net/http_api.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace parley::store {
class AccountStore;
}

namespace parley::net {

class AuthWorker final : public chat::LoginVerifier, public HttpApi {
public:
    // How the worker reaches the shards; set by the Server before start().
    struct Links {
        std::function<void(unsigned shard, std::function<void()> task)> post_to_shard;
        std::function<void(const auth::Revocation&)> revoke;
    };

    AuthWorker(auth::AuthenticatorOptions options, std::unique_ptr<store::AccountStore> accounts);
    ~AuthWorker() override;
    AuthWorker(const AuthWorker&) = delete;
    AuthWorker& operator=(const AuthWorker&) = delete;

    void link(Links links) { links_ = std::move(links); }
    void start();
    // Finishes the request being handled, drops the rest (their shards are stopping), joins.
    void stop();

    // chat::LoginVerifier. Any thread.
    void verify(unsigned shard, chat::LoginCredentials credentials,
                std::function<void(chat::LoginVerdict)> done) override;
    // HttpApi. Any thread.
    bool handles(std::string_view path) const override { return auth::Authenticator::is_api_path(path); }
    void handle(unsigned shard, ApiRequest request, std::function<void(ApiReply)> done) override;

private:
    // Past max_queued_jobs a request is answered at once with server_busy instead of waiting.
    bool queue_full();
    void submit(std::function<void()> job);
    void run();

    std::unique_ptr<store::AccountStore> accounts_;
    auth::Authenticator authenticator_;
    Links links_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace parley::net
