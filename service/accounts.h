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
//   2. A TOTP code or a recovery code (sign_in_second_factor), or a WebAuthn assertion
//      (begin_webauthn_sign_in / finish_webauthn_sign_in). A user without a second factor
//      enrolls one (TOTP or a WebAuthn key) instead: at the first sign-in after changing the
//      initial password, after an approved factor reset straight after the password. Until
//      then the session's stage says what is due and nothing else is reachable. Failures of step 2, whichever factor, count
//      towards the same lock as wrong passwords.
// Factors: a user has a TOTP authenticator, WebAuthn keys, or both, and 10 single-use recovery
// codes. The last factor cannot be removed by its user; only a factor reset (requested by one
// admin, approved by another) takes all of them away.
// Sessions: a 256-bit random ID in the cookie, only its SHA-256 stored; idle limit 15 minutes,
// absolute limit 8 hours; each state-changing request carries the session's CSRF token.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
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
  // WebAuthn: the relying party is the panel's host name (no scheme, no port), origin exactly
  // as the browser reports it, rp_name what the authenticator shows.
  std::string rp_id = "localhost";
  std::string origin = "https://localhost";
  std::string rp_name = "kura";
  int64_t webauthn_timeout_seconds = 5 * 60;  // a challenge's life, and the browser's timeout
  size_t max_pending_challenges = 10000;      // over all sessions; more is kResourceExhausted
  int64_t factor_reset_seconds = 24 * 3600;   // an unapproved reset request lapses then
};

// What a session may do next.
enum class SessionStage {
  kSecondFactorDue,      // the password was right; a TOTP code, key or recovery code is due
  kPasswordChangeDue,    // an initial (or reset) password must be changed first
  kEnrollmentDue,        // no second factor yet: enroll one (TOTP or WebAuthn) first
  kReady,                // signed in
};

struct SessionInfo {
  meta::User user;
  meta::Session session;
  SessionStage stage = SessionStage::kSecondFactorDue;
  bool has_totp = false;  // what step 2 may use (besides a recovery code)
  bool has_webauthn = false;
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

// One of a user's second factors, as the panel lists it.
struct Factor {
  std::string id;    // "totp", or "webauthn:<n>" (n: the credential's row id)
  std::string kind;  // "totp" or "webauthn"
  std::string name;  // the key's label; "" for TOTP (the panel names it from its catalog)
  int64_t created_unix = 0;
  int64_t last_used_unix = 0;  // 0: never used to sign in (TOTP: the last code's time step)
};

struct FactorList {
  std::vector<Factor> factors;  // TOTP first, then the keys in the order they were added
  int recovery_codes_left = 0;
};

// A WebAuthn key added by finish_webauthn_registration.
struct WebAuthnRegistration {
  Factor factor;
  std::vector<std::string> recovery_codes;  // to show once; empty unless new ones were made
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
  // code from the app, which stores it. Allowed in stage kEnrollmentDue, and in kReady for a
  // user who has no TOTP yet (kFailedPrecondition otherwise; remove the old one first).
  // In kEnrollmentDue (the first factor) it completes the session's second factor and
  // returns 10 new recovery codes to show once. In kReady the session is left as it is and
  // the recovery codes too: the result is empty, unless the user had none left, then it is
  // 10 new ones.
  base::StatusOr<TotpEnrollment> begin_totp(std::string_view session_id);
  base::StatusOr<std::vector<std::string>> confirm_totp(std::string_view session_id,
                                                        std::string_view secret,
                                                        std::string_view code);

  // WebAuthn (W3C WebAuthn L2, ES256; service/webauthn.h checks the messages). Each begin_*
  // issues a challenge bound to the session, one per session and purpose (a new begin
  // replaces the pending one), used once by the matching finish_* whatever its outcome, and
  // valid for webauthn_timeout_seconds. Binary values travel base64url without padding.
  //
  // Adding a key (stages kEnrollmentDue and kReady, like TOTP; name: 1-64 characters of
  // UTF-8, no control characters). begin returns PublicKeyCredentialCreationOptions as JSON:
  //   {"rp":{"id":rp_id,"name":rp_name},
  //    "user":{"id":<b64url, 32 bytes derived from rp_id and the user id>,"name":login,
  //            "displayName":display_name},
  //    "challenge":<b64url>,"pubKeyCredParams":[{"type":"public-key","alg":-7}],
  //    "timeout":<ms>,"attestation":"none",
  //    "excludeCredentials":[{"type":"public-key","id":<b64url>}, ...the user's keys],
  //    "authenticatorSelection":{"userVerification":"preferred","residentKey":"discouraged",
  //                              "requireResidentKey":false}}
  // finish takes the browser's clientDataJSON and attestationObject (decoded) and stores the
  // key. As the first factor (kEnrollmentDue) it completes the session's second factor and
  // returns 10 new recovery codes; in kReady recovery codes as for TOTP. Errors: those of
  // verify_registration (kUnauthenticated, kInvalidArgument), kAlreadyExists for a key that
  // is registered already, kFailedPrecondition without a pending challenge.
  base::StatusOr<std::string> begin_webauthn_registration(std::string_view session_id,
                                                          std::string_view name);
  base::StatusOr<WebAuthnRegistration> finish_webauthn_registration(
      std::string_view session_id, std::string_view name, base::ByteSpan client_data_json,
      base::ByteSpan attestation_object);
  // Step 2 with a key (stage kSecondFactorDue, for a user who has keys; kFailedPrecondition
  // otherwise). begin returns PublicKeyCredentialRequestOptions as JSON:
  //   {"challenge":<b64url>,"rpId":rp_id,"timeout":<ms>,"userVerification":"preferred",
  //    "allowCredentials":[{"type":"public-key","id":<b64url>}, ...the user's keys]}
  // finish takes the credential's id (base64url, as the browser's "id") and the decoded
  // clientDataJSON, authenticatorData and signature. Every refusal (no or expired challenge,
  // a key that is not this user's, wrong challenge, origin or RP, a bad signature, a sign
  // count that did not grow: a cloned key) is kUnauthenticated and counts towards the lock
  // like a wrong TOTP code ("the account is locked" once it is, and the user's sessions end).
  base::StatusOr<std::string> begin_webauthn_sign_in(std::string_view session_id);
  base::StatusOr<SessionInfo> finish_webauthn_sign_in(std::string_view session_id,
                                                      std::string_view credential_id_b64url,
                                                      base::ByteSpan client_data_json,
                                                      base::ByteSpan authenticator_data,
                                                      base::ByteSpan signature);

