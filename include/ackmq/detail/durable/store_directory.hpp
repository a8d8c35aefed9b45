#pragma once
// ackmq internals: the durable store's root directory, held open by one broker at a time.
//
//   <root>/lock       locked (flock) while a broker has the store open: a second broker is refused
//   <root>/format     the store's format version: a build refuses a store newer than it reads
//   <root>/abort      present while a broker runs: found at open, the last run crashed (RocketMQ's abort
//                     file, DefaultMessageStore.createTempFile)
//   <root>/commitlog/ the CommitLog's segments (SegmentLog)
//
// Thread safety: thread-compatible.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <ackmq/detail/durable/file_system.hpp>
#include <ackmq/detail/durable/state_file.hpp>

namespace ackmq::detail {

class StoreDirectory {
 public:
  /// The version of the store's layout and record formats this build writes and reads.
  static constexpr std::uint32_t kFormatVersion = 1;

  /// Opens the store at `root` (creating it if need be) for this broker alone, checks its format, and
  /// marks it running. Throws std::runtime_error naming `root` when another broker has it open, when it
  /// was written by a newer format, or when it cannot be created or written (a directory that is not
  /// writable, say), with the system's reason.
  StoreDirectory(FileSystem& fs, std::string root) : fs_(fs), root_(std::move(root)) {
    try {
      fs_.createDirectories(root_);
      lock_ = fs_.lock(root_ + "/lock");
    } catch (const std::system_error& e) {
      if (e.code().value() == EWOULDBLOCK) {
        throw std::runtime_error("the store at " + root_ +
                                 " is open in another broker (its lock file is held); one store serves one "
                                 "broker at a time");
      }
      throw std::runtime_error("cannot open the store at " + root_ + ": " + e.what());
    }
    StateFile format(fs_, root_, "format", kFormatVersion);
    if (!format.read()) format.write({});  // a new store (a newer one throws here, naming the file)
    lastExitClean_ = !fs_.exists(abortPath());
    std::unique_ptr<File> abort = fs_.open(abortPath(), true);
    abort->sync();
    fs_.syncDirectory(root_);
  }
  StoreDirectory(const StoreDirectory&) = delete;
  StoreDirectory& operator=(const StoreDirectory&) = delete;
  /// Releases the store. The abort file stays unless markCleanShutdown() ran: a broker that ends without
  /// it counts as crashed at the next open.
  ~StoreDirectory() = default;

  /// Whether the last broker that had the store open shut it down cleanly (or there was none).
  bool lastExitClean() const noexcept { return lastExitClean_; }
  /// Records a clean shutdown: call once everything is flushed, as the last step.
  void markCleanShutdown() {
    fs_.remove(abortPath());
    fs_.syncDirectory(root_);
  }

  FileSystem& fs() noexcept { return fs_; }
  const std::string& root() const noexcept { return root_; }
  std::string commitLogDir() const { return root_ + "/commitlog"; }

 private:
  std::string abortPath() const { return root_ + "/abort"; }

  FileSystem& fs_;
  std::string root_;
  std::unique_ptr<FileLock> lock_;
  bool lastExitClean_ = true;
};

}  // namespace ackmq::detail
