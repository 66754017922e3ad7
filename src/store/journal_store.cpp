// The journal store: a memory store whose every state change is first made durable as a record
// of the call (journal_format.hpp). Order of a write: encode the record, write it at the end of
// the file, fdatasync, and only then apply the call to the memory store, so a failed write leaves
// state as it was and the caller's error means "nothing stored", as the contract requires.
// set_pushed_seq is the exception the contract allows: applied at once, written with the next
// write (or by maintain()), never synced on its own.
#include "store/journal_store.hpp"

#include "store/data_dir_lock.hpp"
#include "store/file_io.hpp"
#include "store/journal_format.hpp"
#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"

#include <boost/unordered/unordered_flat_map.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <variant>

namespace parley::store {

namespace {

namespace fs = std::filesystem;
using boost::system::result;

boost::system::error_code last_error() {
    return {errno, boost::system::system_category()};
}

template <class... Fs> struct Overloaded : Fs... { using Fs::operator()...; };
template <class... Fs> Overloaded(Fs...) -> Overloaded<Fs...>;

class JournalStore final : public MessageStore {
public:
    JournalStore(const fs::path& data_dir, JournalOptions options)
        : dir_(data_dir), file_(data_dir / journal::file_name),
          compacting_file_(file_.string() + ".compacting"), label_("message store " + file_.string()),
          options_(std::move(options)), lock_(data_dir / data_dir_lock_file, label_),
          memory_(make_memory_store()) {
        if (fs::exists(data_dir / sqlite_db_file)) {
            fail("the directory holds an SQLite message store (parley.db); start with --store sqlite, "
                 "or give the journal store a --data-dir of its own");
        }
        // The journal is renamed over only once a compaction's file is complete and synced, so a
        // leftover one is an interrupted compaction: the journal beside it is whole.
        std::error_code ec;
        if (fs::remove(compacting_file_, ec) && options_.warn) {
            options_.warn(label_ + ": removed " + compacting_file_.filename().string() +
                          ", a compaction a stop interrupted (the journal itself is whole)");
        }
        fd_ = ::open(file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) {
            fail(std::string("cannot open: ") + std::strerror(errno));
        }
        struct stat st {};
        if (::fstat(fd_, &st) != 0) {
            fail(std::string("cannot stat: ") + std::strerror(errno));
        }
        const auto size = static_cast<std::size_t>(st.st_size);
        if (size == 0 || !replay(size)) {
            start_new_file();
        }
        compact_at_ = std::max(options_.compact_at_least_bytes, 2 * image_bytes_);
    }

    ~JournalStore() override {
        if (compaction_) {
            // Its file is not the journal yet: end it and drop the file (the next open would).
            ::kill(compaction_->pid, SIGKILL);
            int status = 0;
            ::waitpid(compaction_->pid, &status, 0);
            ::unlink(compacting_file_.c_str());
        }
        if (!pending_pushed_.empty() && failed_ == boost::system::error_code{}) {
            write_pending_hints();
            const auto flushed = commit(true); // a clean stop keeps the resume hints
            (void)flushed;
        }
        ::close(fd_);
    }

    JournalStore(const JournalStore&) = delete;
    JournalStore& operator=(const JournalStore&) = delete;

    bool waits_on_io() const override { return true; }

    result<std::vector<AppendResult>> append(std::span<const NewMessage> batch, std::int64_t now_ms,
                                             std::int64_t idempotency_window_ms) override {
        if (!batch.empty()) {
            write_pending_hints();
            journal::write_append(out_, batch, now_ms, idempotency_window_ms);
            if (auto written = commit(true); !written) {
                return written.error();
            }
        }
        return memory_->append(batch, now_ms, idempotency_window_ms);
    }

    result<std::vector<std::uint64_t>> record_receipts(std::span<const Receipt> receipts) override {
        if (!receipts.empty()) {
            write_pending_hints();
            journal::write_receipts(out_, receipts);
            if (auto written = commit(true); !written) {
                return written.error();
            }
        }
        return memory_->record_receipts(receipts);
    }

