// kura-server's request routing and its TOML configuration, both fed to it by strangers (the
// route) or by hand-edited files (the configuration). The first byte picks one (modulo 2).
//   0 request target     parse_route: never crashes; whatever it accepts is well formed
//   1 configuration      parse_config: never crashes (toml++ exceptions are caught inside);
//                        an accepted configuration renders and reads back the same
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "backend/backend.h"
#include "fuzz/fuzz_common.h"
#include "server/config.h"
#include "server/route.h"
#include "service/names.h"

namespace kura::fuzz {
namespace {

void fuzz_route(std::string_view target) {
  server::Route r = server::parse_route(target);
  switch (r.kind) {
    case server::RouteKind::kRepoObject:
      FUZZ_CHECK(backend::is_valid_name(r.handle.name));
      [[fallthrough]];
    case server::RouteKind::kRepoRoot:
    case server::RouteKind::kRepoConfig:
    case server::RouteKind::kRepoList:
      FUZZ_CHECK(service::check_tenant_name(r.tenant).ok());
      FUZZ_CHECK(service::check_repo_name(r.repo).ok());
      break;
    case server::RouteKind::kAdminApi:
      FUZZ_CHECK(r.rest.find("/../") == std::string::npos);
      FUZZ_CHECK(r.rest.find('%') == std::string::npos);
      break;
    default:
      break;
  }
}

void fuzz_config(std::string_view text) {
  auto c = server::parse_config(text, "fuzz.toml");
  if (!c.ok()) return;
  auto back = server::parse_config(server::render_config(*c), "");
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(back->listen == c->listen);
  FUZZ_CHECK(back->regions == c->regions);
  FUZZ_CHECK(back->max_object_bytes == c->max_object_bytes);
}

}  // namespace
}  // namespace kura::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    kura::fuzz::fuzz_route(in);
  } else {
    kura::fuzz::fuzz_config(in);
  }
  return 0;
}
