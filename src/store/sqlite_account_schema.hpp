// The accounts database's schema as an ordered list of migrations, PRAGMA user_version counting
// how many have run, as for parley.db (sqlite_schema.hpp). Owns only the SQL text: never edit a
// migration that has shipped — add the next one, because files in the field have run the old text.
#pragma once

#include "store/sqlite_schema.hpp"

#include <span>

namespace parley::store {

// Every migration of accounts.db, version 1 first, each exactly one above the previous.
std::span<const Migration> account_migrations();

// The highest version this binary knows; a file above it was written by a newer Parley.
int latest_account_schema_version();

// PRAGMA application_id of a Parley accounts database ("PRLA"): neither another program's file nor
// parley.db ("PRLY") is ever taken for one.
inline constexpr int parley_accounts_application_id = 0x50524c41;

} // namespace parley::store
