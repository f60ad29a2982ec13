#include "service/password_policy.h"

#include <argon2.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <optional>

// Defined in the build directory's common_passwords.cc (tools/common_passwords.py).
namespace kura::service::common_passwords_data {
extern const std::string_view kChunks[];
extern const std::size_t kChunkCount;
extern const std::size_t kEntryCount;
}  // namespace kura::service::common_passwords_data

namespace kura::service {
namespace {

constexpr size_t kMinNameLength = 3;  // code points; shorter ids and name parts are ignored
constexpr size_t kMinStrippedLength = 4;
constexpr size_t kSaltBytes = 16;
constexpr size_t kTagBytes = 32;
constexpr std::string_view kIdeographicSpace = "\xE3\x80\x80";  // U+3000

// Views into the generated chunks, sorted bytewise by the generator.
const std::vector<std::string_view>& common_passwords() {
  static const std::vector<std::string_view> entries = [] {
    namespace data = common_passwords_data;
    std::vector<std::string_view> out;
    out.reserve(data::kEntryCount);
    for (size_t i = 0; i < data::kChunkCount; ++i) {
      std::string_view chunk = data::kChunks[i];
      while (!chunk.empty()) {
        size_t nl = chunk.find('\n');
        out.push_back(chunk.substr(0, nl));
        chunk.remove_prefix(nl == std::string_view::npos ? chunk.size() : nl + 1);
      }
    }
    return out;
  }();
  return entries;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return ascii_lower(c); });
  return out;
}

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Code points of strict UTF-8 (no overlong forms, surrogates or values past U+10FFFF), or
// nothing when the bytes are not UTF-8.
std::optional<size_t> utf8_length(std::string_view s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++count) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (b < 0x80) {
      n = 1, cp = b;
    } else if (b >= 0xC2 && b <= 0xDF) {
      n = 2, cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 3, cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 4, cp = b & 0x07;
    } else {
      return std::nullopt;
    }
    if (s.size() - i < n) return std::nullopt;
    for (size_t k = 1; k < n; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if (!is_continuation(c)) return std::nullopt;
      cp = (cp << 6) | (c & 0x3F);
    }
    bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
    bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    if (overlong || surrogate || cp > 0x10FFFF) return std::nullopt;
    i += n;
  }
  return count;
}

// Counts lead bytes only: for names, which are not validated here.
size_t rough_length(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return !is_continuation(static_cast<unsigned char>(c)); }));
}

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ascii_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_ascii_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_ascii_symbol(char c) {
  auto b = static_cast<unsigned char>(c);
  return b < 0x80 && !is_ascii_digit(c) && !is_ascii_upper(c) && !is_ascii_lower(c);
}

int character_classes(std::string_view pw) {
  bool upper = false, lower = false, digit = false, symbol = false;
  for (char c : pw) {
    upper |= is_ascii_upper(c);
    lower |= is_ascii_lower(c);
    digit |= is_ascii_digit(c);
    symbol |= !is_ascii_upper(c) && !is_ascii_lower(c) && !is_ascii_digit(c);
  }
  return upper + lower + digit + symbol;
}

// Splits on ASCII spaces and U+3000, dropping empty parts.
std::vector<std::string_view> name_parts(std::string_view name) {
  std::vector<std::string_view> parts;
  while (!name.empty()) {
    size_t ascii = name.find(' ');
    size_t wide = name.find(kIdeographicSpace);
    size_t cut = std::min(ascii, wide);
    size_t skip = cut == wide && wide != std::string_view::npos ? kIdeographicSpace.size() : 1;
    if (cut != 0) parts.push_back(name.substr(0, cut));
    if (cut == std::string_view::npos) break;
    name.remove_prefix(cut + skip);
  }
  return parts;
}

bool contains_name(std::string_view lowered_pw, std::string_view name) {
  auto found = [&](std::string_view s) {
    return rough_length(s) >= kMinNameLength &&
           lowered_pw.find(ascii_lower(s)) != std::string::npos;
  };
  std::vector<std::string_view> parts = name_parts(name);
  std::string joined;
  for (std::string_view p : parts) joined += p;
  return found(name) || found(joined) || std::any_of(parts.begin(), parts.end(), found);
}

