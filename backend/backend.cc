#include "backend/backend.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "crypto/random.h"

namespace kura::backend {

std::string_view kind_dir(FileKind kind) {
  switch (kind) {
    case FileKind::kConfig: return "config";
    case FileKind::kKey: return "keys";
    case FileKind::kLock: return "locks";
    case FileKind::kSnapshot: return "snapshots";
    case FileKind::kIndex: return "index";
    case FileKind::kPack: return "data";
  }
  return "?";
}

std::string Handle::to_string() const {
  if (kind == FileKind::kConfig) return "config";
  std::string s(kind_dir(kind));
  s += '/';
  s += name;
  return s;
}

namespace {

// A bounded, printable rendering of a caller-supplied name for error messages.
std::string shown_name(std::string_view name) {
  std::string shown;
  for (char c : name.substr(0, 80)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (name.size() > 80) shown += "...";
  return shown;
}

class MemoryStagedFile : public StagedFile {
 public:
  base::Status append(base::ByteSpan data) override {
    data_.insert(data_.end(), data.begin(), data.end());
    return base::ok_status();
  }
  uint64_t size() const override { return data_.size(); }
  base::StatusOr<size_t> read_at(uint64_t offset, base::MutableByteSpan out) override {
    if (offset >= data_.size()) return size_t{0};
    size_t n = std::min<size_t>(out.size(), data_.size() - static_cast<size_t>(offset));
    std::memcpy(out.data(), data_.data() + offset, n);
    return n;
  }

 private:
  base::Bytes data_;
};

class FdStagedFile : public StagedFile {
 public:
  FdStagedFile(int fd, std::string dir) : fd_(fd), dir_(std::move(dir)) {}
  ~FdStagedFile() override { ::close(fd_); }

  base::Status append(base::ByteSpan data) override {
    while (!data.empty()) {
      ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(size_));
      if (n < 0) {
        if (errno == EINTR) continue;
        return base::errno_status(errno, "write temporary file in " + dir_);
      }
      size_ += static_cast<uint64_t>(n);
      data = data.subspan(static_cast<size_t>(n));
    }
    return base::ok_status();
  }
  uint64_t size() const override { return size_; }
  base::StatusOr<size_t> read_at(uint64_t offset, base::MutableByteSpan out) override {
    size_t done = 0;
    while (done < out.size() && offset + done < size_) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                          static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return base::errno_status(errno, "read temporary file in " + dir_);
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }

 private:
  int fd_;
  std::string dir_;
  uint64_t size_ = 0;
};

}  // namespace

std::unique_ptr<StagedFile> memory_staged_file() { return std::make_unique<MemoryStagedFile>(); }

std::string temp_dir() {
  const char* t = std::getenv("TMPDIR");
  return t && *t ? std::string(t) : std::string("/tmp");
}

base::StatusOr<std::unique_ptr<StagedFile>> anonymous_staged_file(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    // No O_TMPFILE here: a named file, unlinked at once.
    char name[40];
    std::snprintf(name, sizeof name, "/kura-%016llx",
                  static_cast<unsigned long long>(crypto::system_random()->next_u64()));
    std::string path = dir + name;
    fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) ::unlink(path.c_str());
  }
  if (fd < 0) return base::errno_status(errno, "create temporary file in " + dir);
  return std::unique_ptr<StagedFile>(std::make_unique<FdStagedFile>(fd, dir));
}

base::StatusOr<std::unique_ptr<StagedFile>> Backend::stage(FileKind kind) {
  (void)kind;
  return anonymous_staged_file(temp_dir());
}

base::Status Backend::load_into(const Handle& h, uint64_t offset, base::MutableByteSpan out) {
  if (out.empty()) return base::ok_status();
  ASSIGN_OR_RETURN(base::Bytes data, load(h, offset, out.size()));
  if (data.size() != out.size()) {
    return base::data_loss("load " + h.to_string() + ": got " + std::to_string(data.size()) +
                           " of " + std::to_string(out.size()) + " bytes");
  }
  std::memcpy(out.data(), data.data(), out.size());
  return base::ok_status();
}

base::Status Backend::save_staged(const Handle& h, StagedFile& file) {
  base::Bytes data(static_cast<size_t>(file.size()));
  ASSIGN_OR_RETURN(size_t n, file.read_at(0, data));
  if (n != data.size()) {
    return base::data_loss("save " + h.to_string() + ": temporary file shrank to " +
                           std::to_string(n) + " of " + std::to_string(data.size()) + " bytes");
  }
  return save(h, data);
}

bool is_valid_name(std::string_view name) {
  if (name.size() != 64) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool is_temp_name(std::string_view name) {
  constexpr std::string_view kTmp = "-tmp-";
  if (name.size() <= 64 + kTmp.size() || name.size() > 64 + kTmp.size() + 32) return false;
  if (!is_valid_name(name.substr(0, 64)) || name.substr(64, kTmp.size()) != kTmp) return false;
  for (char c : name.substr(64 + kTmp.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

base::Status Backend::remove_temp_file(FileKind kind, std::string_view name) {
  if (!is_temp_name(name)) {
    return base::invalid_argument("invalid temporary file name \"" + shown_name(name) + "\" for " +
                                  std::string(kind_dir(kind)));
  }
  return base::ok_status();  // this backend keeps none
}

base::Status check_handle(const Handle& h) {
  if (h.kind == FileKind::kConfig) {
    if (!h.name.empty()) {
      return base::invalid_argument("config handle with a name: \"" + shown_name(h.name) + "\"");
    }
    return base::ok_status();
  }
  if (static_cast<uint8_t>(h.kind) > static_cast<uint8_t>(FileKind::kPack)) {
    return base::invalid_argument("invalid file kind " +
                                  std::to_string(static_cast<int>(h.kind)));
  }
  if (!is_valid_name(h.name)) {
    return base::invalid_argument("invalid file name \"" + shown_name(h.name) + "\" for " +
                                  std::string(kind_dir(h.kind)) +
                                  ": want 64 lowercase hex characters");
  }
  return base::ok_status();
}

base::StatusOr<uint64_t> range_length(const Handle& h, uint64_t size, uint64_t offset,
                                      uint64_t length) {
  if (offset <= size && (length == 0 || length <= size - offset)) {
    return length == 0 ? size - offset : length;
  }
  std::string m = "load " + h.to_string() + ": file has " + std::to_string(size) +
                  " bytes, cannot read ";
  m += length == 0 ? "from" : std::to_string(length) + " bytes at";
  m += " offset " + std::to_string(offset);
  return base::data_loss(std::move(m));
}

}  // namespace kura::backend
