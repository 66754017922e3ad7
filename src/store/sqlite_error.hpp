// SQLite result codes as boost::system::error_code values, so the SQLite store reports failures
// through the same result<T> as every other layer. Owns only the category; it must not log, retry
// or decide what an error means to a caller.
#pragma once

#include <boost/system/error_code.hpp>

namespace parley::store {

// The category of SQLite's (extended) result codes: value() is the code, message() is SQLite's
// own text for it (sqlite3_errstr).
const boost::system::error_category& sqlite_category() noexcept;

// An error_code for an SQLite result code (SQLITE_BUSY, SQLITE_IOERR_FSYNC, ...).
boost::system::error_code make_sqlite_error(int result_code) noexcept;

} // namespace parley::store
