#include "service/backup_policy.h"

#include <nlohmann/json.hpp>

#include <array>

#include "service/names.h"

namespace kura::service {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 7> kDays = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
constexpr std::array<const char*, 6> kKeeps = {"keep_last",   "keep_hourly",  "keep_daily",
                                               "keep_weekly", "keep_monthly", "keep_yearly"};

bool is_hhmm(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return false;
  for (size_t i : {0, 1, 3, 4}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return (s[0] - '0') * 10 + (s[1] - '0') < 24 && (s[3] - '0') * 10 + (s[4] - '0') < 60;
}

base::Status bad(std::string_view member, std::string_view why) {
  return base::invalid_argument("backup policy: " + std::string(member) + " " + std::string(why));
}

// A path or pattern: UTF-8 text without control characters (check_display_name's rules) and
// within `max` bytes.
base::Status check_text(std::string_view member, const json& v, size_t max) {
  if (!v.is_string()) return bad(member, "must be text");
  const std::string& s = v.get_ref<const std::string&>();
  if (s.size() > max) return bad(member, "is longer than " + std::to_string(max) + " bytes");
  if (!check_display_name(s).ok()) return bad(member, "must be non-empty UTF-8 without control characters");
  return base::ok_status();
}

base::StatusOr<json> string_list(const json& j, const char* member, size_t min, size_t max) {
  json out = json::array();
  auto it = j.find(member);
  if (it == j.end()) {
    if (min > 0) return bad(member, "is missing");
    return out;
  }
  if (!it->is_array() || it->size() < min || it->size() > max) {
    return bad(member, "must be a list of " + std::to_string(min) + " to " + std::to_string(max) + " entries");
  }
  for (const json& v : *it) {
    RETURN_IF_ERROR(check_text(member, v, 4096));
    out.push_back(v);
  }
  return out;
}

base::Status check_schedule(const std::string& s) {
  if (s == "hourly") return base::ok_status();
  if (s.rfind("daily ", 0) == 0 && is_hhmm(std::string_view(s).substr(6))) return base::ok_status();
  if (s.rfind("weekly ", 0) == 0 && s.size() == 16 && is_hhmm(std::string_view(s).substr(11))) {
    for (std::string_view d : kDays) {
      if (std::string_view(s).substr(7, 4) == std::string(d) + " ") return base::ok_status();
    }
  }
  return bad("schedule", "must be \"hourly\", \"daily HH:MM\" or \"weekly sun HH:MM\"");
}

}  // namespace

base::StatusOr<std::string> normalize_backup_policy(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("", "must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key != "targets" && key != "schedule" && key != "exclusions" && key != "retention" &&
        key != "bandwidth") {
      return bad(key.substr(0, 40), "is not a policy setting");
    }
  }
  json out;
  ASSIGN_OR_RETURN(out["targets"], string_list(j, "targets", 1, 64));
  auto sched = j.find("schedule");
  std::string schedule = sched == j.end() ? "daily 02:00" : sched->is_string() ? sched->get<std::string>() : "?";
  RETURN_IF_ERROR(check_schedule(schedule));
  out["schedule"] = schedule;
  ASSIGN_OR_RETURN(out["exclusions"], string_list(j, "exclusions", 0, 256));
  json retention = json::object();
  const json in_ret = j.value("retention", json{{"keep_daily", 7}, {"keep_weekly", 4}, {"keep_monthly", 12}});
  if (!in_ret.is_object()) return bad("retention", "must be an object");
  int64_t any = 0;
  for (const char* k : kKeeps) {
    auto it = in_ret.find(k);
    int64_t n = 0;
    if (it != in_ret.end()) {
      if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 10000) {
        return bad(std::string("retention.") + k, "must be a whole number from 0 to 10000");
      }
      n = it->get<int64_t>();
    }
    retention[k] = n;
    any += n;
  }
  for (const auto& [key, value] : in_ret.items()) {
    if (!retention.contains(key)) return bad("retention." + key.substr(0, 40), "is not a retention setting");
  }
  if (any == 0) return bad("retention", "must keep at least one snapshot");
  out["retention"] = retention;
  const json in_bw = j.value("bandwidth", json::object());
  if (!in_bw.is_object()) return bad("bandwidth", "must be an object");
  json bw{{"limit_kbps", 0}, {"window", ""}};
  if (auto it = in_bw.find("limit_kbps"); it != in_bw.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 10'000'000) {
      return bad("bandwidth.limit_kbps", "must be a whole number from 0 to 10000000");
    }
    bw["limit_kbps"] = it->get<int64_t>();
  }
  if (auto it = in_bw.find("window"); it != in_bw.end()) {
    const std::string w = it->is_string() ? it->get<std::string>() : "?";
    if (!w.empty() && !(w.size() == 11 && w[5] == '-' && is_hhmm(w.substr(0, 5)) && is_hhmm(w.substr(6)))) {
      return bad("bandwidth.window", "must be empty or \"HH:MM-HH:MM\"");
    }
    bw["window"] = w;
  }
  for (const auto& [key, value] : in_bw.items()) {
    if (key != "limit_kbps" && key != "window") return bad("bandwidth." + key.substr(0, 40), "is not a bandwidth setting");
  }
  out["bandwidth"] = bw;
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

int64_t schedule_grace_seconds(std::string_view policy) {
  json j = json::parse(policy, nullptr, false);
  if (!j.is_object() || !j.contains("schedule") || !j["schedule"].is_string()) return 0;
  const std::string s = j["schedule"];
  if (s == "hourly") return 2 * 3600;
  if (s.rfind("daily ", 0) == 0) return 26 * 3600;
  if (s.rfind("weekly ", 0) == 0) return 7 * 86400 + 2 * 3600;
  return 0;
}

}  // namespace kura::service
