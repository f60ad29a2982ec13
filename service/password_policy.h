// Password rules and storage for user accounts (REQUIREMENTS A3, A5): the policy check a new
// password must pass, and Argon2id hashing. Pure library code: no HTTP, no database.
//
// The list of common and breached passwords is generated at build time
// (tools/common_passwords.py) from Debian's python3-zxcvbn and compiled in: zxcvbn's
// "passwords" frequency list, the 30,000 most common passwords of Mark Burnett's 10 million
// passwords set (MIT licence; Debian 12: 4.4.28-3). John the Ripper's password.lst (Debian
// john-data) can be added with the script's --john, but is not compiled in: Debian's copyright
// file puts john-data under the GPL-2. common_password_count() gives the figure of the build.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kura::service {

// Longer passwords are refused: it bounds Argon2's input and the work one request can cause.
inline constexpr size_t kMaxPasswordBytes = 256;

// The values; they come from configuration later.
struct PasswordPolicy {
  int min_length = 8;   // in Unicode code points
  int min_classes = 3;  // of upper, lower, digit, symbol (ASCII; any non-ASCII is a symbol)
  int history = 5;      // the new password may not be one of the last `history`
};

enum class PasswordProblem {
  kTooShort,
  kTooFewClasses,
  kContainsUserId,
  kContainsName,
  kCommon,
  kReused,
  kInvalidUtf8,
  kTooLong,
};

// Every problem found, in the enum's order; empty means acceptable.
// - A password over kMaxPasswordBytes or not valid UTF-8 gets only kTooLong / kInvalidUtf8:
//   nothing else is checked (in particular no Argon2 work is done on it).
// - Containment of user_id and display_name is case-insensitive (ASCII). Counted are the
//   whole display name, the name with its spaces removed, and each part between spaces
//   (ASCII or ideographic U+3000) of at least 3 characters. user_id and names shorter than
//   3 characters are not checked: they would refuse most passwords.
// - kCommon: the password, or the password with trailing ASCII digits and symbols removed
//   (when at least 4 characters remain), is in the common-passwords list.
// - previous_hashes: the user's earlier Argon2id encoded hashes, newest first; only the first
//   `history` are checked, and the password must verify against none of them.
std::vector<PasswordProblem> check_password(const PasswordPolicy& policy, std::string_view password,
                                            std::string_view user_id, std::string_view display_name,
                                            const std::vector<std::string>& previous_hashes);

// The message-catalog key of a problem ("pw.too_short", ...; i18n/server.*.msg).
std::string_view problem_key(PasswordProblem problem);

// Whether the list holds the password, compared ASCII-case-insensitively.
bool is_common_password(std::string_view password);
size_t common_password_count();

// Argon2id costs; the defaults are RFC 9106's second recommended option (64 MiB, 3 passes).
struct Argon2Params {
  uint32_t t_cost = 3;
  uint32_t m_cost_kib = 64 * 1024;
  uint32_t parallelism = 1;
};

// The PHC-encoded hash "$argon2id$v=19$m=...,t=...,p=...$salt$hash" with a fresh 16-byte
// random salt and a 32-byte tag. InvalidArgument when libargon2 refuses the parameters.
base::StatusOr<std::string> hash_password(const Argon2Params& params, std::string_view password);

// Whether the password matches an encoded Argon2id hash (constant-time comparison inside
// libargon2). False, never an error, for a malformed or non-Argon2id encoding.
bool verify_password(std::string_view encoded, std::string_view password);

}  // namespace kura::service