    // Applied first, then written as what it did: prune(before, n) with n the number it deleted,
    // so the record costs nothing on the many calls that find nothing old enough. A failed write
    // would leave the journal replaying messages that later appends' dedup saw gone, so the store
    // then refuses every write until restarted (nothing acked depends on the missing record).
    result<std::size_t> prune(std::int64_t before_ms, std::size_t max_messages) override {
        if (failed_) {
            return failed_;
        }
        auto deleted = memory_->prune(before_ms, max_messages);
        if (!deleted || *deleted == 0) {
            return deleted;
        }
        write_pending_hints();
        journal::write_prune(out_, before_ms, *deleted);
        if (auto written = commit(true); !written) {
            failed_ = written.error();
            return written.error();
        }
        return deleted;
    }

    result<void> set_pushed_seq(const std::string& user, std::uint64_t seq) override {
        const auto before = memory_->pushed_seq(user);
        auto set = memory_->set_pushed_seq(user, seq);
        const auto after = memory_->pushed_seq(user);
        if (before && after && *after > *before) {
            pending_pushed_.insert_or_assign(user, *after);
        }
        return set;
    }

    result<void> maintain() override {
        if (compaction_) {
            if (auto finished = finish_compaction_if_done(); !finished) {
                return finished;
            }
        } else if (end_ >= compact_at_ && !failed_) {
            // Only if the image would be at most half the journal: a journal of messages that are
            // all still held (no prune, few receipts) is about its image's size, and rewriting it
            // would gain nothing. Then look again when the journal has doubled past the image.
            const std::size_t image = memory_image_bytes(*memory_);
            if (end_ >= 2 * image) {
                return start_compaction();
            }
            compact_at_ = std::max(options_.compact_at_least_bytes, 2 * image);
        }
        if (pending_pushed_.empty()) {
            return {};
        }
        write_pending_hints();
        return commit(false);
    }

    result<std::vector<InboxEntry>> inbox_since(const std::string& user, std::uint64_t since_seq,
                                                std::size_t limit) override {
        return memory_->inbox_since(user, since_seq, limit);
    }
    result<std::uint64_t> last_seq(const std::string& user) override { return memory_->last_seq(user); }
    result<std::uint64_t> pushed_seq(const std::string& user) override { return memory_->pushed_seq(user); }
    result<std::vector<StoredMessage>> history(const std::string& user, const std::string& peer,
                                               std::uint64_t before, std::size_t limit) override {
        return memory_->history(user, peer, before, limit);
    }
    result<std::vector<Conversation>> conversations(const std::string& user) override {
        return memory_->conversations(user);
    }

private:
    [[noreturn]] void fail(const std::string& cause) const {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        throw std::runtime_error(label_ + ": " + cause);
    }

