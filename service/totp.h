// The second sign-in factor (REQUIREMENTS A1): TOTP as authenticator apps speak it (RFC 6238,
// HMAC-SHA-1, 6 digits, 30-second steps) and single-use recovery codes for a lost phone.
// Pure functions: the caller keeps the secret, the last accepted step and the stored codes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kura::service {

// 160 bits, the HMAC-SHA-1 key size RFC 4226 recommends.
struct TotpSecret {
  std::array<uint8_t, 20> key{};
};

TotpSecret new_totp_secret();

// RFC 4648 base32 without padding (32 characters), what authenticator apps take.
std::string base32_secret(const TotpSecret& secret);
// Accepts what base32_secret() writes, in either case, with spaces and trailing '=' ignored;
// anything that is not exactly 160 bits of base32 is an error (which never quotes the input).
base::StatusOr<TotpSecret> parse_base32_secret(std::string_view text);

// otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&algorithm=SHA1&digits=6&period=30,
// issuer and account percent-encoded byte by byte (UTF-8 passes through as %XX).
std::string otpauth_uri(const TotpSecret& secret, std::string_view issuer,
                        std::string_view account);

// The 6-digit code for the step containing unix_time, or "" outside years 1970..9999.
std::string totp_code(const TotpSecret& secret, int64_t unix_time);

// Checks a code typed at unix_time against the steps before, at and after it (clock drift).
// ASCII spaces are stripped; anything else but exactly 6 ASCII digits is kInvalidArgument, as
// is a time outside years 1970..9999.
// Each code is accepted once: last_step is the step this secret last accepted (0 = none), and
// a code matching only steps ≤ last_step is refused as a replay. Returns the matched step,
// which the caller stores as the new last_step. A wrong or replayed code is kUnauthenticated.
base::StatusOr<int64_t> verify_totp(const TotpSecret& secret, std::string_view code,
                                    int64_t unix_time, int64_t last_step);

// Recovery codes: `shown` once to the user ("7KQ4-M2XJ-9VB3-HT6P", Crockford base32, 80 bits
// each), `stored` by the database (hex SHA-256 of the normalised code), same order.
struct RecoveryCodes {
  std::vector<std::string> shown;
  std::vector<std::string> stored;
};

RecoveryCodes new_recovery_codes(int n = 10);

// The index in `stored` of the code the user typed (case, dashes and spaces ignored; I and L
// read as 1, O as 0), or nullopt. The caller deletes that entry so it cannot be used again.
std::optional<size_t> match_recovery_code(const std::vector<std::string>& stored,
                                          std::string_view typed);

}  // namespace kura::service
