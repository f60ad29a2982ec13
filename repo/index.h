// The in-memory index: which pack holds each blob. A compact open-addressing table keyed by
// blob id (ids are SHA-256, so their first bytes are already a good hash); pack ids are
// interned to 32-bit numbers. Not thread-safe: Repository guards it.
#pragma once

#include <functional>
#include <unordered_map>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "repo/blob.h"

namespace kura::repo {

struct IndexEntry {
  Id id;
  uint32_t pack = 0;  // interned pack number, see Index::pack_id
  uint32_t offset = 0;
  uint32_t length = 0;
  uint32_t uncompressed_length = 0;
  BlobType type = BlobType::kData;
  bool used = false;

  PackedBlob blob() const { return {id, type, offset, length, uncompressed_length}; }
};

class Index {
 public:
  Index();

  uint32_t intern_pack(const Id& pack);
  const Id& pack_id(uint32_t pack) const { return packs_[pack]; }
  size_t pack_count() const { return packs_.size(); }

  // Adds one location of a blob. The same blob may be added in several packs; adding the
  // same (blob, pack, offset) twice is a no-op.
  void add(const PackedBlob& blob, uint32_t pack);
  // Room for n blobs in all, so adding a large index file rehashes at most once.
  void reserve(size_t n);
  // First known location, or nullptr.
  const IndexEntry* find(const Id& id, BlobType type) const;
  // Every known location.
  std::vector<const IndexEntry*> find_all(const Id& id, BlobType type) const;
  bool has(const Id& id, BlobType type) const { return find(id, type) != nullptr; }
  size_t size() const { return count_; }

  void for_each(const std::function<void(const IndexEntry&)>& fn) const;

 private:
  size_t slot_of(const Id& id) const;
  void grow();
  void rehash(size_t slots);

  base::ZeroedArray<IndexEntry> slots_;  // zero bytes: an unused slot
  size_t count_ = 0;
  std::vector<Id> packs_;
  std::unordered_map<Id, uint32_t, IdHash> pack_numbers_;
};

// One pack's entry in an index file.
struct IndexPack {
  Id id;
  std::vector<PackedBlob> blobs;
};

// An index file's JSON (RESTIC_FORMAT.md §6). Blobs with uncompressed_length get the field.
base::Bytes encode_index_json(const std::vector<IndexPack>& packs,
                              const std::vector<Id>& supersedes = {});
// Strict decoding with clear errors, with Go's encoding/json rules (keys matched without
// case, null leaves a field unset); unknown fields are ignored.
base::StatusOr<std::vector<IndexPack>> decode_index_json(base::ByteSpan json);

}  // namespace kura::repo
