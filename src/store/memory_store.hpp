// The in-memory MessageStore: everything in this process's heap, gone when it exits. On its own
// for tests and benchmarks (`--store memory`), NOT durable; it is also the journal store's state
// (ADR 012), rebuilt by replaying the calls it was given, so its answers must depend on those
// calls alone (no clock, no address or hash-order dependence). It keeps exactly the SQLite
// store's semantics so the one contract suite holds for all; it must not grow features of its own.
#pragma once

#include "store/message_store.hpp"

#include <functional>
#include <memory>
#include <string_view>

namespace parley::store {

std::unique_ptr<MessageStore> make_memory_store();

// A memory store's image: its whole state as a series of parts (about 1 MiB each), for the
// journal store's compaction (ADR 012). `store` must come from make_memory_store(). A fresh
// store given every part of an image, in order, answers every call as the imaged one did.
void write_memory_image(const MessageStore& store, const std::function<void(std::string_view)>& part);
// About how many bytes write_memory_image() would pass (within a few dozen), at the cost of one
// pass over the messages.
std::size_t memory_image_bytes(const MessageStore& store);
// False if the part is malformed or does not follow the parts before it; the store must then
// be thrown away.
bool read_memory_image_part(MessageStore& store, std::string_view part);
// After an image's last part (before anything else is applied to the store): false if the parts
// do not make a whole state (an inbox that stops short of its user's last seq); the store must
// then be thrown away.
bool memory_image_complete(const MessageStore& store);

} // namespace parley::store
