#pragma once
// ackmq internals: a disk in memory for the durable store's tests, with the failures a real one has. Each
// file keeps two images: what the process sees, and what a power cut would leave (the durable image, which
// only File::sync() brings up to date). powerCut() replaces every file by its durable image plus, chosen
// by a seed, a prefix of the writes since its last sync, the last of them torn at a random byte: the
// sector-and-page reordering of a real disk, reduced to the case a log has to survive. Writes and syncs
// can also be made to fail (ENOSPC, EIO).
//
// Simplification: a file's existence, and a rename, are durable at once (the directory is treated as
// synced); sizes and contents are not.

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <ackmq/detail/durable/file_system.hpp>

namespace ackmq::detail {

/// Thread safety: thread-safe.
class SimulatedFileSystem final : public FileSystem {
 public:
  std::unique_ptr<FileLock> lock(const std::string& path) override {
    std::lock_guard lock(mutex_);
    if (!locks_.insert(path).second) throwIoError(EWOULDBLOCK, "flock", path);
    files_.try_emplace(path, std::make_shared<Node>());
    return std::make_unique<SimLock>(*this, path);
  }
  std::unique_ptr<File> open(const std::string& path, bool create) override {
    std::lock_guard lock(mutex_);
    auto it = files_.find(path);
    if (it == files_.end()) {
      if (!create) throwIoError(ENOENT, "open", path);
      it = files_.emplace(path, std::make_shared<Node>()).first;
    }
    return std::make_unique<SimFile>(*this, it->second, path);
  }
  bool exists(const std::string& path) const override {
    std::lock_guard lock(mutex_);
    return files_.count(path) != 0 || dirs_.count(path) != 0;
  }
  std::vector<std::string> list(const std::string& dir) const override {
    std::lock_guard lock(mutex_);
    if (dirs_.count(dir) == 0) throwIoError(ENOENT, "list", dir);
    std::vector<std::string> names;
    const std::string prefix = dir + "/";
    for (const auto& [path, node] : files_) {
      if (path.compare(0, prefix.size(), prefix) == 0 && path.find('/', prefix.size()) == std::string::npos)
        names.push_back(path.substr(prefix.size()));
    }
    return names;
  }
  void createDirectories(const std::string& dir) override {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 1; i <= dir.size(); ++i) {
      if (i == dir.size() || dir[i] == '/') dirs_.insert(dir.substr(0, i));
    }
  }
  void remove(const std::string& path) override {
    std::lock_guard lock(mutex_);
    files_.erase(path);
  }
  void rename(const std::string& from, const std::string& to) override {
    std::lock_guard lock(mutex_);
    auto it = files_.find(from);
    if (it == files_.end()) throwIoError(ENOENT, "rename", from);
    files_[to] = it->second;
    files_.erase(it);
  }
  void syncDirectory(const std::string& dir) override {
    std::lock_guard lock(mutex_);
    if (dirs_.count(dir) == 0) throwIoError(ENOENT, "fsync", dir);
  }

  /// The next `n` writes fail with `error` (ENOSPC by default), writing nothing.
  void failNextWrites(int n, int error = ENOSPC) {
    std::lock_guard lock(mutex_);
    failWrites_ = n;
    writeError_ = error;
  }
  /// The next `n` syncs fail with `error` (EIO by default), making nothing durable.
  void failNextSyncs(int n, int error = EIO) {
    std::lock_guard lock(mutex_);
    failSyncs_ = n;
    syncError_ = error;
  }

  /// While held, every sync waits (a slow disk), until releaseSyncs().
  void holdSyncs() {
    std::lock_guard lock(mutex_);
    holdSyncs_ = true;
  }
  void releaseSyncs() {
    {
      std::lock_guard lock(mutex_);
      holdSyncs_ = false;
    }
    syncGate_.notify_all();
  }
  /// Syncs begun so far (waiting ones included), and syncs waiting now.
  std::uint64_t syncsStarted() const {
    std::lock_guard lock(mutex_);
    return syncsStarted_;
  }

