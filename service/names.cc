#include "service/names.h"

#include <array>
#include <string>

namespace kura::service {
namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alnum(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

base::Status check_slug(std::string_view what, std::string_view name, size_t max) {
  auto bad = [&](std::string_view why) {
    return base::invalid_argument(std::string(what) + " name \"" + std::string(name.substr(0, 80)) +
                                  "\": " + std::string(why));
  };
  if (name.empty()) return bad("empty");
  if (name.size() > max) return bad("longer than " + std::to_string(max) + " characters");
  if (!lower_alnum(name.front())) return bad("must start with a lowercase letter or a digit");
  if (name.back() == '-') return bad("must not end with '-'");
  for (char c : name) {
    if (!lower_alnum(c) && c != '-') return bad("only a-z, 0-9 and '-' are allowed");
  }
  return base::ok_status();
}

}  // namespace

bool is_reserved_segment(std::string_view name) {
  static constexpr std::array<std::string_view, 10> kReserved = {
      "api", "enroll", "healthz", "metrics", "panel", "static", "login", "admin", "well-known", "v1"};
  for (std::string_view r : kReserved) {
    if (name == r) return true;
  }
  return false;
}

base::Status check_tenant_name(std::string_view name) {
  RETURN_IF_ERROR(check_slug("tenant", name, 63));
  if (is_reserved_segment(name)) {
    return base::invalid_argument("tenant name \"" + std::string(name) +
                                  "\" is reserved by the server");
  }
  return base::ok_status();
}

base::Status check_repo_name(std::string_view name) { return check_slug("repository", name, 63); }

base::Status check_region_name(std::string_view name) { return check_slug("region", name, 32); }

base::Status check_device_name(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return base::invalid_argument("device name \"" + std::string(name.substr(0, 80)) +
                                  "\": " + std::string(why));
  };
  if (name.empty()) return bad("empty");
  if (name.size() > 64) return bad("longer than 64 characters");
  if (!alnum(name.front())) return bad("must start with a letter or a digit");
  for (char c : name) {
    if (!alnum(c) && c != '-' && c != '_' && c != '.') {
      return bad("only letters, digits, '.', '_' and '-' are allowed");
    }
  }
  return base::ok_status();
}

base::Status check_user_login(std::string_view login) {
  auto bad = [&](std::string_view why) {
    return base::invalid_argument("user ID \"" + std::string(login.substr(0, 80)) + "\": " +
                                  std::string(why));
  };
  if (login.size() < 3) return bad("shorter than 3 characters");
  if (login.size() > 64) return bad("longer than 64 characters");
  if (!lower_alnum(login.front())) return bad("must start with a small letter or a digit");
  for (char c : login) {
    if (!lower_alnum(c) && c != '-' && c != '_' && c != '.' && c != '@') {
      return bad("only small letters, digits, '.', '_', '-' and '@' are allowed");
    }
  }
  return base::ok_status();
}

base::Status check_display_name(std::string_view name) {
  if (name.empty()) return base::invalid_argument("the name is empty");
  if (name.size() > 200) return base::invalid_argument("the name is longer than 200 bytes");
  // UTF-8, without control characters (a name ends up in tables, records and CSV files).
  for (size_t i = 0; i < name.size();) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > name.size()) return base::invalid_argument("the name is not valid UTF-8");
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(name[i + k]) >> 6) != 2) {
        return base::invalid_argument("the name is not valid UTF-8");
      }
    }
    if (n == 1 && (c < 0x20 || c == 0x7f)) {
      return base::invalid_argument("the name contains a control character");
    }
    i += n;
  }
  return base::ok_status();
}

}  // namespace kura::service
