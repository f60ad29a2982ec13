#include "service/accounts.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <utility>

#include "base/bytes.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "service/codes.h"
#include "service/names.h"
#include "service/qr_svg.h"
#include "service/totp.h"

namespace kura::service {
namespace {

std::string random_hex(size_t bytes) {
  std::vector<uint8_t> raw(bytes);
  crypto::system_random()->fill(raw);
  return base::hex_encode(raw);
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A refused password: kInvalidArgument "password: " + the problems' catalog keys.
base::Status policy_status(const std::vector<PasswordProblem>& problems) {
  if (problems.empty()) return base::ok_status();
  std::string keys;
  for (PasswordProblem p : problems) keys += (keys.empty() ? "" : ",") + std::string(problem_key(p));
  return base::invalid_argument("password: " + keys);
}

// One message for every refusal of the password step: it must not tell which part was wrong.
constexpr char kNotSignedIn[] = "not signed in";

}  // namespace

std::string session_hash(std::string_view session_id) {
  return base::hex_encode(crypto::sha256(base::ByteSpan(
      reinterpret_cast<const uint8_t*>(session_id.data()), session_id.size())));
}

Accounts::Accounts(meta::MetaStore* meta, base::Clock* clock, AccountOptions options)
    : meta_(meta), clock_(clock), options_(std::move(options)) {
  auto dummy = hash_password(options_.argon2, random_hex(16));
  if (dummy.ok()) dummy_hash_ = std::move(*dummy);
}

base::StatusOr<meta::User> Accounts::create_user(int64_t tenant_id, std::string_view login,
                                                 std::string_view display_name,
                                                 meta::UserRole role,
                                                 std::string_view initial_password) {
  RETURN_IF_ERROR(check_user_login(login));
  RETURN_IF_ERROR(check_display_name(display_name));
  const bool provider_role =
      role == meta::UserRole::kProviderAdmin || role == meta::UserRole::kProviderOperator;
  if (provider_role != (tenant_id == 0)) {
    return base::invalid_argument(std::string("role ") + std::string(meta::user_role_name(role)) +
                                  (provider_role ? " is for the provider's staff only"
                                                 : " is for an institution's staff only"));
  }
  RETURN_IF_ERROR(policy_status(
      check_password(options_.password, initial_password, login, display_name, {})));
  ASSIGN_OR_RETURN(std::string hash, hash_password(options_.argon2, initial_password));
  meta::User u;
  u.tenant_id = tenant_id;
  u.login = std::string(login);
  u.display_name = std::string(display_name);
  u.role = role;
  u.password_hash = std::move(hash);
  u.must_change_password = true;
  u.created_unix = now();
  return meta_->create_user(u);
}

int64_t Accounts::delay_for(int failures_in_a_row) const {
  if (failures_in_a_row <= 0) return 0;
  int64_t d = options_.delay_base_ms;
  for (int i = 1; i < failures_in_a_row && d < options_.delay_max_ms; ++i) d *= 2;
  return std::min(d, options_.delay_max_ms);
}

Accounts::Attempt Accounts::attempt_of(const std::string& key, int64_t now) {
  std::lock_guard lock(mu_);
  auto it = attempts_.find(key);
  if (it == attempts_.end()) return {};
  if (it->second.locked_until != 0 && it->second.locked_until <= now) {
    attempts_.erase(it);  // the lock has run out: counting starts again
    return {};
  }
  return it->second;
}

Accounts::Attempt Accounts::note_failure(const std::string& key, int64_t now) {
  std::lock_guard lock(mu_);
  // Bounded: strangers trying random IDs cannot grow it without end.
  if (attempts_.size() > 100000) {
    for (auto it = attempts_.begin(); it != attempts_.end();) {
      it = now - it->second.last > options_.lock_seconds ? attempts_.erase(it) : std::next(it);
    }
  }
  Attempt& a = attempts_[key];
  if (a.locked_until != 0 && a.locked_until <= now) a = {};
  a.failures++;
  a.last = now;
  if (a.failures >= options_.lock_after && a.locked_until == 0) a.locked_until = now + options_.lock_seconds;
  return a;
}

void Accounts::forget_attempts(const std::string& key) {
  std::lock_guard lock(mu_);
  attempts_.erase(key);
}

base::StatusOr<PasswordStep> Accounts::refuse(const std::string& key, int64_t t, bool known,
                                              bool locked_in_store) {
  Attempt a = note_failure(key, t);  // the delay grows alike for known and unknown IDs
  PasswordStep step;
  step.locked = known ? locked_in_store : a.locked_until > t;
  step.delay_ms = delay_for(a.failures);
  return step;
}

base::StatusOr<PasswordStep> Accounts::sign_in_password(std::string_view login,
                                                        std::string_view password,
                                                        std::string_view source_ip) {
  const int64_t t = now();
  const std::string key = lower_ascii(login);
  const Attempt before = attempt_of(key, t);
  base::StatusOr<meta::User> user = meta_->user_by_login(login);
  if (!user.ok() && user.status().code() != base::Code::kNotFound) return user.status();
  const bool known = user.ok();
  // The same Argon2 work whether or not the ID exists, and whatever the account's state.
  const bool password_ok =
      verify_password(known ? std::string_view(user->password_hash) : dummy_hash_, password);
  // A known account's lock is the store's (so that an unlock from the server's shell or
  // another server counts); unknown IDs are locked the same way, in memory.
  const bool locked = known ? user->locked_until > t : before.locked_until > t;
  if (!known || !password_ok || user->disabled || locked) {
    bool locked_now = locked;
    if (known && !user->disabled && !locked) {
      ASSIGN_OR_RETURN(meta::User after,
                       meta_->record_signin_failure(user->id, t, options_.lock_after,
                                                    options_.lock_seconds));
      locked_now = after.locked_until > t;
    }
    return refuse(key, t, known, locked_now);
  }
  if (user->failed_signins != 0) RETURN_IF_ERROR(meta_->clear_signin_failures(user->id));
  forget_attempts(key);
  const std::string id = random_hex(32);  // 256 bits
  meta::Session s;
  s.id_hash = session_hash(id);
  s.user_id = user->id;
  s.csrf_token = random_hex(32);
  s.source_ip = std::string(source_ip);
  s.created_unix = s.last_seen_unix = t;
  s.expires_unix = t + options_.session_absolute_seconds;
  RETURN_IF_ERROR(meta_->create_session(s));
  PasswordStep step;
  step.accepted = true;
  step.session_id = id;
  step.info.user = *user;
  step.info.session = s;
  RETURN_IF_ERROR(fill_stage(step.info));
  step.info.idle_expires_unix = t + options_.session_idle_seconds;
  step.info.absolute_expires_unix = s.expires_unix;
  return step;
}

base::Status Accounts::fill_stage(SessionInfo& info) {
  const meta::User& user = info.user;
  base::StatusOr<meta::TotpFactor> totp = meta_->totp_of(user.id);
  if (!totp.ok() && totp.status().code() != base::Code::kNotFound) return totp.status();
  ASSIGN_OR_RETURN(std::vector<meta::WebAuthnCredential> keys,
                   meta_->webauthn_credentials(user.id));
  info.has_totp = totp.ok();
  info.has_webauthn = !keys.empty();
  const bool has_factor = info.has_totp || info.has_webauthn;
  const bool done = info.session.second_factor_done;
  if (!done && has_factor) {
    info.stage = SessionStage::kSecondFactorDue;
  } else if (user.must_change_password) {
    info.stage = SessionStage::kPasswordChangeDue;
  } else if (!has_factor || !done) {
    info.stage = SessionStage::kEnrollmentDue;
  } else {
    info.stage = SessionStage::kReady;
  }
  return base::ok_status();
}

base::StatusOr<SessionInfo> Accounts::live_session(std::string_view session_id, bool touch) {
  if (session_id.size() != 64) return base::unauthenticated(kNotSignedIn);
  const std::string hash = session_hash(session_id);
  base::StatusOr<meta::Session> s = meta_->session_by_hash(hash);
  if (!s.ok()) {
    if (s.status().code() == base::Code::kNotFound) return base::unauthenticated(kNotSignedIn);
    return s.status();
  }
  const int64_t t = now();
  base::StatusOr<meta::User> user = meta_->user_by_id(s->user_id);
  if (t >= s->expires_unix || t - s->last_seen_unix >= options_.session_idle_seconds ||
      !user.ok() || user->disabled) {
    RETURN_IF_ERROR(meta_->delete_session(hash));
    return base::unauthenticated("the session has ended; sign in again");
  }
  if (touch && s->last_seen_unix != t) {
    RETURN_IF_ERROR(meta_->touch_session(hash, t));
    s->last_seen_unix = t;
  }
  SessionInfo info;
  info.user = std::move(*user);
  info.session = std::move(*s);
  RETURN_IF_ERROR(fill_stage(info));
  info.idle_expires_unix = info.session.last_seen_unix + options_.session_idle_seconds;
  info.absolute_expires_unix = info.session.expires_unix;
  return info;
}

base::StatusOr<SessionInfo> Accounts::session(std::string_view session_id) {
  return live_session(session_id, /*touch=*/true);
}

bool Accounts::csrf_ok(const SessionInfo& info, std::string_view token) {
  const std::string& want = info.session.csrf_token;
  return !want.empty() && token.size() == want.size() &&
         CRYPTO_memcmp(token.data(), want.data(), want.size()) == 0;
}

base::StatusOr<SessionInfo> Accounts::sign_in_second_factor(std::string_view session_id,
                                                            std::string_view code) {
  ASSIGN_OR_RETURN(SessionInfo info, live_session(session_id, true));
  if (info.stage != SessionStage::kSecondFactorDue) {
    return base::failed_precondition("no second factor is due in this session");
  }
  const int64_t t = now();
  const int64_t uid = info.user.id;
  bool ok = false;
  base::StatusOr<meta::TotpFactor> factor = meta_->totp_of(uid);
  if (!factor.ok() && factor.status().code() != base::Code::kNotFound) return factor.status();
  base::StatusOr<int64_t> step = base::invalid_argument("no TOTP authenticator");
  if (factor.ok()) {
    ASSIGN_OR_RETURN(TotpSecret secret, parse_base32_secret(factor->secret));
    step = verify_totp(secret, code, t, factor->last_step);
  }
  if (step.ok()) {
    ASSIGN_OR_RETURN(ok, meta_->advance_totp_step(uid, *step));  // false: used meanwhile
  } else if (step.status().code() == base::Code::kInvalidArgument) {
    // Not 6 digits (or no TOTP, a key user): perhaps a recovery code.
    ASSIGN_OR_RETURN(std::vector<std::string> stored, meta_->recovery_codes(uid));
    if (std::optional<size_t> i = match_recovery_code(stored, code)) {
      ASSIGN_OR_RETURN(ok, meta_->use_recovery_code(uid, stored[*i]));
    }
  }
  if (!ok) return second_factor_refused(info.user, t, "the code is not valid");
  return second_factor_done(info, session_id, t);
}

base::Status Accounts::second_factor_refused(const meta::User& user, int64_t t,
                                             std::string message) {
  ASSIGN_OR_RETURN(meta::User after, meta_->record_signin_failure(user.id, t, options_.lock_after,
                                                                  options_.lock_seconds));
  note_failure(lower_ascii(user.login), t);
  if (after.locked_until > t) {
    RETURN_IF_ERROR(meta_->delete_user_sessions(user.id).status());
    return base::unauthenticated("the account is locked");
  }
  return base::unauthenticated(std::move(message));
}

base::StatusOr<SessionInfo> Accounts::second_factor_done(const SessionInfo& info,
                                                         std::string_view session_id, int64_t t) {
  RETURN_IF_ERROR(meta_->set_session_second_factor(info.session.id_hash));
  RETURN_IF_ERROR(meta_->record_signin(info.user.id, t));
  forget_attempts(lower_ascii(info.user.login));
  return live_session(session_id, false);
}

base::Status Accounts::change_password(std::string_view session_id,
                                       std::string_view old_password,
                                       std::string_view new_password) {
  ASSIGN_OR_RETURN(SessionInfo info, live_session(session_id, true));
  if (info.stage != SessionStage::kReady && info.stage != SessionStage::kPasswordChangeDue) {
    return base::failed_precondition("finish signing in first");
  }
  if (!verify_password(info.user.password_hash, old_password)) {
    return base::unauthenticated("the current password is wrong");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> history, meta_->password_history(info.user.id));
  history.insert(history.begin(), info.user.password_hash);  // the current one counts too
  RETURN_IF_ERROR(policy_status(check_password(options_.password, new_password, info.user.login,
                                               info.user.display_name, history)));
  ASSIGN_OR_RETURN(std::string hash, hash_password(options_.argon2, new_password));
  return meta_->set_password(info.user.id, hash, /*must_change=*/false, options_.password.history,
                             now());
}

base::StatusOr<SessionInfo> Accounts::enrolling_session(std::string_view session_id) {
  ASSIGN_OR_RETURN(SessionInfo info, live_session(session_id, true));
  if (info.stage != SessionStage::kEnrollmentDue && info.stage != SessionStage::kReady) {
    return base::failed_precondition("no second-factor enrollment is possible in this session");
  }
  return info;
}

base::StatusOr<SessionInfo> Accounts::ready_session(std::string_view session_id) {
  ASSIGN_OR_RETURN(SessionInfo info, live_session(session_id, true));
  if (info.stage != SessionStage::kReady) {
    return base::failed_precondition("finish signing in first");
  }
  return info;
}

base::StatusOr<std::vector<std::string>> Accounts::finish_enrollment(const SessionInfo& info) {
  const int64_t uid = info.user.id;
  if (info.stage == SessionStage::kReady) {
    ASSIGN_OR_RETURN(std::vector<std::string> left, meta_->recovery_codes(uid));
    if (!left.empty()) return std::vector<std::string>{};
  }
  RecoveryCodes codes = new_recovery_codes(10);
  RETURN_IF_ERROR(meta_->set_recovery_codes(uid, codes.stored));
  if (info.stage == SessionStage::kEnrollmentDue) {
    RETURN_IF_ERROR(meta_->set_session_second_factor(info.session.id_hash));
    RETURN_IF_ERROR(meta_->record_signin(uid, now()));
  }
  return codes.shown;
}

base::StatusOr<TotpEnrollment> Accounts::begin_totp(std::string_view session_id) {
  ASSIGN_OR_RETURN(SessionInfo info, enrolling_session(session_id));
  if (info.has_totp) {
    return base::failed_precondition("user " + info.user.login +
                                     " has a TOTP authenticator already; remove it first");
  }
  TotpSecret secret = new_totp_secret();
  TotpEnrollment e;
  e.secret = base32_secret(secret);
  e.otpauth_uri = otpauth_uri(secret, options_.totp_issuer, info.user.login);
  ASSIGN_OR_RETURN(e.qr_svg, qr_svg(e.otpauth_uri));
  return e;
}

base::StatusOr<std::vector<std::string>> Accounts::confirm_totp(std::string_view session_id,
                                                                std::string_view secret_text,
                                                                std::string_view code) {
  std::lock_guard lock(factors_mu_);
  ASSIGN_OR_RETURN(SessionInfo info, enrolling_session(session_id));
  if (info.has_totp) {
    return base::failed_precondition("user " + info.user.login +
                                     " has a TOTP authenticator already; remove it first");
  }
  ASSIGN_OR_RETURN(TotpSecret secret, parse_base32_secret(secret_text));
  ASSIGN_OR_RETURN(int64_t step, verify_totp(secret, code, now(), 0));
  meta::TotpFactor f;
  f.user_id = info.user.id;
  f.secret = base32_secret(secret);
  f.last_step = step;  // this code is used now
  f.created_unix = now();
  RETURN_IF_ERROR(meta_->set_totp(f));
  return finish_enrollment(info);
}

base::Status Accounts::sign_out(std::string_view session_id) {
  return meta_->delete_session(session_hash(session_id));
}

base::Status Accounts::sign_out_everywhere(std::string_view session_id) {
  ASSIGN_OR_RETURN(SessionInfo info, live_session(session_id, false));
  return meta_->delete_user_sessions(info.user.id).status();
}

base::Status Accounts::remove_all_factors(int64_t user_id) {
  RETURN_IF_ERROR(meta_->user_by_id(user_id).status());
  RETURN_IF_ERROR(meta_->delete_user_sessions(user_id).status());
  RETURN_IF_ERROR(meta_->remove_totp(user_id));
  ASSIGN_OR_RETURN(std::vector<meta::WebAuthnCredential> keys, meta_->webauthn_credentials(user_id));
  for (const auto& k : keys) RETURN_IF_ERROR(meta_->remove_webauthn_credential(user_id, k.id));
  return meta_->set_recovery_codes(user_id, {});
}

std::string Accounts::new_initial_password() {
  // "Kq7m-R2xp-9Wdz-h4Tc": 16 random characters from the unambiguous Crockford set in mixed
  // case, and a digit and '-' for sure: four classes, ~88 bits, readable aloud.
  uint8_t raw[17];
  crypto::system_random()->fill(raw);
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i > 0 && i % 4 == 0) out += '-';
    char c = kCrockford[raw[i] & 31];
    if (c >= 'A' && c <= 'Z' && (raw[i] & 32)) c = static_cast<char>(c - 'A' + 'a');
    out += c;
  }
  out += static_cast<char>('2' + raw[16] % 8);
  return out;
}

base::Status Accounts::unlock(int64_t user_id) {
  ASSIGN_OR_RETURN(meta::User u, meta_->user_by_id(user_id));
  RETURN_IF_ERROR(meta_->clear_signin_failures(user_id));
  forget_attempts(lower_ascii(u.login));
  return base::ok_status();
}

base::StatusOr<int64_t> Accounts::end_sessions(int64_t user_id) {
  return meta_->delete_user_sessions(user_id);
}

}  // namespace kura::service
