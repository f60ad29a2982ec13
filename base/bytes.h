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

// Memory for large buffers, in a mapping of its own: 2 MiB aligned and marked for
// transparent huge pages (where the kernel's THP setting is "madvise" or "always"), so that
// touching it costs one page fault per 2 MiB instead of one per 4 KiB. It starts zeroed.
// Sizes are rounded up to 2 MiB. map_large returns null when the mapping fails.
constexpr size_t kLargePage = 2u << 20;
void* map_large(size_t size);
void unmap_large(void* p, size_t size);

// Scratch space that is written before it is read (compression output, sealing): growing it
// does not zero-fill, as growing a Bytes does, so only the pages written are touched. From
// 2 MiB on it lives in map_large memory.
class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ScratchBuffer(ScratchBuffer&& o) noexcept { *this = std::move(o); }
  ScratchBuffer& operator=(ScratchBuffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      capacity_ = std::exchange(o.capacity_, 0);
      mapped_ = std::exchange(o.mapped_, false);
    }
    return *this;
  }
  ~ScratchBuffer() { release(); }

  uint8_t* data() { return data_; }
  size_t capacity() const { return capacity_; }
  // At least n bytes; the old content is not kept.
  void reserve(size_t n) {
    if (capacity_ >= n) return;
    release();
    if (n >= kLargePage) {
      size_t rounded = (n + kLargePage - 1) / kLargePage * kLargePage;
      if (void* p = map_large(rounded)) {
        data_ = static_cast<uint8_t*>(p);
        capacity_ = rounded;
        mapped_ = true;
        return;
      }
    }
    data_ = new uint8_t[n];
    capacity_ = n;
  }
  void release() {
    if (mapped_) {
      unmap_large(data_, capacity_);
    } else {
      delete[] data_;
    }
    data_ = nullptr;
    capacity_ = 0;
    mapped_ = false;
  }
  // Gives the memory back if it grew past keep: a rare large item does not pin it.
  void trim(size_t keep) {
    if (capacity_ > keep) release();
  }

 private:
  uint8_t* data_ = nullptr;
  size_t capacity_ = 0;
  bool mapped_ = false;
};

// n value-initialised Ts, from 2 MiB on in map_large memory, which the kernel hands out
// zeroed: no pass to clear it and few page faults. T must be an implicit-lifetime type (an
// aggregate, say) whose value-initialised state is all zero bytes.
template <typename T>
class ZeroedArray {
 public:
  ZeroedArray() = default;
  explicit ZeroedArray(size_t n) : size_(n) {
    if (n * sizeof(T) >= kLargePage) {
      if (void* p = map_large(n * sizeof(T))) {
        data_ = static_cast<T*>(p);
        mapped_ = true;
        return;
      }
    }
    data_ = new T[n]();
  }
  ZeroedArray(const ZeroedArray&) = delete;
  ZeroedArray& operator=(const ZeroedArray&) = delete;
  ZeroedArray(ZeroedArray&& o) noexcept { swap(o); }
  ZeroedArray& operator=(ZeroedArray&& o) noexcept {
    ZeroedArray(std::move(o)).swap(*this);
    return *this;
  }
  ~ZeroedArray() {
    if (mapped_) {
      unmap_large(data_, size_ * sizeof(T));
    } else {
      delete[] data_;
    }
  }
  void swap(ZeroedArray& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(mapped_, o.mapped_);
  }

  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
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