    // Replays an existing file into the memory store. False if it is an empty shell (created, then
    // a crash before its header was synced): it is then started anew.
    bool replay(std::size_t size) {
        void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd_, 0);
        if (mapped == MAP_FAILED) {
            fail(std::string("cannot map: ") + std::strerror(errno));
        }
        const std::unique_ptr<void, std::function<void(void*)>> unmap(mapped,
                                                                      [size](void* p) { ::munmap(p, size); });
        ::madvise(mapped, size, MADV_SEQUENTIAL);
        const std::span<const char> file(static_cast<const char*>(mapped), size);
        const journal::header_check header = journal::check_file_header(file);
        if (header != journal::header_check::ok) {
            if (header == journal::header_check::empty) {
                return false;
            }
            fail(header == journal::header_check::newer_version
                     ? "written by a newer Parley (journal format > " +
                           std::to_string(journal::format_version) + "); run that version or newer"
                     : "not a Parley journal (its first bytes are not a journal header)");
        }
        std::size_t at_record = 0;
        bool image_open = false; // image parts were read and not yet checked whole
        const auto check_image = [&] {
            if (image_open && !memory_image_complete(*memory_)) {
                fail("the state image before record " + std::to_string(at_record + 1) +
                     " is incomplete: an inbox stops short of its user's last seq (intact "
                     "checksums: written so, not damaged since). Nothing was changed");
            }
            image_open = false;
        };
        const journal::ScanResult scanned = journal::scan(file, [&](journal::Op&& op) {
            const bool image_part = std::holds_alternative<journal::ImagePartOp>(op);
            if (!image_part) {
                check_image();
            }
            if (!apply(std::move(op))) {
                fail("record " + std::to_string(at_record + 1) +
                     " holds part of a state image that does not fit the parts before it (intact "
                     "checksum: written so, not damaged since). Nothing was changed");
            }
            image_open = image_open || image_part;
            ++at_record;
        });
        check_image();
        if (scanned.end == journal::scan_end::corrupt) {
            fail("damaged at byte " + std::to_string(scanned.valid_end) + " of " + std::to_string(size) +
                 ": " + scanned.problem +
                 ", with data after it, so not a write a crash cut short. Nothing was "
                 "changed. The " +
                 std::to_string(scanned.records) +
                 " records before it are intact; to start from them, keep a copy of the file and cut it "
                 "there: truncate -s " +
                 std::to_string(scanned.valid_end) + " " + file_.string());
        }
        if (scanned.end == journal::scan_end::torn_tail) {
            if (::ftruncate(fd_, static_cast<off_t>(scanned.valid_end)) != 0 || ::fdatasync(fd_) != 0) {
                fail(std::string("cannot cut off a torn write at its end: ") + std::strerror(errno));
            }
            if (options_.warn) {
                options_.warn(label_ + ": cut off " + std::to_string(size - scanned.valid_end) +
                              " bytes at its end (" + scanned.problem +
                              "): a write a crash interrupted, never acknowledged");
            }
        }
        end_ = scanned.valid_end;
        return true;
    }

    // False for an image part the memory store cannot read.
    bool apply(journal::Op&& op) {
        return std::visit(
            Overloaded{
                [&](journal::AppendOp& a) {
                    // The memory store's calls do not fail.
                    return memory_->append(a.batch, a.now_ms, a.idempotency_window_ms).has_value();
                },
                [&](journal::ReceiptsOp& r) { return memory_->record_receipts(r.receipts).has_value(); },
                [&](journal::PruneOp& p) { return memory_->prune(p.before_ms, p.max_messages).has_value(); },
                [&](journal::PushedSeqOp& p) { return memory_->set_pushed_seq(p.user, p.seq).has_value(); },
                [&](journal::ImagePartOp& i) {
                    image_bytes_ += i.part.size();
                    return read_memory_image_part(*memory_, i.part);
                },
            },
            op);
    }

    // A new file gets its header, synced, and its directory entry synced: otherwise a power cut
    // could lose the file that holds the first acked messages.
    void start_new_file() {
        std::string header;
        journal::write_file_header(header);
        boost::system::error_code error =
            ::ftruncate(fd_, 0) == 0 ? write_all(fd_, header.data(), header.size(), 0) : last_error();
        if (!error && ::fdatasync(fd_) != 0) {
            error = last_error();
        }
        if (error) {
            fail("cannot write its header: " + error.message());
        }
        if ((error = sync_directory(dir_))) {
            fail("cannot sync the data directory: " + error.message());
        }
        end_ = header.size();
    }

    // Compaction writes the state's image to messages.journal.compacting, syncs it, and renames
    // it over the journal: the rename is the switch, so a stop at any point leaves one whole
    // journal. The image is written by a forked child from its copy-on-write view of the state
    // as it was at the fork, while this thread goes on writing to the old journal; when the child
    // is done, maintain() appends what was written since the fork to the new file and renames it.
    // Without fork (or with options_.background_compaction off) the image is written here, and
    // writes wait meanwhile (about a second per 250 MB of image, here). On failure the old
    // journal stays in use and the next try waits until it has doubled again.
    result<void> start_compaction() {
        const auto started = std::chrono::steady_clock::now(); // for the log line only
        if (options_.background_compaction) {
            const pid_t pid = ::fork();
            if (pid == 0) {
                // The child: only this thread exists in it, and it touches only the state it was
                // given, its own new file and malloc (jemalloc and glibc's are fork-safe).
                ::_exit(write_image_file().has_value() ? 0 : 1);
            }
            if (pid > 0) {
                compaction_ = Compaction{pid, end_, started};
                return {};
            }
            // No fork (out of memory or processes): compact here.
        }
        const std::size_t before = end_;
        const auto written = write_image_file();
        if (!written) {
            return compaction_failed(written.error());
        }
        return install_compaction(*written, before, started, "writes waited meanwhile");
    }

