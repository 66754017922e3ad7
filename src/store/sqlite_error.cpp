// The SQLite error category. SQLite's codes are ints where 0 (SQLITE_OK) means success, which is
// what error_code expects, so a code maps to itself; names come from SQLite, never from us.
#include "store/sqlite_error.hpp"

#include <sqlite3.h>

#include <string>

namespace parley::store {

namespace {

// error_category's destructor is protected and non-virtual by design (categories are never
// deleted through a base pointer); GCC's -Wnon-virtual-dtor flags every derived class anyway.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class SqliteCategory final : public boost::system::error_category {
public:
    // A fixed id makes equality hold even if two copies of this category end up in one process
    // (static libraries linked into two shared objects).
    constexpr SqliteCategory() noexcept : boost::system::error_category(0x5041524c45590001ULL) {}

    const char* name() const noexcept override { return "sqlite"; }

    std::string message(int ev) const override { return sqlite3_errstr(ev); }

    char const* message(int ev, char* buffer, std::size_t len) const noexcept override {
        // sqlite3_errstr() returns static text, so nothing is copied into `buffer`.
        (void)buffer;
        (void)len;
        return sqlite3_errstr(ev);
    }
};
#pragma GCC diagnostic pop

} // namespace

const boost::system::error_category& sqlite_category() noexcept {
    static const SqliteCategory category;
    return category;
}

boost::system::error_code make_sqlite_error(int result_code) noexcept {
    return {result_code, sqlite_category()};
}

} // namespace parley::store
