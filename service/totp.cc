#include "service/totp.h"

#include <liboath/oath.h>
#include <openssl/crypto.h>

#include <cctype>
#include <cstring>

#include "base/bytes.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "service/codes.h"

namespace kura::service {
namespace {

constexpr int kDigits = 6;
constexpr int64_t kStepSeconds = 30;
constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr size_t kRecoveryChars = 16;  // 80 bits
// 9999-12-31T23:59:59Z: keeps step arithmetic far from overflow.
constexpr int64_t kLastTime = 253402300799;

// liboath keeps global state (its crypto backend); a function-local static runs oath_init()
// exactly once even when the first sign-ins arrive on several threads together.
bool oath_ready() {
  static const bool ready = oath_init() == OATH_OK;
  return ready;
}

// The code for time step `step`, or "" if liboath fails (it does not for valid arguments).
std::string code_for_step(const TotpSecret& secret, int64_t step) {
  char out[kDigits + 1] = {};
  if (!oath_ready() || step < 0) return "";
  int rc =
      oath_totp_generate(reinterpret_cast<const char*>(secret.key.data()), secret.key.size(),
                         static_cast<time_t>(step * kStepSeconds), kStepSeconds, 0, kDigits, out);
  return rc == OATH_OK ? std::string(out, kDigits) : "";
}

int base32_value(char c) {
  c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const char* p = c ? std::strchr(kBase32, c) : nullptr;
  return p ? static_cast<int>(p - kBase32) : -1;
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Uppercase Crockford without separators, or "" if the text cannot be a recovery code.
std::string normalize_recovery_code(std::string_view typed) {
  return normalize_code(typed, kRecoveryChars);
}

// A single SHA-256 suffices (no salt, no slow hash): each code is 80 random bits, so there is
// no dictionary to precompute and brute force over 2^80 is out of reach whatever the speed.
std::string recovery_hash(std::string_view normalized) {
  return base::hex_encode(crypto::sha256(base::as_bytes(normalized)));
}

}  // namespace

// --- TOTP ------------------------------------------------------------------------------------

TotpSecret new_totp_secret() {
  TotpSecret s;
  crypto::system_random()->fill(s.key);
  return s;
}

std::string base32_secret(const TotpSecret& secret) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : secret.key) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kBase32[(acc >> bits) & 31];
    }
  }
  // 160 bits are exactly 32 characters: nothing left over, no padding.
  return out;
}

base::StatusOr<TotpSecret> parse_base32_secret(std::string_view text) {
  std::string clean;
  for (char c : text) {
    if (c != ' ') clean += c;
  }
  while (!clean.empty() && clean.back() == '=') clean.pop_back();
  constexpr size_t kChars = 32;
  if (clean.size() != kChars) {
    return base::invalid_argument("TOTP secret: expected 32 base32 characters (160 bits), got " +
                                  std::to_string(clean.size()));
  }
  TotpSecret s;
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (char c : clean) {
    int v = base32_value(c);
    if (v < 0) return base::invalid_argument("TOTP secret: not base32 (A-Z, 2-7)");
    acc = (acc << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      s.key[n++] = static_cast<uint8_t>(acc >> bits);
    }
  }
  return s;
}

std::string otpauth_uri(const TotpSecret& secret, std::string_view issuer,
                        std::string_view account) {
  std::string iss = percent_encode(issuer);
  return "otpauth://totp/" + iss + ":" + percent_encode(account) +
         "?secret=" + base32_secret(secret) + "&issuer=" + iss +
         "&algorithm=SHA1&digits=6&period=30";
}

std::string totp_code(const TotpSecret& secret, int64_t unix_time) {
  if (unix_time < 0 || unix_time > kLastTime) return "";
  return code_for_step(secret, unix_time / kStepSeconds);
}

base::StatusOr<int64_t> verify_totp(const TotpSecret& secret, std::string_view code,
                                    int64_t unix_time, int64_t last_step) {
  std::string digits;
  for (char c : code) {
    if (c != ' ') digits += c;
  }
  bool well_formed = digits.size() == kDigits;
  for (char c : digits) well_formed = well_formed && c >= '0' && c <= '9';
  if (!well_formed) return base::invalid_argument("the code must be 6 digits");
  if (unix_time < 0 || unix_time > kLastTime) {
    return base::invalid_argument("TOTP: time " + std::to_string(unix_time) +
                                  " is outside 1970..9999");
  }
  if (!oath_ready()) return base::internal_error("TOTP: liboath failed to initialise");

  // Every step in the window is computed and compared, matched or not, so the time taken
  // does not tell which step (if any) the code belongs to.
  const int64_t now_step = unix_time / kStepSeconds;
  int64_t accepted = 0;
  bool replayed = false;
  for (int64_t step = now_step - 1; step <= now_step + 1; ++step) {
    std::string expected = code_for_step(secret, step);
    if (expected.size() != kDigits) continue;
    bool match = CRYPTO_memcmp(expected.data(), digits.data(), kDigits) == 0;
    if (match && step > last_step) accepted = step;
    if (match && step <= last_step) replayed = true;
  }
  if (accepted > 0) return accepted;
  if (replayed) return base::unauthenticated("this code was already used; wait for the next one");
  return base::unauthenticated("the code is not valid");
}

// --- Recovery codes --------------------------------------------------------------------------

RecoveryCodes new_recovery_codes(int n) {
  RecoveryCodes codes;
  for (int i = 0; i < n; ++i) {
    std::string normalized;
    std::string shown = random_grouped_code(kRecoveryChars, &normalized);
    codes.shown.push_back(std::move(shown));
    codes.stored.push_back(recovery_hash(normalized));
  }
  return codes;
}

std::optional<size_t> match_recovery_code(const std::vector<std::string>& stored,
                                          std::string_view typed) {
  std::string normalized = normalize_recovery_code(typed);
  if (normalized.empty()) return std::nullopt;
  std::string hash = recovery_hash(normalized);
  std::optional<size_t> found;
  for (size_t i = 0; i < stored.size(); ++i) {
    if (stored[i].size() != hash.size()) continue;
    if (CRYPTO_memcmp(stored[i].data(), hash.data(), hash.size()) == 0 && !found) found = i;
  }
  return found;
}

}  // namespace kura::service
