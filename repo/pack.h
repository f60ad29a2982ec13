// Pack files (RESTIC_FORMAT.md §5): blobs back to back, then the encrypted header, then its
// length as uint32 LE.
#pragma once

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "base/bytes.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "repo/blob.h"

namespace kura::repo {

constexpr size_t kHeaderEntrySize = 37;
constexpr size_t kCompressedHeaderEntrySize = 41;
constexpr uint32_t kMaxHeaderLength = 16 * 1024 * 1024;

// Collects already-encrypted blobs into one pack. Not thread-safe.
class PackBuilder {
 public:
  explicit PackBuilder(size_t reserve = 0) { data_.reserve(reserve); }
  // Builds into a recycled buffer (its contents are dropped, its capacity kept): writers that
  // make many packs reuse the same few buffers instead of faulting in fresh pages each time.
  PackBuilder(base::Bytes buffer, size_t reserve) : data_(std::move(buffer)) {
    data_.clear();
    data_.reserve(reserve);
  }
  // `sealed` is IV||ciphertext||MAC of the (possibly compressed) blob.
  void add(const Id& id, BlobType type, base::ByteSpan sealed, uint32_t uncompressed_length);
  size_t size() const { return data_.size(); }
  size_t count() const { return blobs_.size(); }
  bool empty() const { return blobs_.empty(); }
  size_t header_size() const;
  const std::vector<PackedBlob>& blobs() const { return blobs_; }
  // Appends the encrypted header and its length; returns the whole pack file.
  base::Bytes finish(const crypto::Key& key, crypto::RandomSource& random);

 private:
  base::Bytes data_;
  std::vector<PackedBlob> blobs_;
};

// The tail of a pack holding `blobs`: the encrypted header, then its length as uint32 LE.
base::Bytes seal_pack_tail(const std::vector<PackedBlob>& blobs, const crypto::Key& key,
                           crypto::RandomSource& random);

// Writes a pack into a backend's staged file (a temporary file) as blobs arrive, hashing it
// on the way, so a pack being filled or uploaded costs only a small batch buffer. Not
// thread-safe.
class PackWriter {
 public:
  explicit PackWriter(std::unique_ptr<backend::StagedFile> file) : file_(std::move(file)) {}
  // `sealed` is IV||ciphertext||MAC of the (possibly compressed) blob.
  base::Status add(const Id& id, BlobType type, base::ByteSpan sealed,
                   uint32_t uncompressed_length);
  uint64_t size() const { return written_ + batch_.size(); }
  bool empty() const { return blobs_.empty(); }
  const std::vector<PackedBlob>& blobs() const { return blobs_; }
  // Whether the header has room for one more entry (restic's HeaderFull): a header above
  // kMaxHeaderLength could not be read back.
  bool header_full() const {
    return header_entries_ + kCompressedHeaderEntrySize + crypto::kCiphertextOverhead > kMaxHeaderLength;
  }
  // Appends the header; returns the pack's id (the SHA-256 of the whole file).
  base::StatusOr<Id> finish(const crypto::Key& key, crypto::RandomSource& random);
  backend::StagedFile& file() { return *file_; }

 private:
  base::Status write(base::ByteSpan data);
  base::Status flush();

  std::unique_ptr<backend::StagedFile> file_;
  crypto::Sha256 hash_;
  base::Bytes batch_;  // appended in large writes: one syscall per batch, not per blob
  uint64_t written_ = 0;
  uint64_t header_entries_ = 0;  // bytes of header entries so far
  std::vector<PackedBlob> blobs_;
};

// Decodes the plaintext of a pack header. Checks entry types (compressed types only in v2)
// and that the blobs tile [0, data_end) without gaps.
base::StatusOr<std::vector<PackedBlob>> decode_pack_header(base::ByteSpan plain, int repo_version,
                                                           uint64_t data_end);

// Reads the header from the tail of a pack file held in memory (the whole pack or its last
// bytes). `file_size` is the full pack size; `tail` its last tail.size() bytes.
base::StatusOr<std::vector<PackedBlob>> parse_pack_tail(const crypto::Key& key, base::ByteSpan tail,
                                                        uint64_t file_size, int repo_version);

}  // namespace kura::repo
