// TLS on Parley's own readiness loop: the server's context (certificate chain and key, loaded
// through boost::asio::ssl::context) and one OpenSSL session per connection, driven
// non-blocking on the connection's socket. No Asio or OpenSSL types in this header (connection
// and server include it); it never waits: the caller arms the wait a result asks for.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

struct ssl_st;     // OpenSSL's SSL
struct ssl_ctx_st; // OpenSSL's SSL_CTX

namespace parley::net {

// The server's TLS settings, shared read-only by every shard (OpenSSL's SSL_CTX is safe to
// create sessions from on many threads).
class TlsContext {
public:
    // Loads a PEM certificate chain and its private key; TLS 1.2 minimum. Throws
    // std::runtime_error with one line for people: unreadable file, not PEM, key not matching.
    TlsContext(const std::string& cert_file, const std::string& key_file);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    ssl_ctx_st* native() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// What a TLS call needs before it can go on.
enum class tls_status : unsigned char {
    ok,         // done (or some bytes moved)
    want_read,  // wait until the socket is readable, then call again
    want_write, // wait until the socket is writable, then call again
    closed,     // the peer ended the session (close_notify or TCP EOF)
    failed,     // a protocol or socket error: drop the connection
};

// One connection's TLS session, server side. Runs on the connection's shard only.
class TlsSession {
public:
    // Null if OpenSSL cannot allocate one. `fd` stays owned by the caller.
    static std::unique_ptr<TlsSession> create(const TlsContext& context, int fd);
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    bool established() const;
    // Runs the server handshake as far as the socket allows; ok once it is complete.
    tls_status handshake();

    struct ReadResult {
        tls_status status;
        std::size_t bytes; // > 0 only with ok
    };
    // Decrypts at most one record's worth into `into`. want_read means the socket is drained.
    ReadResult read(std::span<char> into);

    // Encrypts and sends all of `bytes`, or keeps what the socket did not take as "unsent".
    // Precondition: !has_unsent(). OpenSSL requires a write it refused with want_* to be retried
    // with the same bytes, so the caller must not offer new bytes until send_unsent() is ok.
    tls_status write(std::span<const char> bytes);
    bool has_unsent() const { return !unsent_.empty(); }
    tls_status send_unsent();

    // Sends close_notify, best effort: never waits, never after a failure or mid-handshake.
    void close_notify();

    // The reason of the last failure on this thread, for the log.
    static std::string last_error();

    // Set when a read had to wait for writability (or a write for readability): the other
    // direction's readiness handler must resume the blocked call.
    bool read_wants_write = false;
    bool write_wants_read = false;

private:
    explicit TlsSession(ssl_st* ssl) : ssl_(ssl) {}
    tls_status classify(int result);

    ssl_st* ssl_;
    bool failed_ = false;
    // Bytes SSL_write refused with want_*: offered again, unchanged, before anything new.
    // Empty (no allocation) except while the socket is full.
    std::string unsent_;
};

} // namespace parley::net
