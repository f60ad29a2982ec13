// Decoded data blobs by id, least recently used dropped first, bounded by their bytes: a file
// read in 4 KiB..128 KiB pieces decrypts each of its blobs once (restic's bloblru, 64 MiB).
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "base/bytes.h"
#include "repo/id.h"

namespace kura::fs {

class BlobCache {
 public:
  explicit BlobCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  std::shared_ptr<const base::Bytes> get(const repo::Id& id);
  // A blob larger than the whole cache is not kept.
  void add(const repo::Id& id, std::shared_ptr<const base::Bytes> blob);
  size_t bytes() const;

 private:
  using Entry = std::pair<repo::Id, std::shared_ptr<const base::Bytes>>;
  mutable std::mutex mu_;
  size_t max_bytes_;
  size_t bytes_ = 0;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<repo::Id, std::list<Entry>::iterator, repo::IdHash> map_;
};

}  // namespace kura::fs
