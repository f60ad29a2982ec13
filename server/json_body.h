// Reading the JSON bodies of the admin API and the control panel: one object per request,
// members checked for type (nlohmann's value() throws on a wrong type; these never throw).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace kura::server {

// The body as a JSON object; kInvalidArgument for anything else (an empty body included).
base::StatusOr<nlohmann::json> parse_json_object(std::string_view body);

// A string member, or "" when missing or not a string.
std::string str_member(const nlohmann::json& j, const char* key);

// An optional boolean member (false when missing); anything but true/false is refused.
base::StatusOr<bool> bool_member(const nlohmann::json& j, const char* key);

// "quota": bytes as a number or a size like "10GiB"; 0 when missing.
base::StatusOr<int64_t> quota_member(const nlohmann::json& j);

}  // namespace kura::server
