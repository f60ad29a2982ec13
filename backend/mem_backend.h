// MemBackend: a repository held in memory. Thread-safe; for tests of the layers above.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>

#include "backend/backend.h"

namespace kura::backend {

class MemBackend : public Backend {
 public:
  MemBackend() = default;

  std::string location() const override { return "mem:"; }
  base::Status create() override { return base::ok_status(); }
  base::StatusOr<uint64_t> stat(const Handle& h) override;
  base::Status save(const Handle& h, base::ByteSpan data) override;
  base::StatusOr<std::unique_ptr<StagedFile>> stage(FileKind) override {
    return memory_staged_file();
  }
  base::StatusOr<base::Bytes> load(const Handle& h, uint64_t offset, uint64_t length) override;
  base::Status remove(const Handle& h) override;
  base::Status list(FileKind kind,
                    const std::function<base::Status(const FileEntry&)>& fn) override;
  int parallelism() const override { return 4; }

 private:
  using Key = std::pair<FileKind, std::string>;
  using Blob = std::shared_ptr<const base::Bytes>;

  base::StatusOr<Blob> find(const Handle& h, std::string_view op) const;

  mutable std::shared_mutex mu_;
  std::map<Key, Blob> files_;
};

std::unique_ptr<Backend> new_mem_backend();

}  // namespace kura::backend
