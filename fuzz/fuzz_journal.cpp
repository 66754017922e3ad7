// Fuzzes the journal store's reading of messages.journal (journal_format.hpp) and the memory
// store's reading of an image (memory_store.hpp): what a damaged or hostile file holds. The input
// is the file after its header, which the target puts in front.
// Beyond "no crash":
// - the scan ends at a record boundary inside the file, and hands over as many operations as it
//   counts;
// - a scan that ends clean has consumed every byte;
// - replaying the operations into a memory store never fails, except an image part the store
//   refuses (a fresh store is then started, as the journal store refuses to open);
// - cutting the file where the scan stopped reads the same operations again, and ends clean.
#include "store/journal_format.hpp"
#include "store/memory_store.hpp"

#include "check.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <variant>

namespace {

using parley::fuzz::check;
namespace journal = parley::store::journal;

struct Replay {
    std::unique_ptr<parley::store::MessageStore> store = parley::store::make_memory_store();
    std::size_t ops = 0;

    void operator()(journal::Op&& op) {
        ++ops;
        if (auto* part = std::get_if<journal::ImagePartOp>(&op)) {
            if (!parley::store::read_memory_image_part(*store, part->part)) {
                store = parley::store::make_memory_store();
            }
            return;
        }
        if (auto* a = std::get_if<journal::AppendOp>(&op)) {
            check(store->append(a->batch, a->now_ms, a->idempotency_window_ms).has_value(), "append replays");
        } else if (auto* r = std::get_if<journal::ReceiptsOp>(&op)) {
            check(store->record_receipts(r->receipts).has_value(), "receipts replay");
        } else if (auto* p = std::get_if<journal::PruneOp>(&op)) {
            check(store->prune(p->before_ms, p->max_messages).has_value(), "prune replays");
        } else if (auto* s = std::get_if<journal::PushedSeqOp>(&op)) {
            check(store->set_pushed_seq(s->user, s->seq).has_value(), "pushed seq replays");
        }
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string file;
    journal::write_file_header(file);
    file.append(reinterpret_cast<const char*>(data), size);
    check(journal::check_file_header(file) == journal::header_check::ok, "the header is a header");

    Replay replay;
    const journal::ScanResult result = journal::scan(file, [&](journal::Op&& op) { replay(std::move(op)); });
    check(result.valid_end >= journal::file_header_bytes && result.valid_end <= file.size(),
          "the scan stops inside the file");
    check(result.records == replay.ops, "every intact record is handed over once");
    check(result.end != journal::scan_end::clean || result.valid_end == file.size(),
          "a clean scan consumed every byte");

    Replay again;
    const journal::ScanResult cut = journal::scan(std::span<const char>(file.data(), result.valid_end),
                                                  [&](journal::Op&& op) { again(std::move(op)); });
    check(cut.end == journal::scan_end::clean && cut.records == result.records,
          "the file cut where the scan stopped reads the same records, clean");
    return 0;
}
