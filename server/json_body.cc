#include "server/json_body.h"

#include "service/service.h"

namespace kura::server {

using nlohmann::json;

base::StatusOr<json> parse_json_object(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return base::invalid_argument("the request body must be a JSON object");
  }
  return j;
}

std::string str_member(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

base::StatusOr<bool> bool_member(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return false;
  if (!it->is_boolean()) return base::invalid_argument(std::string(key) + " must be true or false");
  return it->get<bool>();
}

base::StatusOr<int64_t> quota_member(const json& j) {
  auto it = j.find("quota");
  if (it == j.end()) return int64_t{0};
  if (it->is_number_unsigned() || it->is_number_integer()) {
    int64_t v = it->get<int64_t>();
    if (v < 0) return base::invalid_argument("quota must not be negative");
    return v;
  }
  if (it->is_string()) return service::parse_size(it->get<std::string>());
  return base::invalid_argument("quota must be a number of bytes or a size like \"10GiB\"");
}

}  // namespace kura::server
