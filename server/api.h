// The JSON APIs that need no streaming: enrollment (public, the one-time code authorises it)
// and the admin API (provider admins, by client certificate). Pure request → response
// functions over the service: no sockets here, so they are unit-tested directly.
//
// Admin API (all JSON; errors are {"error": "..."}):
//   GET    /api/v1/tenants                          list with usage
//   POST   /api/v1/tenants                          {"name","quota","region","display_name"}
//   GET    /api/v1/tenants/<t>                      one tenant with usage
//   PUT    /api/v1/tenants/<t>/quota                {"quota": "10GiB" | bytes}
//   GET    /api/v1/tenants/<t>/repos                repositories with usage
//   POST   /api/v1/tenants/<t>/repos                {"name"}
//   GET    /api/v1/tenants/<t>/devices              devices
//   POST   /api/v1/tenants/<t>/enroll-codes         {"repo","device","maintenance":bool} → {"code",...}
//   POST   /api/v1/tenants/<t>/devices/<d>/revoke
//   GET    /api/v1/audit?tenant=&since=&until=&after=&limit=   access records (JSON)
//   GET    /api/v1/audit.csv?...                    the same as CSV
//   GET    /api/v1/device/policy                    (a device's certificate) its backup policy
#pragma once

#include <string>
#include <string_view>

#include "meta/meta_store.h"
#include "service/service.h"

namespace kura::server {

struct ApiResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // For the access record.
  std::string action;
  std::string object;
  std::string tenant;
};

ApiResponse handle_enroll(service::Service& svc, std::string_view body);
ApiResponse handle_enroll_renew(service::Service& svc, const service::Identity& who,
                                std::string_view body);
// GET /api/v1/device/policy with a device's certificate: the backup policy the panel set for
// it ({"targets", "schedule", ..., "updated", "updated_by"}; 404 when none is set).
ApiResponse handle_device_policy(service::Service& svc, const service::Identity& who);
ApiResponse handle_admin(service::Service& svc, const service::Identity& who,
                         std::string_view method, std::string_view path, std::string_view query,
                         std::string_view body);

// HTTP status for a Status from the service or the stores.
int http_status(const base::Status& st);
ApiResponse error_response(const base::Status& st);

// Shared with the CLI's `audit export --csv`.
std::string access_records_csv(const std::vector<meta::AccessRecord>& records, bool header);
std::string rfc3339_ms(int64_t unix_ms);
std::string rfc3339(int64_t unix_sec);

}  // namespace kura::server
