// The prepared-statement wrapper. Statements are prepared with SQLITE_PREPARE_PERSISTENT because
// they live as long as the connection; text is bound without a copy because every caller binds
// strings it holds for the whole use, and Use resets before they can go away.
#include "store/sqlite_statement.hpp"

#include "store/sqlite_error.hpp"

#include <sqlite3.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace parley::store {

Statement::Statement(sqlite3* db, std::string_view sql) {
    const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                      &stmt_, nullptr);
    if (rc != SQLITE_OK) {
        throw std::runtime_error("cannot prepare statement (" + std::string(sqlite3_errmsg(db)) +
                                 "): " + std::string(sql));
    }
}

Statement::~Statement() {
    sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), bind_error_(std::exchange(other.bind_error_, 0)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
    if (this != &other) {
        sqlite3_finalize(stmt_);
        stmt_ = std::exchange(other.stmt_, nullptr);
        bind_error_ = std::exchange(other.bind_error_, 0);
    }
    return *this;
}

namespace {

void keep_first_error(int& first, int rc) noexcept {
    if (first == SQLITE_OK && rc != SQLITE_OK) {
        first = rc;
    }
}

} // namespace

Statement& Statement::bind(int index, std::int64_t value) noexcept {
    keep_first_error(bind_error_, sqlite3_bind_int64(stmt_, index, value));
    return *this;
}

Statement& Statement::bind(int index, std::uint64_t value) noexcept {
    // Ids and seqs count up from 1 and never come near 2^63, so the signed column holds them.
    return bind(index, static_cast<std::int64_t>(value));
}

Statement& Statement::bind(int index, std::string_view text) noexcept {
    // SQLITE_STATIC: no copy (see the header); a non-null pointer keeps "" from binding as NULL.
    const char* data = text.empty() ? "" : text.data();
    keep_first_error(bind_error_,
                     sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8));
    return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) noexcept {
    const char* data = bytes.empty() ? "" : bytes.data();
    keep_first_error(bind_error_, sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_STATIC));
    return *this;
}

Statement& Statement::bind_null(int index) noexcept {
    keep_first_error(bind_error_, sqlite3_bind_null(stmt_, index));
    return *this;
}

boost::system::result<bool> Statement::step() noexcept {
    if (bind_error_ != SQLITE_OK) {
        return {boost::system::in_place_error, make_sqlite_error(bind_error_)};
    }
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc == SQLITE_DONE) {
        return false;
    }
    return {boost::system::in_place_error, make_sqlite_error(rc)};
}

boost::system::result<void> Statement::run() noexcept {
    for (;;) {
        auto row = step();
        if (!row) {
            return row.error();
        }
        if (!*row) {
            return {};
        }
    }
}

std::int64_t Statement::int64(int column) const noexcept {
    return sqlite3_column_int64(stmt_, column);
}

std::uint64_t Statement::uint64(int column) const noexcept {
    return static_cast<std::uint64_t>(sqlite3_column_int64(stmt_, column));
}

std::string_view Statement::text(int column) const noexcept {
    const unsigned char* data = sqlite3_column_text(stmt_, column);
    if (data == nullptr) {
        return {};
    }
    // sqlite3_column_bytes() after sqlite3_column_text() is the length of that same text.
    return {reinterpret_cast<const char*>(data),
            static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}

std::string_view Statement::blob(int column) const noexcept {
    const void* data = sqlite3_column_blob(stmt_, column);
    if (data == nullptr) {
        return {};
    }
    return {static_cast<const char*>(data), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}

bool Statement::is_null(int column) const noexcept {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

void Statement::reset() noexcept {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    bind_error_ = SQLITE_OK;
}

} // namespace parley::store
