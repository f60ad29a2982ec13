#include "fs/blob_cache.h"

namespace kura::fs {

std::shared_ptr<const base::Bytes> BlobCache::get(const repo::Id& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = map_.find(id);
  if (it == map_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void BlobCache::add(const repo::Id& id, std::shared_ptr<const base::Bytes> blob) {
  if (blob->size() > max_bytes_) return;
  std::lock_guard<std::mutex> l(mu_);
  if (map_.count(id)) return;
  bytes_ += blob->size();
  lru_.emplace_front(id, std::move(blob));
  map_[id] = lru_.begin();
  while (bytes_ > max_bytes_) {
    bytes_ -= lru_.back().second->size();
    map_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

size_t BlobCache::bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return bytes_;
}

}  // namespace kura::fs
