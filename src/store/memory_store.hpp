// The in-memory MessageStore: everything in this process's heap, gone when it exits. For tests
// and benchmarks (`--store memory`), NOT durable. It keeps exactly the SQLite store's semantics
// so the one contract suite holds for both; it must not grow features of its own.
#pragma once

#include "store/message_store.hpp"

#include <memory>

namespace parley::store {

std::unique_ptr<MessageStore> make_memory_store();

} // namespace parley::store
