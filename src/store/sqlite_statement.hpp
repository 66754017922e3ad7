// An RAII prepared statement: prepared once when the store opens, reused for every call, finalized
// with the store. Owns binding, stepping and reading columns; it must not begin or end
// transactions or interpret what a failure means (that is the store's job).
#pragma once

#include <boost/system/result.hpp>

#include <cstdint>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace parley::store {

class Statement {
public:
    // Prepares `sql` for the life of the connection. Throws std::runtime_error with SQLite's
    // message if it does not compile: statements are prepared at open, so that is a startup
    // failure (a schema that does not match this binary), never one of a running server.
    Statement(sqlite3* db, std::string_view sql);
    ~Statement();
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    // Resets the statement when it goes out of scope: a statement left mid-result would hold its
    // read snapshot open, and bound text (bound without a copy) must not outlive the caller's
    // strings. Take one before the first bind of every use.
    class Use {
    public:
        explicit Use(Statement& statement) noexcept : statement_(&statement) {}
        ~Use() { statement_->reset(); }
        Use(const Use&) = delete;
        Use& operator=(const Use&) = delete;

    private:
        Statement* statement_;
    };
    [[nodiscard]] Use use() noexcept { return Use(*this); }

    // Parameters are numbered from 1. A failed bind is remembered and returned by the next step(),
    // so callers check once.
    Statement& bind(int index, std::int64_t value) noexcept;
    Statement& bind(int index, std::uint64_t value) noexcept;
    // Not copied: `text` must stay valid until the statement is reset (see Use).
    Statement& bind(int index, std::string_view text) noexcept;
    // Bytes, not copied either.
    Statement& bind_blob(int index, std::string_view bytes) noexcept;
    Statement& bind_null(int index) noexcept;

    // Advances: true when a row is ready, false when the statement is done.
    boost::system::result<bool> step() noexcept;
    // Runs a statement that returns no rows to its end.
    boost::system::result<void> run() noexcept;

    // Columns of the current row, numbered from 0.
    std::int64_t int64(int column) const noexcept;
    std::uint64_t uint64(int column) const noexcept;
    std::string_view text(int column) const noexcept;
    // Valid until the next step or reset.
    std::string_view blob(int column) const noexcept;
    bool is_null(int column) const noexcept;

    // Back to the start, bindings cleared.
    void reset() noexcept;

private:
    sqlite3_stmt* stmt_ = nullptr;
    int bind_error_ = 0; // the first failed bind since the last reset, SQLITE_OK if none
};

} // namespace parley::store