bool is_common_variant(std::string_view pw) {
  if (is_common_password(pw)) return true;
  size_t end = pw.size();
  while (end > 0 && (is_ascii_digit(pw[end - 1]) || is_ascii_symbol(pw[end - 1]))) --end;
  std::string_view stripped = pw.substr(0, end);
  return end < pw.size() && rough_length(stripped) >= kMinStrippedLength &&
         is_common_password(stripped);
}

bool reused(const PasswordPolicy& policy, std::string_view pw,
            const std::vector<std::string>& previous_hashes) {
  size_t n = std::min(previous_hashes.size(), static_cast<size_t>(std::max(policy.history, 0)));
  return std::any_of(previous_hashes.begin(), previous_hashes.begin() + n,
                     [&](const std::string& h) { return verify_password(h, pw); });
}

}  // namespace

std::vector<PasswordProblem> check_password(const PasswordPolicy& policy, std::string_view password,
                                            std::string_view user_id, std::string_view display_name,
                                            const std::vector<std::string>& previous_hashes) {
  using P = PasswordProblem;
  if (password.size() > kMaxPasswordBytes) return {P::kTooLong};
  std::optional<size_t> length = utf8_length(password);
  if (!length) return {P::kInvalidUtf8};

  std::vector<P> problems;
  std::string lowered = ascii_lower(password);
  if (*length < static_cast<size_t>(std::max(policy.min_length, 0))) {
    problems.push_back(P::kTooShort);
  }
  if (character_classes(password) < policy.min_classes) problems.push_back(P::kTooFewClasses);
  if (rough_length(user_id) >= kMinNameLength &&
      lowered.find(ascii_lower(user_id)) != std::string::npos) {
    problems.push_back(P::kContainsUserId);
  }
  if (contains_name(lowered, display_name)) problems.push_back(P::kContainsName);
  if (is_common_variant(lowered)) problems.push_back(P::kCommon);
  if (reused(policy, password, previous_hashes)) problems.push_back(P::kReused);
  return problems;
}

std::string_view problem_key(PasswordProblem problem) {
  switch (problem) {
    case PasswordProblem::kTooShort:
      return "pw.too_short";
    case PasswordProblem::kTooFewClasses:
      return "pw.too_few_classes";
    case PasswordProblem::kContainsUserId:
      return "pw.contains_user_id";
    case PasswordProblem::kContainsName:
      return "pw.contains_name";
    case PasswordProblem::kCommon:
      return "pw.common";
    case PasswordProblem::kReused:
      return "pw.reused";
    case PasswordProblem::kInvalidUtf8:
      return "pw.invalid_utf8";
    case PasswordProblem::kTooLong:
      return "pw.too_long";
  }
  return "pw.unknown";
}

bool is_common_password(std::string_view password) {
  const std::vector<std::string_view>& list = common_passwords();
  return std::binary_search(list.begin(), list.end(), std::string_view(ascii_lower(password)));
}

size_t common_password_count() { return common_passwords().size(); }

base::StatusOr<std::string> hash_password(const Argon2Params& params, std::string_view password) {
  unsigned char salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) {
    return base::internal_error("argon2id: the random generator gave no salt");
  }
  size_t size = argon2_encodedlen(params.t_cost, params.m_cost_kib, params.parallelism, sizeof salt,
                                  kTagBytes, Argon2_id);
  std::string encoded(size, '\0');
  int rc = argon2id_hash_encoded(params.t_cost, params.m_cost_kib, params.parallelism,
                                 password.data(), password.size(), salt, sizeof salt, kTagBytes,
                                 encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    return base::invalid_argument(std::string("argon2id hash (t=") + std::to_string(params.t_cost) +
                                  ", m=" + std::to_string(params.m_cost_kib) +
                                  " KiB, p=" + std::to_string(params.parallelism) +
                                  "): " + argon2_error_message(rc));
  }
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

bool verify_password(std::string_view encoded, std::string_view password) {
  // libargon2 reads a C string: an embedded NUL would let a valid prefix pass for the whole.
  if (!encoded.starts_with("$argon2id$") || encoded.find('\0') != std::string_view::npos) {
    return false;
  }
  std::string c_encoded(encoded);
  const char empty = '\0';
  const char* pwd = password.empty() ? &empty : password.data();
  return argon2id_verify(c_encoded.c_str(), pwd, password.size()) == ARGON2_OK;
}

}  // namespace kura::service