    // maintain()'s check on a compaction in a child: nothing while it runs; once it has exited,
    // the journal's records since the fork go after its image and the new file takes over.
    result<void> finish_compaction_if_done() {
        int status = 0;
        const pid_t done = ::waitpid(compaction_->pid, &status, WNOHANG);
        if (done == 0) {
            return {};
        }
        const Compaction compaction = *compaction_;
        compaction_.reset();
        if (done < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || failed_) {
            ::unlink(compacting_file_.c_str());
            return compaction_failed(
                failed_ ? failed_ : boost::system::error_code(EIO, boost::system::system_category()));
        }
        const int fd = ::open(compacting_file_.c_str(), O_WRONLY | O_CLOEXEC);
        struct stat st {};
        boost::system::error_code error =
            fd < 0 || ::fstat(fd, &st) != 0 ? last_error() : boost::system::error_code{};
        auto at = static_cast<std::size_t>(st.st_size);
        const std::size_t image_end = at;
        std::string chunk(std::size_t{1} << 20, '\0');
        for (std::size_t from = compaction.journal_at_fork; !error && from < end_;) {
            const ssize_t n =
                ::pread(fd_, chunk.data(), std::min(chunk.size(), end_ - from), static_cast<off_t>(from));
            if (n <= 0) {
                error =
                    n < 0 ? last_error() : boost::system::error_code(EIO, boost::system::system_category());
                break;
            }
            error = write_all(fd, chunk.data(), static_cast<std::size_t>(n), static_cast<off_t>(at));
            from += static_cast<std::size_t>(n);
            at += static_cast<std::size_t>(n);
        }
        if (!error && ::fdatasync(fd) != 0) {
            error = last_error();
        }
        if (fd >= 0) {
            ::close(fd);
        }
        if (error) {
            ::unlink(compacting_file_.c_str());
            return compaction_failed(error);
        }
        return install_compaction(at, compaction.journal_at_fork, compaction.started,
                                  "in a child process; " + std::to_string(at - image_end) +
                                      " bytes written meanwhile followed it");
    }

    // Writes the file header and the image to messages.journal.compacting and syncs it; its size.
    result<std::size_t> write_image_file() {
        const int fd = ::open(compacting_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            return last_error();
        }
        std::string buffer;
        journal::write_file_header(buffer);
        std::size_t written = 0;
        boost::system::error_code error;
        auto drain = [&] {
            if (!error) {
                error = write_all(fd, buffer.data(), buffer.size(), static_cast<off_t>(written));
                written += buffer.size();
            }
            buffer.clear();
        };
        write_memory_image(*memory_, [&](std::string_view part) {
            journal::write_image_part(buffer, part);
            if (buffer.size() >= (std::size_t{4} << 20)) {
                drain();
            }
        });
        drain();
        if (!error && ::fdatasync(fd) != 0) {
            error = last_error();
        }
        ::close(fd);
        if (error) {
            ::unlink(compacting_file_.c_str());
            return error;
        }
        return written;
    }

