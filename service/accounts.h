// Accounts: control-panel users, their sign-in and their sessions (REQUIREMENTS A1-A5, A7).
// The rules only: no HTTP (the panel's handlers call these and set cookies), no SQL (the
// MetaStore keeps the rows).
//
// Sign-in is two steps, every time, for everyone:
//   1. ID + password (sign_in_password). An unknown ID, a wrong password, a disabled or a
//      locked account all get the same refusal after the same work (an Argon2 verify against a
//      dummy hash when the ID is unknown) and the same growing delay, so the answer does not
//      tell whether an ID exists. 3 failures in a row lock the account for 30 minutes (unknown
//      IDs are "locked" the same way, in memory).
//   2. A TOTP code or a recovery code (sign_in_second_factor). A user without a second factor
//      yet (first sign-in) must first change the initial password and enroll one; until then
//      the session's stage says what is due and nothing else is reachable.
// Sessions: a 256-bit random ID in the cookie, only its SHA-256 stored; idle limit 15 minutes,
// absolute limit 8 hours; each state-changing request carries the session's CSRF token.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "meta/meta_store.h"
#include "service/password_policy.h"

namespace kura::service {

struct AccountOptions {
  PasswordPolicy password;
  Argon2Params argon2;
  int lock_after = 3;                 // failed sign-ins in a row
  int64_t lock_seconds = 30 * 60;     // until an admin unlocks it earlier
  int64_t delay_base_ms = 250;        // the n-th failure in a row waits base * 2^(n-1) ...
  int64_t delay_max_ms = 4000;        // ... at most this
  int64_t session_idle_seconds = 15 * 60;
  int64_t session_absolute_seconds = 8 * 3600;
  std::string totp_issuer = "kura";
};

// What a session may do next.
enum class SessionStage {
  kSecondFactorDue,      // the password was right; a TOTP or recovery code is due
  kPasswordChangeDue,    // an initial (or reset) password must be changed first
  kEnrollmentDue,        // no second factor yet: enroll one (TOTP) before anything else
  kReady,                // signed in
};

struct SessionInfo {
  meta::User user;
  meta::Session session;
  SessionStage stage = SessionStage::kSecondFactorDue;
  int64_t idle_expires_unix = 0;      // when it ends unless used (the panel warns before)
  int64_t absolute_expires_unix = 0;
};

// The result of the password step.
struct PasswordStep {
  bool accepted = false;
  bool locked = false;      // refused because the account is (now) locked
  int64_t delay_ms = 0;     // how long the caller waits before answering a refusal
  std::string session_id;   // accepted: the cookie value (never stored)
  SessionInfo info;         // accepted: the new session
};

struct TotpEnrollment {
  std::string secret;       // base32, for manual entry
  std::string otpauth_uri;  // what the QR code holds
  std::string qr_svg;
};

class Accounts {
 public:
  // meta and clock must outlive this.
  Accounts(meta::MetaStore* meta, base::Clock* clock, AccountOptions options);

  const AccountOptions& options() const { return options_; }

  // A user with an initial password, to be changed at the first sign-in. kInvalidArgument
  // naming the policy's problems (their catalog keys, comma-separated, after "password: ").
  base::StatusOr<meta::User> create_user(int64_t tenant_id, std::string_view login,
                                         std::string_view display_name, meta::UserRole role,
                                         std::string_view initial_password);

  // Step 1. Refusals are not errors: accepted = false with the delay to apply. Errors are
  // failures of the store only.
  base::StatusOr<PasswordStep> sign_in_password(std::string_view login,
                                                std::string_view password,
                                                std::string_view source_ip);
  // Step 2: a 6-digit TOTP code or a recovery code. kUnauthenticated when wrong (the caller
  // answers as for a wrong password; failures count towards the lock too).
  base::StatusOr<SessionInfo> sign_in_second_factor(std::string_view session_id,
                                                    std::string_view code);

  // The session behind a cookie, if it is live; touches it. kUnauthenticated otherwise (a
  // stale session is removed).
  base::StatusOr<SessionInfo> session(std::string_view session_id);
  // Whether a state-changing request's token is the session's (constant time).
  static bool csrf_ok(const SessionInfo& info, std::string_view token);

  // The signed-in user's new password (old one checked; policy; history). A forced change
  // (stage kPasswordChangeDue) is allowed from that stage.
  base::Status change_password(std::string_view session_id, std::string_view old_password,
                               std::string_view new_password);
  // TOTP enrollment: a new secret to show (nothing stored yet), then its confirmation with a
  // code from the app, which stores it, completes the session's second factor and returns
  // 10 recovery codes to show once.
  base::StatusOr<TotpEnrollment> begin_totp(std::string_view session_id);
  base::StatusOr<std::vector<std::string>> confirm_totp(std::string_view session_id,
                                                        std::string_view secret,
                                                        std::string_view code);

  base::Status sign_out(std::string_view session_id);
  base::Status sign_out_everywhere(std::string_view session_id);
  // An admin's actions on another user (authorisation is the caller's).
  base::Status unlock(int64_t user_id);
  base::StatusOr<int64_t> end_sessions(int64_t user_id);

  // The wait before answering the n-th refusal in a row: base * 2^(n-1), at most delay_max_ms.
  int64_t delay_for(int failures_in_a_row) const;

 private:
  int64_t now() { return clock_->now().sec; }
  // Counts a failure for a login (known or not) and says whether it is locked now.
  struct Attempt {
    int failures = 0;
    int64_t locked_until = 0;
    int64_t last = 0;
  };
  Attempt note_failure(const std::string& key, int64_t now);
  Attempt attempt_of(const std::string& key, int64_t now);
  void forget_attempts(const std::string& key);
  base::StatusOr<SessionInfo> live_session(std::string_view session_id, bool touch);
  SessionStage stage_of(const meta::User& user, const meta::Session& session);
  base::StatusOr<PasswordStep> refuse(const std::string& key, int64_t now, bool locked_in_store);

  meta::MetaStore* meta_;
  base::Clock* clock_;
  AccountOptions options_;
  std::string dummy_hash_;  // verified against for unknown IDs: the same work as a real one
  std::mutex mu_;
  std::map<std::string, Attempt> attempts_;  // by lowercased login; guarded by mu_
};

// The cookie value's stored form: hex SHA-256.
std::string session_hash(std::string_view session_id);

}  // namespace kura::service
