// OpenSSL behind the seam: the context is built through Asio (boost::asio::ssl::context), the
// sessions are plain SSL objects on the connection's non-blocking socket, so the connection keeps
// its own readiness loop and batching (docs/adr/006-tls.md).
#include "net/tls.hpp"

#include <boost/asio/ssl/context.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace parley::net {

namespace {

void require_readable(const std::string& path, std::string_view what) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        throw std::runtime_error("cannot read TLS " + std::string(what) + " file '" + path +
                                 "': " + std::strerror(errno));
    }
}

} // namespace

struct TlsContext::Impl {
    boost::asio::ssl::context context{boost::asio::ssl::context::tls_server};
};

TlsContext::TlsContext(const std::string& cert_file, const std::string& key_file)
    : impl_(std::make_unique<Impl>()) {
    require_readable(cert_file, "certificate");
    require_readable(key_file, "key");
    auto& context = impl_->context;
    using ctx = boost::asio::ssl::context;
    context.set_options(ctx::default_workarounds | ctx::no_sslv2 | ctx::no_sslv3 | ctx::no_tlsv1 |
                        ctx::no_tlsv1_1 | ctx::single_dh_use);
    boost::system::error_code ec;
    context.use_certificate_chain_file(cert_file, ec);
    if (ec) {
        throw std::runtime_error("TLS certificate file '" + cert_file +
                                 "' holds no usable PEM certificate chain: " + ec.message());
    }
    context.use_private_key_file(key_file, ctx::pem, ec);
    // OpenSSL compares the key with the certificate while loading it.
    if (ec && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
        throw std::runtime_error("TLS key file '" + key_file + "' does not match the certificate in '" +
                                 cert_file + "'");
    }
    if (ec) {
        throw std::runtime_error("TLS key file '" + key_file +
                                 "' holds no usable PEM private key: " + ec.message());
    }
    SSL_CTX* native = context.native_handle();
    if (SSL_CTX_check_private_key(native) != 1) {
        ERR_clear_error();
        throw std::runtime_error("TLS key file '" + key_file + "' does not match the certificate in '" +
                                 cert_file + "'");
    }
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    // Renegotiation is an old attack surface and would make reads write; nobody needs it.
    // A TCP EOF without close_notify counts as a close: browsers do it, and HTTP and WebSocket
    // framing already detect a truncated message.
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    // Idle sessions should not hold 2 x 17 KB of record buffers; the write queue is copied into
    // one record at a time, and a refused write is retried from another buffer (tls.hpp).
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // No server-side session cache: it grows with the number of clients and is per process;
    // resumption still works through stateless tickets.
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
}

TlsContext::~TlsContext() = default;

ssl_ctx_st* TlsContext::native() const {
    return impl_->context.native_handle();
}

std::unique_ptr<TlsSession> TlsSession::create(const TlsContext& context, int fd) {
    SSL* ssl = SSL_new(context.native());
    if (ssl == nullptr) {
        ERR_clear_error();
        return nullptr;
    }
    if (SSL_set_fd(ssl, fd) != 1) {
        ERR_clear_error();
        SSL_free(ssl);
        return nullptr;
    }
    SSL_set_accept_state(ssl);
    return std::unique_ptr<TlsSession>(new TlsSession(ssl));
}

TlsSession::~TlsSession() {
    SSL_free(ssl_);
}

bool TlsSession::established() const {
    return SSL_is_init_finished(ssl_) == 1;
}

tls_status TlsSession::classify(int result) {
    switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
        return tls_status::want_read;
    case SSL_ERROR_WANT_WRITE:
        return tls_status::want_write;
    case SSL_ERROR_ZERO_RETURN:
        return tls_status::closed;
    default:
        // SSL_ERROR_SYSCALL, SSL_ERROR_SSL: the session cannot be used any more, not even for
        // close_notify.
        failed_ = true;
        return tls_status::failed;
    }
}

tls_status TlsSession::handshake() {
    // The error queue is per thread and shared by every session of the shard: clear it before
    // each call so SSL_get_error reports this call's outcome.
    ERR_clear_error();
    const int result = SSL_do_handshake(ssl_);
    return result == 1 ? tls_status::ok : classify(result);
}

TlsSession::ReadResult TlsSession::read(std::span<char> into) {
    ERR_clear_error();
    std::size_t got = 0;
    const int result = SSL_read_ex(ssl_, into.data(), into.size(), &got);
    if (result == 1) {
        return {tls_status::ok, got};
    }
    return {classify(result), 0};
}

tls_status TlsSession::write(std::span<const char> bytes) {
    while (!bytes.empty()) {
        ERR_clear_error();
        std::size_t sent = 0;
        const int result = SSL_write_ex(ssl_, bytes.data(), bytes.size(), &sent);
        if (result == 1) {
            // With SSL_MODE_ENABLE_PARTIAL_WRITE a call may take whole records, not all the bytes.
            bytes = bytes.subspan(sent);
            continue;
        }
        const tls_status status = classify(result);
        if (status == tls_status::want_read || status == tls_status::want_write) {
            if (bytes.data() == unsent_.data()) {
                unsent_.erase(0, unsent_.size() - bytes.size());
            } else {
                unsent_.assign(bytes.data(), bytes.size());
            }
        }
        return status;
    }
    std::string().swap(unsent_);
    return tls_status::ok;
}

tls_status TlsSession::send_unsent() {
    return write(std::span<const char>(unsent_.data(), unsent_.size()));
}

void TlsSession::close_notify() {
    if (!failed_ && established()) {
        ERR_clear_error();
        // One attempt: returns 0 once our alert is out (we do not wait for the peer's).
        SSL_shutdown(ssl_);
    }
    ERR_clear_error();
}

std::string TlsSession::last_error() {
    const unsigned long code = ERR_peek_last_error();
    if (code == 0) {
        return errno != 0 ? std::strerror(errno) : "connection closed";
    }
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    return text.data();
}

} // namespace parley::net
