// Blob types and where a blob sits inside a pack.
#pragma once

#include <cstdint>
#include <string_view>

#include "repo/id.h"

namespace kura::repo {

enum class BlobType : uint8_t { kData = 0, kTree = 1 };

inline std::string_view blob_type_name(BlobType t) { return t == BlobType::kTree ? "tree" : "data"; }

// One blob as a pack header or an index lists it.
struct PackedBlob {
  Id id;
  BlobType type = BlobType::kData;
  uint32_t offset = 0;
  uint32_t length = 0;               // stored bytes (ciphertext incl. IV and MAC)
  uint32_t uncompressed_length = 0;  // 0: stored uncompressed
  bool compressed() const { return uncompressed_length != 0; }
  // Plaintext length of the blob.
  uint32_t plain_length() const {
    return compressed() ? uncompressed_length : length - 32;
  }
  friend bool operator==(const PackedBlob&, const PackedBlob&) = default;
};

}  // namespace kura::repo
