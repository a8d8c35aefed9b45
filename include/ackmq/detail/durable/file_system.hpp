#pragma once
// ackmq internals: the durable store's one seam to the file system. Every file operation of the store goes
// through FileSystem and File, so that tests can put a simulated disk underneath (power cuts, ENOSPC, EIO:
// SimulatedFileSystem), as RocksDB's FaultInjectionTestFS and SQLite's test VFS do; PosixFileSystem is
// the real one. Errors are std::system_error naming the operation and the path.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace ackmq::detail {

/// One open file. Thread safety: thread-compatible.
class File {
 public:
  virtual ~File() = default;
  /// Writes all `n` bytes at `offset`, extending the file if need be. On failure it throws, and the range
  /// may hold any mix of old and new bytes.
  virtual void writeAt(std::uint64_t offset, const void* data, std::size_t n) = 0;
  /// Reads up to `n` bytes at `offset`; returns how many there were (fewer only at the end of the file).
  virtual std::size_t readAt(std::uint64_t offset, void* data, std::size_t n) const = 0;
  /// Makes every write so far durable (fdatasync): after it returns, a power cut keeps them.
  virtual void sync() = 0;
  virtual std::uint64_t size() const = 0;
  /// Cuts the file to `bytes`, or extends it with zeros.
  virtual void resize(std::uint64_t bytes) = 0;
};

/// An exclusive lock on a file, held until destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

/// The operations of a store's directory tree. Thread safety: thread-safe.
class FileSystem {
 public:
  virtual ~FileSystem() = default;
  /// Locks `path` (created if missing) against every other lock of it, in this process or another.
  /// Throws std::system_error with EWOULDBLOCK when it is locked already.
  virtual std::unique_ptr<FileLock> lock(const std::string& path) = 0;
  /// Opens `path` for reading and writing; creates it empty first if `create` and it is missing.
  virtual std::unique_ptr<File> open(const std::string& path, bool create) = 0;
  virtual bool exists(const std::string& path) const = 0;
  /// The names (not paths) of the files in `dir`, in no particular order.
  virtual std::vector<std::string> list(const std::string& dir) const = 0;
  virtual void createDirectories(const std::string& dir) = 0;
  virtual void remove(const std::string& path) = 0;
  /// Replaces `to` with `from` in one step.
  virtual void rename(const std::string& from, const std::string& to) = 0;
  /// Makes the directory's entries (files created, renamed, removed) durable.
  virtual void syncDirectory(const std::string& dir) = 0;
};

[[noreturn]] inline void throwIoError(int error, const char* operation, const std::string& path) {
  throw std::system_error(error, std::generic_category(), std::string(operation) + " " + path);
}

#if defined(__unix__) || defined(__APPLE__)

/// A file through POSIX calls: pwrite, pread, fdatasync, ftruncate.
class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) noexcept : fd_(fd), path_(std::move(path)) {}
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;
  ~PosixFile() override { ::close(fd_); }

  void writeAt(std::uint64_t offset, const void* data, std::size_t n) override {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(offset));
      if (w < 0) {
        if (errno == EINTR) continue;
        throwIoError(errno, "pwrite", path_);
      }
      p += w;
      n -= static_cast<std::size_t>(w);
      offset += static_cast<std::uint64_t>(w);
    }
  }
  std::size_t readAt(std::uint64_t offset, void* data, std::size_t n) const override {
    auto* p = static_cast<char*>(data);
    std::size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd_, p + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        throwIoError(errno, "pread", path_);
      }
      if (r == 0) break;
      done += static_cast<std::size_t>(r);
    }
    return done;
  }
  void sync() override {
#if defined(__linux__)
    if (::fdatasync(fd_) != 0) throwIoError(errno, "fdatasync", path_);
#else
    if (::fsync(fd_) != 0) throwIoError(errno, "fsync", path_);
#endif
  }
  std::uint64_t size() const override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) throwIoError(errno, "fstat", path_);
    return static_cast<std::uint64_t>(st.st_size);
  }
  void resize(std::uint64_t bytes) override {
    if (::ftruncate(fd_, static_cast<off_t>(bytes)) != 0) throwIoError(errno, "ftruncate", path_);
  }

 private:
  int fd_;
  std::string path_;
};

/// A lock through flock(): it belongs to the open file, so a second lock of the same file fails in the
/// same process too (fcntl's locks would not: they belong to the process).
class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) noexcept : fd_(fd) {}
  PosixFileLock(const PosixFileLock&) = delete;
  PosixFileLock& operator=(const PosixFileLock&) = delete;
  ~PosixFileLock() override { ::close(fd_); }  // closing releases the lock

 private:
  int fd_;
};

/// The real file system.
class PosixFileSystem final : public FileSystem {
 public:
  std::unique_ptr<FileLock> lock(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_CREAT, 0644);
    if (fd < 0) throwIoError(errno, "open", path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      ::close(fd);
      throwIoError(error, "flock", path);
    }
    return std::make_unique<PosixFileLock>(fd);
  }
  std::unique_ptr<File> open(const std::string& path, bool create) override {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0) throwIoError(errno, "open", path);
    return std::make_unique<PosixFile>(fd, path);
  }
  bool exists(const std::string& path) const override {
    std::error_code ec;
    return std::filesystem::exists(path, ec);
  }
  std::vector<std::string> list(const std::string& dir) const override {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
      names.push_back(entry.path().filename().string());
    if (ec) throwIoError(ec.value(), "list", dir);
    return names;
  }
  void createDirectories(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throwIoError(ec.value(), "mkdir", dir);
  }
  void remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) throwIoError(errno, "unlink", path);
  }
  void rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) throwIoError(errno, "rename", from + " to " + to);
  }
  void syncDirectory(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECTORY);
    if (fd < 0) throwIoError(errno, "open", dir);
    const int rc = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (rc != 0) throwIoError(error, "fsync", dir);
  }
};

#endif

}  // namespace ackmq::detail
