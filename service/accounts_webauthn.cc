// Accounts: WebAuthn keys, the list of a user's factors, recovery codes and factor resets
// (the sign-in rules of accounts.cc, continued).
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

#include "crypto/sha256.h"
#include "service/accounts.h"
#include "service/totp.h"
#include "service/webauthn.h"

namespace kura::service {
namespace {

using Json = nlohmann::json;

constexpr int64_t kTotpStepSeconds = 30;
constexpr size_t kMaxKeyNameChars = 64;

// A key's label: 1-64 characters of UTF-8, no control characters (C0, DEL, C1).
base::Status check_key_name(std::string_view name) {
  if (name.empty()) return base::invalid_argument("the key's name is empty");
  size_t chars = 0;
  for (size_t i = 0; i < name.size(); ++chars) {
    const auto c = static_cast<unsigned char>(name[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > name.size())
      return base::invalid_argument("the key's name is not valid UTF-8");
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(name[i + k]) >> 6) != 2) {
        return base::invalid_argument("the key's name is not valid UTF-8");
      }
    }
    const bool c0 = n == 1 && (c < 0x20 || c == 0x7f);
    const bool c1 = n == 2 && c == 0xc2 && static_cast<unsigned char>(name[i + 1]) < 0xa0;
    if (c0 || c1) return base::invalid_argument("the key's name contains a control character");
    i += n;
  }
  if (chars > kMaxKeyNameChars) {
    return base::invalid_argument("the key's name is longer than 64 characters");
  }
  return base::ok_status();
}

base::ByteSpan span_of(const std::string& s) {
  return base::ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Not personal data and stable for the user: the authenticator keeps it with the key, and
// kura never needs to look a user up by it (keys are not discoverable).
std::string user_handle_b64url(const std::string& rp_id, int64_t user_id) {
  const std::string input = "kura webauthn user handle\n" + rp_id + "\n" + std::to_string(user_id);
  return base64url_encode(crypto::sha256(span_of(input)));
}

Json credential_list(const std::vector<meta::WebAuthnCredential>& keys) {
  Json list = Json::array();
  for (const auto& k : keys) {
    list.push_back({{"type", "public-key"}, {"id", base64url_encode(span_of(k.credential_id))}});
  }
  return list;
}

// Names and logins are validated UTF-8, but a dump must never throw.
std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Factor factor_of(const meta::WebAuthnCredential& k) {
  return Factor{"webauthn:" + std::to_string(k.id), "webauthn", k.name, k.created_unix,
                k.last_used_unix};
}

Factor factor_of(const meta::TotpFactor& f) {
  return Factor{"totp", "totp", "", f.created_unix, f.last_step * kTotpStepSeconds};
}

// "webauthn:<n>" → n; 0 for anything else.
int64_t key_row_id(std::string_view factor_id) {
  constexpr std::string_view kPrefix = "webauthn:";
  if (factor_id.substr(0, kPrefix.size()) != kPrefix) return 0;
  const std::string_view digits = factor_id.substr(kPrefix.size());
  int64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
      digits[0] == '+' || n <= 0) {
    return 0;
  }
  return n;
}

std::string key_refused(std::string_view why) {
  return "the security key was not accepted: " + std::string(why);
}

}  // namespace

base::StatusOr<std::string> Accounts::issue_challenge(const std::string& hash, Purpose p) {
  const int64_t t = now();
  std::lock_guard lock(mu_);
  auto key = std::make_pair(hash, p);
  if (challenges_.size() >= options_.max_pending_challenges && !challenges_.contains(key)) {
    std::erase_if(challenges_, [t](const auto& e) { return e.second.expires <= t; });
    if (challenges_.size() >= options_.max_pending_challenges) {
      return base::resource_exhausted(
          "too many security-key requests are pending; try again later");
    }
  }
  Challenge& c = challenges_[key];  // one per session and purpose: a new one replaces it
  c.value = new_challenge_b64url();
  c.expires = t + options_.webauthn_timeout_seconds;
  return c.value;
}

std::optional<std::string> Accounts::take_challenge(const std::string& hash, Purpose p) {
  const int64_t t = now();
  std::lock_guard lock(mu_);
  auto it = challenges_.find(std::make_pair(hash, p));
  if (it == challenges_.end()) return std::nullopt;
  Challenge c = std::move(it->second);
  challenges_.erase(it);
  if (c.expires <= t) return std::nullopt;
  return c.value;
}

