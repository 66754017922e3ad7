// The account store: who may log in (accounts with a password hash) and who is logged in (sessions,
// kept as the hash of their token). An interface with no SQLite in sight, so the auth code and the
// admin CLI program against it alone. It stores what it is given: names arrive normalized and
// hashes arrive hashed; it must never see a password or a raw token.
#pragma once

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace parley::store {

struct Account {
    std::int64_t id = 0;
    std::string name;          // already normalized by the caller (lower case)
    std::string password_hash; // PHC string (Argon2id), opaque here
    bool disabled = false;
    std::int64_t created_ms = 0;
};

// An account whose sessions the admin revoked: its place in the order of revocations, and whether
// it is disabled now (else its password changed).
struct AccountRevocation {
    std::string name;
    std::int64_t seq = 0;
    bool disabled = false;
};

// What a live session token stands for.
struct SessionInfo {
    std::int64_t account_id = 0;
    std::string name;
    std::int64_t expires_ms = 0;
};

// The expected failures of the account store, as boost::system::error_code values of
// account_category(); SQLite's own failures come as codes of sqlite_category().
enum class account_errc {
    name_taken = 1,   // create_account() with a name that already has an account
    no_such_account,  // the name or id has no account
    account_disabled, // create_session() for a disabled account
};

// Header-only, like Boost's own categories, so code that sees only this interface needs no .cpp.
#pragma GCC diagnostic push
// error_category's destructor is protected and non-virtual by design (categories are never deleted
// through a base pointer); GCC's -Wnon-virtual-dtor flags every derived class anyway.
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class AccountCategory final : public boost::system::error_category {
public:
    // A fixed id makes equality hold even if two copies of this category end up in one process.
    constexpr AccountCategory() noexcept : boost::system::error_category(0x5041524c45590002ULL) {}

    const char* name() const noexcept override { return "parley.account"; }

    std::string message(int ev) const override {
        switch (static_cast<account_errc>(ev)) {
        case account_errc::name_taken:
            return "an account with this name already exists";
        case account_errc::no_such_account:
            return "no such account";
        case account_errc::account_disabled:
            return "the account is disabled";
        }
        return "unknown account error " + std::to_string(ev);
    }
};
#pragma GCC diagnostic pop

inline const boost::system::error_category& account_category() noexcept {
    static const AccountCategory category;
    return category;
}

// Found by ADL, so `return account_errc::name_taken;` makes an error_code (and a failed result).
inline boost::system::error_code make_error_code(account_errc e) noexcept {
    return {static_cast<int>(e), account_category()};
}

// Accounts and sessions. Every call is synchronous and finishes before it returns. One object is
// one connection and is used by one thread at a time (it has no locks); several objects on the
// same file, in other threads or processes (the server and `parley user ...`), are what it is for,
// and each sees what the others committed as soon as they return.
class AccountStore {
public:
    virtual ~AccountStore() = default;

    // A new, enabled account. name_taken if the name has one already.
    virtual boost::system::result<Account>
    create_account(const std::string& name, const std::string& password_hash, std::int64_t now_ms) = 0;
    // The account of that name, nullopt if none.
    virtual boost::system::result<std::optional<Account>> find_account(const std::string& name) = 0;
    // Every account, ordered by name.
    virtual boost::system::result<std::vector<Account>> list_accounts() = 0;
    // Changes the hash and revokes every session of the account, in one transaction (a password
    // change logs out everywhere). no_such_account if the name has none.
    virtual boost::system::result<void> set_password(const std::string& name,
                                                     const std::string& password_hash) = 0;
    // Disabling also revokes every session, in one transaction; enabling does not restore them.
    // no_such_account if the name has none. Setting the state it already has is no error.
    virtual boost::system::result<void> set_disabled(const std::string& name, bool disabled) = 0;
    // The names of all disabled accounts, ordered by name (for the admin; the server follows
    // revocations_after() instead).
    virtual boost::system::result<std::vector<std::string>> disabled_accounts() = 0;
    // The admin's revocations (a password change, a disable) after `seq`, oldest first: the
    // accounts whose live sessions must close. Every set_password() and set_disabled(true) takes
    // the next seq, across processes; revoke_all_sessions() does not (its caller, the server,
    // closes the sessions itself).
    virtual boost::system::result<std::vector<AccountRevocation>> revocations_after(std::int64_t seq) = 0;

    // Sessions (login tokens): only the token's hash is stored. no_such_account if account_id has
    // no account, account_disabled if it is disabled (a login that raced `parley user disable`
    // must not leave a token that enabling would bring back).
    virtual boost::system::result<void> create_session(std::int64_t account_id, const std::string& token_hash,
                                                       std::int64_t now_ms, std::int64_t expires_ms) = 0;
    // The live session for this hash: nullopt if unknown, expired (expires_ms <= now_ms), or the
    // account is disabled.
    virtual boost::system::result<std::optional<SessionInfo>> find_session(const std::string& token_hash,
                                                                           std::int64_t now_ms) = 0;
    // True if the session existed.
    virtual boost::system::result<bool> revoke_session(const std::string& token_hash) = 0;
    // How many sessions of the account there were.
    virtual boost::system::result<std::size_t> revoke_all_sessions(std::int64_t account_id) = 0;
    // Deletes every session with expires_ms <= now_ms; returns how many.
    virtual boost::system::result<std::size_t> prune_expired_sessions(std::int64_t now_ms) = 0;

    // A number that changes whenever another connection (e.g. the admin CLI) committed a change,
    // so the server can notice disabled accounts without polling every row. Only comparable with
    // earlier values from the same object; this object's own writes do not move it.
    virtual boost::system::result<std::int64_t> change_counter() = 0;

protected:
    AccountStore() = default;
    AccountStore(const AccountStore&) = default;
    AccountStore& operator=(const AccountStore&) = default;
};

} // namespace parley::store

template <> struct boost::system::is_error_code_enum<parley::store::account_errc> : std::true_type {};
