#include "service/codes.h"

#include <cctype>
#include <cstdint>
#include <cstring>
#include <vector>

#include "crypto/random.h"

namespace kura::service {

std::string random_grouped_code(size_t chars, std::string* plain) {
  // 256 is a multiple of 32, so `& 31` keeps every character uniform.
  std::vector<uint8_t> raw(chars);
  crypto::system_random()->fill(raw);
  std::string code;
  if (plain) plain->clear();
  for (size_t i = 0; i < chars; ++i) {
    if (i > 0 && i % 4 == 0) code += '-';
    char c = kCrockford[raw[i] & 31];
    code += c;
    if (plain) *plain += c;
  }
  return code;
}

std::string normalize_code(std::string_view typed, size_t chars) {
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (u == 'I' || u == 'L') u = '1';
    if (u == 'O') u = '0';
    if (u == '\0' || !std::strchr(kCrockford, u)) return "";
    out += u;
  }
  return out.size() == chars ? out : "";
}

}  // namespace kura::service