  /// A power cut: every file becomes its durable image plus a prefix (chosen by `seed`) of the writes made
  /// since its last sync, the last of that prefix torn at a random byte. Files opened before stay usable
  /// and see the result.
  void powerCut(std::uint64_t seed) {
    std::lock_guard lock(mutex_);
    std::mt19937_64 random(seed);
    for (auto& [path, node] : files_) {
      std::vector<unsigned char> image = node->durable;
      const std::size_t kept = node->pending.empty() ? 0 : random() % (node->pending.size() + 1);
      for (std::size_t i = 0; i < kept; ++i) {
        const Write& w = node->pending[i];
        std::size_t n = w.bytes.size();
        if (i + 1 == kept && n > 0) n = random() % (n + 1);  // torn
        if (image.size() < w.offset + n) image.resize(w.offset + n);
        std::copy_n(w.bytes.begin(), n, image.begin() + static_cast<std::ptrdiff_t>(w.offset));
      }
      node->current = image;
      node->durable = std::move(image);
      node->pending.clear();
    }
  }
  /// The bytes a file holds now, for tests that inspect or damage it.
  std::vector<unsigned char>& bytes(const std::string& path) {
    std::lock_guard lock(mutex_);
    return files_.at(path)->current;
  }

 private:
  struct Write {
    std::uint64_t offset;
    std::vector<unsigned char> bytes;
  };
  struct Node {
    std::vector<unsigned char> current;
    std::vector<unsigned char> durable;
    std::vector<Write> pending;
  };

  class SimLock final : public FileLock {
   public:
    SimLock(SimulatedFileSystem& fs, std::string path) : fs_(fs), path_(std::move(path)) {}
    ~SimLock() override {
      std::lock_guard lock(fs_.mutex_);
      fs_.locks_.erase(path_);
    }

   private:
    SimulatedFileSystem& fs_;
    std::string path_;
  };

  class SimFile final : public File {
   public:
    SimFile(SimulatedFileSystem& fs, std::shared_ptr<Node> node, std::string path)
        : fs_(fs), node_(std::move(node)), path_(std::move(path)) {}
    void writeAt(std::uint64_t offset, const void* data, std::size_t n) override {
      std::lock_guard lock(fs_.mutex_);
      if (fs_.failWrites_ > 0) {
        --fs_.failWrites_;
        throwIoError(fs_.writeError_, "pwrite", path_);
      }
      auto& cur = node_->current;
      if (cur.size() < offset + n) cur.resize(offset + n);
      if (n > 0) std::memcpy(cur.data() + offset, data, n);
      const auto* p = static_cast<const unsigned char*>(data);
      node_->pending.push_back(Write{offset, std::vector<unsigned char>(p, p + n)});
    }
    std::size_t readAt(std::uint64_t offset, void* data, std::size_t n) const override {
      std::lock_guard lock(fs_.mutex_);
      const auto& cur = node_->current;
      if (offset >= cur.size()) return 0;
      const std::size_t m = std::min<std::size_t>(n, cur.size() - offset);
      if (m > 0) std::memcpy(data, cur.data() + offset, m);
      return m;
    }
    void sync() override {
      std::unique_lock lock(fs_.mutex_);
      ++fs_.syncsStarted_;
      fs_.syncGate_.wait(lock, [&] { return !fs_.holdSyncs_; });
      if (fs_.failSyncs_ > 0) {
        --fs_.failSyncs_;
        throwIoError(fs_.syncError_, "fdatasync", path_);
      }
      node_->durable = node_->current;
      node_->pending.clear();
    }
    std::uint64_t size() const override {
      std::lock_guard lock(fs_.mutex_);
      return node_->current.size();
    }
    void resize(std::uint64_t bytes) override {
      std::lock_guard lock(fs_.mutex_);
      node_->current.resize(bytes);
      // A size change is durable only with the next sync, like the contents: until then a power cut
      // leaves the durable image's size.
    }

   private:
    SimulatedFileSystem& fs_;
    std::shared_ptr<Node> node_;
    std::string path_;
  };

  mutable std::mutex mutex_;  // guards everything below and every node
  std::map<std::string, std::shared_ptr<Node>> files_;
  std::set<std::string> dirs_;
  std::set<std::string> locks_;  // paths locked now
  int failWrites_ = 0;
  int writeError_ = ENOSPC;
  std::condition_variable syncGate_;  // syncs wait here while holdSyncs_
  bool holdSyncs_ = false;
  std::uint64_t syncsStarted_ = 0;
  int failSyncs_ = 0;
  int syncError_ = EIO;
};

}  // namespace ackmq::detail
