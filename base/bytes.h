// Byte buffers and their text encodings (hex, base64).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace kura::base {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;
using MutableByteSpan = std::span<uint8_t>;

// Buffers this large or larger get a mapping of their own, 2 MiB aligned and marked for
// transparent huge pages (where the kernel's THP setting is "madvise" or "always"), so that
// touching them costs one page fault per 2 MiB instead of one per 4 KiB.
constexpr size_t kLargePage = 2u << 20;

// At least `bytes` of memory: from kLargePage on such a mapping (rounded up to whole 2 MiB,
// zeroed by the kernel), below that from the heap, zero-filled only when `zeroed`. The one
// owner of ScratchBuffer's and ZeroedArray's memory; moves, never copies.
class LargeBlock {
 public:
  LargeBlock() = default;
  LargeBlock(size_t bytes, bool zeroed);
  LargeBlock(LargeBlock&& o) noexcept { swap(o); }
  LargeBlock& operator=(LargeBlock&& o) noexcept {
    if (this != &o) {
      LargeBlock gone(std::move(*this));
      swap(o);
    }
    return *this;
  }
  ~LargeBlock();
  void swap(LargeBlock& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(mapped_, o.mapped_);
  }

  void* data() const { return data_; }
  size_t size() const { return size_; }  // usable bytes: at least those asked for

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
};

// Scratch space that is written before it is read (compression output, sealing): growing it
// does not zero-fill, as growing a Bytes does, so only the pages written are touched. From
// 2 MiB on it lives in a huge-page mapping (LargeBlock).
class ScratchBuffer {
 public:
  uint8_t* data() { return static_cast<uint8_t*>(block_.data()); }
  size_t capacity() const { return block_.size(); }
  // At least n bytes; the old content is not kept.
  void reserve(size_t n) {
    if (capacity() >= n) return;
    release();  // before the new block: the old one is not held alongside it
    block_ = LargeBlock(n, /*zeroed=*/false);
  }
  void release() { block_ = LargeBlock(); }
  // Gives the memory back if it grew past keep: a rare large item does not pin it.
  void trim(size_t keep) {
    if (capacity() > keep) release();
  }

 private:
  LargeBlock block_;
};

// n value-initialised Ts in zeroed memory (LargeBlock): from 2 MiB on the kernel's zero pages,
// so there is no pass to clear them and few page faults. T must be an implicit-lifetime type
// (an aggregate, say) whose value-initialised state is all zero bytes.
template <typename T>
class ZeroedArray {
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);

 public:
  ZeroedArray() = default;
  explicit ZeroedArray(size_t n) : block_(n * sizeof(T), /*zeroed=*/true), size_(n) {}
  ZeroedArray(ZeroedArray&& o) noexcept { swap(o); }
  ZeroedArray& operator=(ZeroedArray&& o) noexcept {
    if (this != &o) {
      ZeroedArray gone(std::move(*this));
      swap(o);
    }
    return *this;
  }
  void swap(ZeroedArray& o) noexcept {
    block_.swap(o.block_);
    std::swap(size_, o.size_);
  }

  size_t size() const { return size_; }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }

 private:
  T* data() const { return static_cast<T*>(block_.data()); }

  LargeBlock block_;
  size_t size_ = 0;
};

inline ByteSpan as_bytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view as_chars(ByteSpan b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}
inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// Lowercase hex.
std::string hex_encode(ByteSpan data);
// Accepts upper- and lowercase; fails on odd length or a non-hex character.
StatusOr<Bytes> hex_decode(std::string_view text);
// The same into out, without allocating: false unless text is exactly 2 * out.size() hex
// characters (out is then partly written).
bool hex_decode_into(std::string_view text, MutableByteSpan out);
// The value of one hex digit (either case), or -1.
inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Standard base64 with padding (RFC 4648 §4), as Go's encoding/json writes []byte.
std::string base64_encode(ByteSpan data);
// Strict: padding required, no whitespace, no other alphabet.
StatusOr<Bytes> base64_decode(std::string_view text);

// Little-endian integer helpers for binary formats.
inline uint32_t load_le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline void store_le32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v >> 16);
  p[3] = uint8_t(v >> 24);
}
inline uint64_t load_le64(const uint8_t* p) {
  return uint64_t(load_le32(p)) | uint64_t(load_le32(p + 4)) << 32;
}
inline void store_le64(uint8_t* p, uint64_t v) {
  store_le32(p, uint32_t(v));
  store_le32(p + 4, uint32_t(v >> 32));
}

}  // namespace kura::base