base::StatusOr<std::string> Accounts::begin_webauthn_registration(std::string_view session_id,
                                                                  std::string_view name) {
  ASSIGN_OR_RETURN(SessionInfo info, enrolling_session(session_id));
  RETURN_IF_ERROR(check_key_name(name));
  ASSIGN_OR_RETURN(std::vector<meta::WebAuthnCredential> keys,
                   meta_->webauthn_credentials(info.user.id));
  ASSIGN_OR_RETURN(std::string challenge,
                   issue_challenge(info.session.id_hash, Purpose::kRegister));
  Json options = {
      {"rp", {{"id", options_.rp_id}, {"name", options_.rp_name}}},
      {"user",
       {{"id", user_handle_b64url(options_.rp_id, info.user.id)},
        {"name", info.user.login},
        {"displayName", info.user.display_name}}},
      {"challenge", challenge},
      {"pubKeyCredParams", Json::array({{{"type", "public-key"}, {"alg", -7}}})},
      {"timeout", options_.webauthn_timeout_seconds * 1000},
      {"attestation", "none"},
      {"excludeCredentials", credential_list(keys)},
      {"authenticatorSelection",
       {{"userVerification", "preferred"},
        {"residentKey", "discouraged"},
        {"requireResidentKey", false}}},
  };
  return dump(options);
}

base::StatusOr<WebAuthnRegistration> Accounts::finish_webauthn_registration(
    std::string_view session_id, std::string_view name, base::ByteSpan client_data_json,
    base::ByteSpan attestation_object) {
  std::lock_guard lock(factors_mu_);
  ASSIGN_OR_RETURN(SessionInfo info, enrolling_session(session_id));
  RETURN_IF_ERROR(check_key_name(name));  // before the challenge goes: the name can be fixed
  std::optional<std::string> challenge = take_challenge(info.session.id_hash, Purpose::kRegister);
  if (!challenge) {
    return base::failed_precondition(
        "no security-key registration is pending in this session "
        "(or it expired); start again");
  }
  ASSIGN_OR_RETURN(NewCredential cred,
                   verify_registration(WebAuthnConfig{options_.rp_id, options_.origin},
                                       client_data_json, attestation_object, *challenge));
  meta::WebAuthnCredential c;
  c.user_id = info.user.id;
  c.credential_id.assign(cred.credential_id.begin(), cred.credential_id.end());
  c.public_key.assign(cred.cose_public_key.begin(), cred.cose_public_key.end());
  c.sign_count = cred.sign_count;
  c.name = std::string(name);
  c.created_unix = now();
  base::StatusOr<meta::WebAuthnCredential> stored = meta_->add_webauthn_credential(c);
  if (stored.status().code() == base::Code::kAlreadyExists) {
    return base::already_exists("this security key is registered already");
  }
  RETURN_IF_ERROR(stored.status());
  WebAuthnRegistration out;
  out.factor = factor_of(*stored);
  ASSIGN_OR_RETURN(out.recovery_codes, finish_enrollment(info));
  return out;
}

base::StatusOr<std::string> Accounts::begin_webauthn_sign_in(std::string_view session_id) {
  ASSIGN_OR_RETURN(SessionInfo info, live_session(session_id, true));
  if (info.stage != SessionStage::kSecondFactorDue) {
    return base::failed_precondition("no second factor is due in this session");
  }
  ASSIGN_OR_RETURN(std::vector<meta::WebAuthnCredential> keys,
                   meta_->webauthn_credentials(info.user.id));
  if (keys.empty()) {
    return base::failed_precondition("user " + info.user.login + " has no security key");
  }
  ASSIGN_OR_RETURN(std::string challenge, issue_challenge(info.session.id_hash, Purpose::kSignIn));
  Json options = {
      {"challenge", challenge},
      {"rpId", options_.rp_id},
      {"timeout", options_.webauthn_timeout_seconds * 1000},
      {"userVerification", "preferred"},
      {"allowCredentials", credential_list(keys)},
  };
  return dump(options);
}

base::StatusOr<SessionInfo> Accounts::finish_webauthn_sign_in(std::string_view session_id,
                                                              std::string_view credential_id_b64url,
                                                              base::ByteSpan client_data_json,
                                                              base::ByteSpan authenticator_data,
                                                              base::ByteSpan signature) {
  ASSIGN_OR_RETURN(SessionInfo info, live_session(session_id, true));
  if (info.stage != SessionStage::kSecondFactorDue) {
    return base::failed_precondition("no second factor is due in this session");
  }
  const int64_t t = now();
  std::optional<std::string> challenge = take_challenge(info.session.id_hash, Purpose::kSignIn);
  if (!challenge) {
    return second_factor_refused(info.user, t,
                                 key_refused("no sign-in with a key is pending in "
                                             "this session (or it expired)"));
  }
  base::StatusOr<base::Bytes> raw_id = base64url_decode(credential_id_b64url, "credential id");
  if (!raw_id.ok())
    return second_factor_refused(info.user, t, key_refused(raw_id.status().message()));
  base::StatusOr<meta::WebAuthnCredential> key = meta_->webauthn_credential_by_id(
      std::string_view(reinterpret_cast<const char*>(raw_id->data()), raw_id->size()));
  if (!key.ok() && key.status().code() != base::Code::kNotFound) return key.status();
  if (!key.ok() || key->user_id != info.user.id) {
    return second_factor_refused(info.user, t, key_refused("it is not registered to this account"));
  }
  const auto stored_count =
      static_cast<uint32_t>(std::clamp<int64_t>(key->sign_count, 0, UINT32_MAX));
  base::StatusOr<uint32_t> count = verify_assertion(
      WebAuthnConfig{options_.rp_id, options_.origin}, authenticator_data, client_data_json,
      signature, *challenge, span_of(key->public_key), stored_count);
  if (!count.ok()) {
    const base::Code code = count.status().code();
    if (code != base::Code::kUnauthenticated && code != base::Code::kInvalidArgument) {
      return count.status();
    }
    return second_factor_refused(info.user, t, key_refused(count.status().message()));
  }
  base::Status counted = meta_->update_webauthn_sign_count(key->id, *count, t);
  if (counted.code() == base::Code::kFailedPrecondition) {  // a concurrent use got there first
    return second_factor_refused(info.user, t, key_refused("the sign count did not grow"));
  }
  RETURN_IF_ERROR(counted);
  return second_factor_done(info, session_id, t);
}

