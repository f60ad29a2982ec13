#include "base/bytes.h"

#include <sys/mman.h>

#include <array>
#include <cstring>
#include <new>

namespace kura::base {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kB64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> make_b64_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kB64Alphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kB64Table = make_b64_table();

}  // namespace

std::string hex_encode(ByteSpan data) {
  std::string out(data.size() * 2, '\0');
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kHexDigits[data[i] >> 4];
    out[2 * i + 1] = kHexDigits[data[i] & 15];
  }
  return out;
}

bool hex_decode_into(std::string_view text, MutableByteSpan out) {
  if (text.size() != 2 * out.size()) return false;
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

StatusOr<Bytes> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) return invalid_argument("hex string has odd length");
  Bytes out(text.size() / 2);
  if (!hex_decode_into(text, out)) return invalid_argument("invalid hex character");
  return out;
}

std::string base64_encode(ByteSpan data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = uint32_t(data[i]) << 16 | uint32_t(data[i + 1]) << 8 | data[i + 2];
    out += kB64Alphabet[v >> 18];
    out += kB64Alphabet[(v >> 12) & 63];
    out += kB64Alphabet[(v >> 6) & 63];
    out += kB64Alphabet[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t(data[i]) << 16;
    out += kB64Alphabet[v >> 18];
    out += kB64Alphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = uint32_t(data[i]) << 16 | uint32_t(data[i + 1]) << 8;
    out += kB64Alphabet[v >> 18];
    out += kB64Alphabet[(v >> 12) & 63];
    out += kB64Alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

StatusOr<Bytes> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return invalid_argument("base64 length is not a multiple of 4");
  Bytes out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=') {
        if (i + 4 != text.size() || j < 2) return invalid_argument("misplaced base64 padding");
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return invalid_argument("misplaced base64 padding");
      v[j] = kB64Table[static_cast<uint8_t>(c)];
      if (v[j] < 0) return invalid_argument("invalid base64 character");
    }
    uint32_t w = uint32_t(v[0]) << 18 | uint32_t(v[1]) << 12 | uint32_t(v[2]) << 6 | uint32_t(v[3]);
    out.push_back(static_cast<uint8_t>(w >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(w >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(w));
  }
  return out;
}

namespace {

// A 2 MiB-aligned anonymous mapping of `size` (a multiple of kLargePage), advised for huge
// pages; null when the mapping fails.
void* map_large(size_t size) {
  // One page more than asked, so that an aligned start can be cut out of it.
  size_t span = size + kLargePage;
  void* p = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  auto addr = reinterpret_cast<uintptr_t>(p);
  uintptr_t aligned = (addr + kLargePage - 1) & ~(uintptr_t{kLargePage} - 1);
  if (aligned > addr) ::munmap(p, aligned - addr);
  size_t after = addr + span - (aligned + size);
  if (after > 0) ::munmap(reinterpret_cast<void*>(aligned + size), after);
  // Only advice: without THP the mapping works as well, with small pages.
  ::madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

}  // namespace

LargeBlock::LargeBlock(size_t bytes, bool zeroed) {
  if (bytes >= kLargePage) {
    size_t rounded = (bytes + kLargePage - 1) / kLargePage * kLargePage;
    if (void* p = map_large(rounded)) {
      data_ = p;
      size_ = rounded;
      mapped_ = true;
      return;
    }
  }
  data_ = ::operator new(bytes);
  if (zeroed) std::memset(data_, 0, bytes);
  size_ = bytes;
}

LargeBlock::~LargeBlock() {
  if (mapped_) {
    ::munmap(data_, size_);
  } else {
    ::operator delete(data_);
  }
}

}  // namespace kura::base