    // Renames the complete, synced messages.journal.compacting (`size` bytes) over the journal
    // and writes on in it.
    result<void> install_compaction(std::size_t size, std::size_t before,
                                    std::chrono::steady_clock::time_point started, const std::string& how) {
        if (::rename(compacting_file_.c_str(), file_.c_str()) != 0) {
            const boost::system::error_code error = last_error();
            ::unlink(compacting_file_.c_str());
            return compaction_failed(error);
        }
        // The journal's name now holds the new file; the old one lives on only through fd_.
        const int new_fd = ::open(file_.c_str(), O_RDWR | O_CLOEXEC);
        const boost::system::error_code error = new_fd < 0 ? last_error() : sync_directory(dir_);
        if (error) {
            // The new journal is complete, but no write may follow it unseen: stop writing.
            failed_ = error;
            if (new_fd >= 0) {
                ::close(new_fd);
            }
            return failed_;
        }
        ::close(fd_);
        fd_ = new_fd;
        end_ = size;
        compact_at_ = std::max(options_.compact_at_least_bytes, 2 * end_);
        if (options_.info) {
            const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - started);
            options_.info(label_ + ": compacted " + std::to_string(before) + " bytes into " +
                          std::to_string(end_) + " in " + std::to_string(took.count()) + " ms (" + how + ")");
        }
        return {};
    }

    result<void> compaction_failed(boost::system::error_code error) {
        compact_at_ = 2 * end_;
        return error;
    }

    // Encodes the pending resume hints into out_, ahead of the record the caller encodes next: each
    // was clamped to the user's last seq when set, which later records can only raise, so replay
    // clamps it alike.
    void write_pending_hints() {
        for (const auto& [user, seq] : pending_pushed_) {
            journal::write_pushed_seq(out_, user, seq);
        }
        pending_pushed_.clear();
    }

    // Writes whatever records `out_` holds at the end of the file, synced if asked. On failure the file is
    // cut back to where it was, so a later write does not follow a half-written record, and nothing in `out_`
    // was written.
    result<void> commit(bool sync) {
        if (failed_) {
            out_.clear();
            return failed_;
        }
        if (const boost::system::error_code error =
                write_all(fd_, out_.data(), out_.size(), static_cast<off_t>(end_))) {
            return undo(error);
        }
        if (sync && ::fdatasync(fd_) != 0) {
            // After a failed fdatasync the kernel may have dropped the pages it could not write;
            // nothing written since the last good one can be trusted, so the store stops writing.
            const boost::system::error_code error = last_error();
            const auto undone = undo(error);
            (void)undone;
            failed_ = error;
            return error;
        }
        end_ += out_.size();
        out_.clear();
        return {};
    }

    result<void> undo(boost::system::error_code error) {
        out_.clear();
        if (::ftruncate(fd_, static_cast<off_t>(end_)) != 0) {
            failed_ = error; // the file's end is unknown: no later write may follow it
        }
        return error;
    }

    fs::path dir_;
    fs::path file_;
    fs::path compacting_file_;
    std::string label_; // "message store <file>": starts every startup error
    JournalOptions options_;
    DataDirLock lock_;
    std::unique_ptr<MessageStore> memory_;
    int fd_ = -1;
    std::size_t end_ = 0;         // bytes of the file that hold intact records
    std::size_t image_bytes_ = 0; // the image at the journal's start, from the last compaction
    std::size_t compact_at_ = 0;  // maintain() compacts once end_ reaches it
    struct Compaction {
        pid_t pid = 0;
        std::size_t journal_at_fork = 0; // records from here on follow the child's image
        std::chrono::steady_clock::time_point started;
    };
    std::optional<Compaction> compaction_; // a child writing the image
    std::string out_;                      // records being written; kept to reuse its memory
    boost::unordered_flat_map<std::string, std::uint64_t> pending_pushed_; // user -> seq
    boost::system::error_code failed_; // set: every write fails with it (see commit, prune)
};

} // namespace

std::unique_ptr<MessageStore> open_journal_store(const fs::path& data_dir, JournalOptions options) {
    std::error_code ec;
    fs::create_directories(data_dir, ec);
    if (ec) {
        throw std::runtime_error("message store " + (data_dir / journal::file_name).string() +
                                 ": cannot create the data directory: " + ec.message());
    }
    return std::make_unique<JournalStore>(data_dir, options);
}

} // namespace parley::store