base::StatusOr<FactorList> Accounts::list_factors(std::string_view session_id) {
  ASSIGN_OR_RETURN(SessionInfo info, ready_session(session_id));
  const int64_t uid = info.user.id;
  FactorList out;
  base::StatusOr<meta::TotpFactor> totp = meta_->totp_of(uid);
  if (!totp.ok() && totp.status().code() != base::Code::kNotFound) return totp.status();
  if (totp.ok()) out.factors.push_back(factor_of(*totp));
  ASSIGN_OR_RETURN(std::vector<meta::WebAuthnCredential> keys, meta_->webauthn_credentials(uid));
  for (const auto& k : keys) out.factors.push_back(factor_of(k));
  ASSIGN_OR_RETURN(std::vector<std::string> codes, meta_->recovery_codes(uid));
  out.recovery_codes_left = static_cast<int>(codes.size());
  return out;
}

base::StatusOr<std::vector<std::string>> Accounts::factor_kinds(int64_t user_id) {
  base::StatusOr<meta::TotpFactor> totp = meta_->totp_of(user_id);
  if (!totp.ok() && totp.status().code() != base::Code::kNotFound) return totp.status();
  ASSIGN_OR_RETURN(std::vector<meta::WebAuthnCredential> keys,
                   meta_->webauthn_credentials(user_id));
  std::vector<std::string> kinds;
  if (totp.ok()) kinds.push_back("totp");
  if (!keys.empty()) kinds.push_back("webauthn");
  return kinds;
}

base::Status Accounts::remove_factor(std::string_view session_id, std::string_view factor_id) {
  std::lock_guard lock(factors_mu_);
  ASSIGN_OR_RETURN(SessionInfo info, ready_session(session_id));
  const int64_t uid = info.user.id;
  ASSIGN_OR_RETURN(std::vector<meta::WebAuthnCredential> keys, meta_->webauthn_credentials(uid));
  const size_t count = keys.size() + (info.has_totp ? 1 : 0);
  const int64_t row = key_row_id(factor_id);
  const bool is_totp = factor_id == "totp";
  const bool exists =
      is_totp ? info.has_totp
              : std::any_of(keys.begin(), keys.end(), [row](const auto& k) { return k.id == row; });
  if (!exists) return base::not_found("user " + info.user.login + " has no such second factor");
  if (count <= 1) {
    return base::failed_precondition("factor.last: the last second factor of user " +
                                     info.user.login + " cannot be removed; add another first");
  }
  return is_totp ? meta_->remove_totp(uid) : meta_->remove_webauthn_credential(uid, row);
}

base::StatusOr<std::vector<std::string>> Accounts::regenerate_recovery_codes(
    std::string_view session_id) {
  std::lock_guard lock(factors_mu_);
  ASSIGN_OR_RETURN(SessionInfo info, ready_session(session_id));
  RecoveryCodes codes = new_recovery_codes(10);
  RETURN_IF_ERROR(meta_->set_recovery_codes(info.user.id, codes.stored));
  return codes.shown;
}

base::StatusOr<meta::FactorReset> Accounts::request_factor_reset(int64_t requester_user_id,
                                                                 int64_t target_user_id) {
  if (requester_user_id == target_user_id) {
    return base::permission_denied("user " + std::to_string(target_user_id) +
                                   " cannot request a factor reset for themselves");
  }
  meta::FactorReset r;
  r.user_id = target_user_id;
  r.requested_by = requester_user_id;
  r.requested_unix = now();
  r.expires_unix = r.requested_unix + options_.factor_reset_seconds;
  return meta_->create_factor_reset(r);
}

base::StatusOr<meta::FactorReset> Accounts::approve_factor_reset(int64_t approver_user_id,
                                                                 int64_t reset_id) {
  std::lock_guard lock(factors_mu_);
  return meta_->approve_factor_reset(reset_id, approver_user_id, now());
}

}  // namespace kura::service
