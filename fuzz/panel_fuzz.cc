// The control panel's API (server/panel.h) as strangers and signed-in users reach it: every
// request passes the gate (JSON type, session cookie, stage, CSRF token, the authorisation
// table) before a handler parses its body. The panel runs on an in-memory store with one
// tenant, a ready provider admin and an institution viewer, made once.
// Input: byte 0 picks the method (GET POST PUT DELETE HEAD), byte 1 who asks (0: nobody,
// 1: the admin, 2: the viewer, 3: the admin without its CSRF token, 4+: a forged cookie),
// then path, query and body separated by '\n'.
// Properties: never a crash; the answer is a JSON object with an "error" member for every
// status >= 400; no 5xx (the store works, so a 500 is a bug); nobody without a ready session
// gets a 2xx from anything but the password step; the viewer never changes anything.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "fuzz/fuzz_common.h"
#include "meta/sqlite_store.h"
#include "server/panel.h"
#include "service/accounts.h"
#include "service/service.h"
#include "service/totp.h"

namespace kura::fuzz {
namespace {

constexpr char kPassword[] = "Fuzz#Kanri-2026-x";

struct World {
  base::FakeClock clock{base::Timespec{1'800'000'000, 0}};
  std::unique_ptr<meta::MetaStore> meta;
  std::unique_ptr<service::Service> svc;
  std::unique_ptr<service::Accounts> accounts;
  std::unique_ptr<server::Panel> panel;
  std::string admin_cookie, admin_csrf, viewer_cookie, viewer_csrf;

  // A ready session for a user made here; the cookie and CSRF token it got.
  void sign_in(int64_t tenant, const char* login, meta::UserRole role, std::string* cookie,
               std::string* csrf) {
    auto u = accounts->create_user(tenant, login, login, role, kPassword);
    FUZZ_CHECK(u.ok());
    FUZZ_CHECK(meta->set_password(u->id, u->password_hash, false, 5, 0).ok());
    service::TotpSecret secret = service::new_totp_secret();
    FUZZ_CHECK(meta->set_totp(meta::TotpFactor{u->id, service::base32_secret(secret), 0, 0}).ok());
    auto step = accounts->sign_in_password(login, kPassword, "192.0.2.1");
    FUZZ_CHECK(step.ok() && step->accepted);
    FUZZ_CHECK(accounts->sign_in_second_factor(step->session_id,
                                               service::totp_code(secret, clock.now().sec))
                   .ok());
    *cookie = "kura_session=" + step->session_id;
    *csrf = step->info.session.csrf_token;
  }

  World() {
    meta::SqliteOptions opt;
    opt.clock = &clock;
    meta = std::move(*meta::open_sqlite(":memory:", opt));
    svc = std::make_unique<service::Service>(meta.get(),
                                             std::map<std::string, objstore::ObjectStore*>{},
                                             &clock, service::ServiceOptions{});
    service::AccountOptions o;
    o.argon2 = {1, 8, 1};
    o.delay_max_ms = 0;
    accounts = std::make_unique<service::Accounts>(meta.get(), &clock, o);
    panel = std::make_unique<server::Panel>(svc.get(), accounts.get());
    meta::Tenant t;
    t.name = "clinic-a";
    t.region = "jp-east";
    const int64_t tid = meta->create_tenant(t)->id;
    sign_in(0, "admin", meta::UserRole::kProviderAdmin, &admin_cookie, &admin_csrf);
    sign_in(tid, "viewer", meta::UserRole::kViewer, &viewer_cookie, &viewer_csrf);
  }
};

std::string_view next_part(std::string_view* in) {
  size_t nl = in->find('\n');
  std::string_view part = in->substr(0, nl);
  *in = nl == std::string_view::npos ? std::string_view() : in->substr(nl + 1);
  return part;
}

}  // namespace
}  // namespace kura::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kura;
  static fuzz::World* world = new fuzz::World();  // lives for the process
  if (size < 2) return 0;
  static constexpr std::string_view kMethods[] = {"GET", "POST", "PUT", "DELETE", "HEAD"};
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  const int who = data[1];
  server::PanelRequest req;
  req.method = kMethods[data[0] % 5];
  req.content_type = "application/json";
  std::string path = "/" + std::string(fuzz::next_part(&in));
  req.path = path;
  req.query = fuzz::next_part(&in);
  req.body = in;
  req.source_ip = "198.51.100.7";
  std::string forged;
  if (who == 1 || who == 3) {
    req.cookie = world->admin_cookie;
    if (who == 1) req.csrf_token = world->admin_csrf;
  } else if (who == 2) {
    req.cookie = world->viewer_cookie;
    req.csrf_token = world->viewer_csrf;
  } else if (who >= 4) {
    forged = "kura_session=" + std::string(in.substr(0, 80));
    req.cookie = forged;
    req.csrf_token = in.substr(0, 64);
  }
  server::PanelResponse r = world->panel->handle(req);
  FUZZ_CHECK(r.status >= 200 && r.status < 500);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  FUZZ_CHECK(j.is_object());
  if (r.status >= 400) FUZZ_CHECK(j.contains("error"));
  const bool writes = req.method != "GET" && req.method != "HEAD";
  const bool password_step = path == "/auth/password";
  if ((who == 0 || who >= 4) && !password_step) FUZZ_CHECK(r.status >= 400);
  if (who == 3 && writes) FUZZ_CHECK(r.status >= 400);
  // The viewer may sign itself out and add factors, nothing else that writes.
  if (who == 2 && writes && r.status < 400) {
    FUZZ_CHECK(path.rfind("/auth/", 0) == 0 || path.rfind("/me/", 0) == 0);
  }
  // A sign-out (or anything ending a session) is undone so the next input starts the same.
  if (world->accounts->session(world->admin_cookie.substr(13)).status().ok() == false ||
      world->accounts->session(world->viewer_cookie.substr(13)).status().ok() == false) {
    delete world;
    world = new fuzz::World();
  }
  return 0;
}
