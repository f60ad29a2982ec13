// Building one-line JSON objects for --json output (keys in insertion order, like restic's).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace kura::cli {

class JsonObject {
 public:
  JsonObject& str(const char* k, const std::string& v) { return raw(k, nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)); }
  JsonObject& num(const char* k, uint64_t v) { return raw(k, std::to_string(v)); }
  JsonObject& snum(const char* k, int64_t v) { return raw(k, std::to_string(v)); }
  JsonObject& dbl(const char* k, double v) { return raw(k, nlohmann::json(v).dump()); }
  JsonObject& boolean(const char* k, bool v) { return raw(k, v ? "true" : "false"); }
  JsonObject& raw(const char* k, const std::string& json) {
    s_ += s_.size() > 1 ? "," : "";
    s_ += nlohmann::json(k).dump();
    s_ += ':';
    s_ += json;
    return *this;
  }
  std::string done() { return s_ + "}"; }

 private:
  std::string s_ = "{";
};

inline std::string json_string(const std::string& v) {
  return nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace kura::cli