  // The signed-in user's factors (stage kReady).
  base::StatusOr<FactorList> list_factors(std::string_view session_id);
  // The kinds of second factor a user has, for admins' user lists: "totp" and/or "webauthn"
  // (in that order; empty: none yet, the next sign-in enrolls one).
  base::StatusOr<std::vector<std::string>> factor_kinds(int64_t user_id);
  // Removes a factor by its Factor::id (stage kReady). kNotFound: no such factor of this
  // user; kFailedPrecondition "factor.last: ..." for the user's last one.
  base::Status remove_factor(std::string_view session_id, std::string_view factor_id);
  // 10 new recovery codes replacing the old ones, to show once (stage kReady).
  base::StatusOr<std::vector<std::string>> regenerate_recovery_codes(std::string_view session_id);

  // Factor reset (a lost phone or key): one admin requests, another approves; then the
  // user's TOTP, keys, recovery codes and sessions are gone and the next sign-in goes from
  // the password to kEnrollmentDue. Who may do this for whom is the caller's to decide; here
  // requester == target is kPermissionDenied, and meta refuses an approver who is the
  // requester or the target (kPermissionDenied) and a second pending request
  // (kAlreadyExists). A request lapses after factor_reset_seconds.
  base::StatusOr<meta::FactorReset> request_factor_reset(int64_t requester_user_id,
                                                         int64_t target_user_id);
  base::StatusOr<meta::FactorReset> approve_factor_reset(int64_t approver_user_id,
                                                         int64_t reset_id);

  base::Status sign_out(std::string_view session_id);
  base::Status sign_out_everywhere(std::string_view session_id);
  // The server operator's break-glass (`kura-server user reset-factors`, run on the server by
  // someone who could read its database anyway): the user's TOTP, keys, recovery codes and
  // sessions go at once, without a second admin; the next sign-in enrolls again.
  base::Status remove_all_factors(int64_t user_id);
  // A random initial password that passes the policy (shown once, changed at first sign-in).
  static std::string new_initial_password();

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
  // Fills info.stage and the has_* flags. A store error is an error, never "no factor" (that
  // would open enrollment to someone who knows only the password).
  base::Status fill_stage(SessionInfo& info);
  // A refused second factor: counts the failure; "the account is locked" once it is.
  base::Status second_factor_refused(const meta::User& user, int64_t now, std::string message);
  // A passed second factor: the session is signed in, the failures are forgotten.
  base::StatusOr<SessionInfo> second_factor_done(const SessionInfo& info,
                                                 std::string_view session_id, int64_t now);
  // A live session that may add a factor (kEnrollmentDue or kReady).
  base::StatusOr<SessionInfo> enrolling_session(std::string_view session_id);
  // After a factor was added in `info` (the session as it was before): the first factor
  // completes the sign-in and gets new recovery codes; later ones get new codes only when
  // none are left (else the result is empty and the old ones stay).
  base::StatusOr<std::vector<std::string>> finish_enrollment(const SessionInfo& info);
  base::StatusOr<SessionInfo> ready_session(std::string_view session_id);

  // Pending WebAuthn challenges, by session hash and purpose.
  enum class Purpose { kRegister, kSignIn };
  struct Challenge {
    std::string value;  // base64url
    int64_t expires = 0;
  };
  base::StatusOr<std::string> issue_challenge(const std::string& session_hash, Purpose p);
  // The pending challenge, removed (each once); nullopt when there is none or it expired.
  std::optional<std::string> take_challenge(const std::string& session_hash, Purpose p);
  base::StatusOr<PasswordStep> refuse(const std::string& key, int64_t now, bool known,
                                      bool locked_in_store);

  meta::MetaStore* meta_;
  base::Clock* clock_;
  AccountOptions options_;
  std::string dummy_hash_;  // verified against for unknown IDs: the same work as a real one
  std::mutex mu_;
  std::map<std::string, Attempt> attempts_;  // by lowercased login; guarded by mu_
  std::map<std::pair<std::string, Purpose>, Challenge> challenges_;  // guarded by mu_
  // Serialises adding and removing factors, so that two removals at once cannot take the
  // last two (one server process owns the accounts).
  std::mutex factors_mu_;
};

// The cookie value's stored form: hex SHA-256.
std::string session_hash(std::string_view session_id);

}  // namespace kura::service
