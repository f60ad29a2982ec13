#include "backend/mem_backend.h"

#include <vector>

namespace kura::backend {

base::StatusOr<MemBackend::Blob> MemBackend::find(const Handle& h, std::string_view op) const {
  RETURN_IF_ERROR(check_handle(h));
  std::shared_lock lock(mu_);
  auto it = files_.find(Key(h.kind, h.name));
  if (it == files_.end()) {
    return base::not_found(std::string(op) + " " + h.to_string() + ": no such file");
  }
  return it->second;
}

base::StatusOr<uint64_t> MemBackend::stat(const Handle& h) {
  ASSIGN_OR_RETURN(Blob blob, find(h, "stat"));
  return uint64_t{blob->size()};
}

base::Status MemBackend::save(const Handle& h, base::ByteSpan data) {
  RETURN_IF_ERROR(check_handle(h));
  // Copy before taking the lock: a 16 MiB copy should not stall readers.
  auto blob = std::make_shared<const base::Bytes>(data.begin(), data.end());
  std::unique_lock lock(mu_);
  auto [it, inserted] = files_.emplace(Key(h.kind, h.name), std::move(blob));
  if (!inserted) return base::already_exists("save " + h.to_string() + ": file exists");
  return base::ok_status();
}

base::StatusOr<base::Bytes> MemBackend::load(const Handle& h, uint64_t offset, uint64_t length) {
  ASSIGN_OR_RETURN(Blob blob, find(h, "load"));
  ASSIGN_OR_RETURN(uint64_t n, range_length(h, blob->size(), offset, length));
  auto first = blob->begin() + static_cast<std::ptrdiff_t>(offset);
  return base::Bytes(first, first + static_cast<std::ptrdiff_t>(n));
}

base::Status MemBackend::remove(const Handle& h) {
  RETURN_IF_ERROR(check_handle(h));
  std::unique_lock lock(mu_);
  files_.erase(Key(h.kind, h.name));
  return base::ok_status();
}

base::Status MemBackend::list(FileKind kind,
                              const std::function<base::Status(const FileEntry&)>& fn) {
  if (kind == FileKind::kConfig) return base::invalid_argument("list: config is not a folder");
  // Snapshot the entries so fn may call back into this backend (e.g. remove what it sees).
  std::vector<FileEntry> entries;
  {
    std::shared_lock lock(mu_);
    for (auto it = files_.lower_bound(Key(kind, "")); it != files_.end() && it->first.first == kind;
         ++it) {
      entries.push_back(FileEntry{it->first.second, it->second->size()});
    }
  }
  for (const FileEntry& e : entries) RETURN_IF_ERROR(fn(e));
  return base::ok_status();
}

std::unique_ptr<Backend> new_mem_backend() { return std::make_unique<MemBackend>(); }

}  // namespace kura::backend
