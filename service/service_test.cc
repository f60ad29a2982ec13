#include "service/service.h"

#include <gtest/gtest.h>

#include <thread>

#include "crypto/x509.h"
#include "meta/sqlite_store.h"
#include "service/names.h"

namespace kura::service {
namespace {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = meta::open_sqlite(":memory:");
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    meta_ = std::move(*m);
    store_ = objstore::memory_store();
    auto ca = crypto::create_ca("test CA", clock_.now().sec, 3650);
    ASSERT_TRUE(ca.ok());
    ServiceOptions o;
    o.ca = *ca;
    o.public_url = "https://backup.test:8443";
    svc_ = std::make_unique<Service>(meta_.get(),
                                     std::map<std::string, objstore::ObjectStore*>{{"jp-east", store_.get()}},
                                     &clock_, o);
    ASSERT_TRUE(svc_->create_tenant("clinic-a", "さくら内科", "jp-east", 1000).ok());
    ASSERT_TRUE(svc_->create_repo("clinic-a", "main").ok());
  }

  std::string csr() {
    auto key = crypto::generate_p256_key_pem();
    auto c = crypto::make_csr(*key, "anything");
    return *c;
  }

  base::FakeClock clock_{base::Timespec{1800000000, 0}};
  std::unique_ptr<meta::MetaStore> meta_;
  std::unique_ptr<objstore::ObjectStore> store_;
  std::unique_ptr<Service> svc_;
};

TEST_F(ServiceTest, TenantsNeedAKnownRegionAndAGoodName) {
  EXPECT_EQ(svc_->create_tenant("clinic-b", "", "jp-west", 0).status().code(),
            base::Code::kInvalidArgument);
  EXPECT_EQ(svc_->create_tenant("Clinic", "", "jp-east", 0).status().code(),
            base::Code::kInvalidArgument);
  EXPECT_EQ(svc_->create_tenant("api", "", "jp-east", 0).status().code(),
            base::Code::kInvalidArgument);
  EXPECT_EQ(svc_->create_tenant("clinic-a", "", "jp-east", 0).status().code(),
            base::Code::kAlreadyExists);
  EXPECT_EQ(svc_->create_repo("clinic-zz", "main").status().code(), base::Code::kNotFound);
}

TEST_F(ServiceTest, EnrollmentCodeIsSingleUseAndExpires) {
  auto code = svc_->make_enroll_code("clinic-a", "main", "reception-pc", meta::DeviceRole::kBackup);
  ASSERT_TRUE(code.ok()) << code.status().to_string();
  // Typed in lower case with spaces instead of dashes: the same code.
  std::string typed = *code;
  for (char& c : typed) c = c == '-' ? ' ' : static_cast<char>(std::tolower(c));
  auto e = svc_->enroll(typed, csr());
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  EXPECT_EQ(e->repository_url, "rest:https://backup.test:8443/clinic-a/main/");
  EXPECT_EQ(e->device, "reception-pc");
  auto again = svc_->enroll(*code, csr());
  EXPECT_EQ(again.status().code(), base::Code::kPermissionDenied);

  auto code2 = svc_->make_enroll_code("clinic-a", "main", "second-pc", meta::DeviceRole::kBackup);
  ASSERT_TRUE(code2.ok());
  clock_.advance(std::chrono::hours(25));
  auto late = svc_->enroll(*code2, csr());
  EXPECT_EQ(late.status().code(), base::Code::kPermissionDenied);
  // Unknown, used and expired codes get one and the same answer.
  EXPECT_EQ(late.status().message(), again.status().message());
  EXPECT_EQ(svc_->enroll("AAAA-BBBB-CCCC-DDDD-EEEE", csr()).status().message(), again.status().message());
  EXPECT_EQ(svc_->enroll("", csr()).status().message(), again.status().message());
}

TEST_F(ServiceTest, IdentifyFollowsRevocationExpiryAndRenewal) {
  auto code = svc_->make_enroll_code("clinic-a", "main", "pc", meta::DeviceRole::kBackup);
  auto e = svc_->enroll(*code, csr());
  ASSERT_TRUE(e.ok());
  auto who = svc_->identify(e->serial, true);
  ASSERT_TRUE(who.ok()) << who.status().to_string();
  EXPECT_EQ(who->kind, IdentityKind::kBackupDevice);
  EXPECT_EQ(who->tenant, "clinic-a");
  EXPECT_EQ(who->repo, "main");
  EXPECT_EQ(svc_->identify(e->serial, false).status().code(), base::Code::kUnauthenticated);
  EXPECT_EQ(svc_->identify("00ff", true).status().code(), base::Code::kUnauthenticated);
  EXPECT_EQ(svc_->identify("", true)->kind, IdentityKind::kAnonymous);

  auto renewed = svc_->renew(*who, csr());
  ASSERT_TRUE(renewed.ok()) << renewed.status().to_string();
  EXPECT_NE(renewed->serial, e->serial);
  EXPECT_FALSE(svc_->identify(e->serial, true).ok());
  ASSERT_TRUE(svc_->identify(renewed->serial, true).ok());

  clock_.advance(std::chrono::hours(24 * 366));
  auto expired = svc_->identify(renewed->serial, true);
  EXPECT_EQ(expired.status().code(), base::Code::kUnauthenticated);
  EXPECT_NE(expired.status().message().find("expired"), std::string::npos);
}

TEST_F(ServiceTest, AdminRenewalReplacesTheCertificate) {
  auto code = svc_->make_enroll_code("clinic-a", "main", "win-pc", meta::DeviceRole::kBackup);
  auto e = svc_->enroll(*code, csr());
  ASSERT_TRUE(e.ok());
  clock_.advance(std::chrono::hours(24 * 400));  // expired: the device cannot renew itself
  EXPECT_FALSE(svc_->identify(e->serial, true).ok());
  auto r = svc_->renew_device("clinic-a", "win-pc", csr());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->device, "win-pc");
  ASSERT_TRUE(svc_->identify(r->serial, true).ok());
  EXPECT_EQ(svc_->renew_device("clinic-a", "nosuch", csr()).status().code(), base::Code::kNotFound);
  ASSERT_TRUE(svc_->revoke_device("clinic-a", "win-pc").ok());
  EXPECT_EQ(svc_->renew_device("clinic-a", "win-pc", csr()).status().code(),
            base::Code::kFailedPrecondition);
}

TEST_F(ServiceTest, RevocationBitesOnTheNextLookup) {
  auto code = svc_->make_enroll_code("clinic-a", "main", "pc", meta::DeviceRole::kBackup);
  auto e = svc_->enroll(*code, csr());
  ASSERT_TRUE(svc_->identify(e->serial, true).ok());
  ASSERT_TRUE(svc_->revoke_device("clinic-a", "pc").ok());
  auto who = svc_->identify(e->serial, true);
  EXPECT_EQ(who.status().code(), base::Code::kUnauthenticated);
  EXPECT_NE(who.status().message().find("revoked"), std::string::npos);
  EXPECT_EQ(svc_->revoke_device("clinic-a", "nosuch").code(), base::Code::kNotFound);
}

TEST_F(ServiceTest, QuotaReservationsNeverOvershootTogether) {
  auto repo = svc_->repo("clinic-a", "main");
  ASSERT_TRUE(repo.ok());
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<Reservation> held;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = svc_->reserve(*repo, 300);
      if (r.ok()) {
        granted++;
        std::lock_guard lock(mu);
        held.push_back(std::move(*r));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 3);  // 3 × 300 ≤ 1000 < 4 × 300
  held.clear();
  ASSERT_TRUE(svc_->record_stored(*repo, 900).ok());
  auto over = svc_->reserve(*repo, 200);
  EXPECT_EQ(over.status().code(), base::Code::kResourceExhausted);
  EXPECT_NE(over.status().message().find("quota"), std::string::npos);
  EXPECT_TRUE(svc_->reserve(*repo, 100).ok());
  ASSERT_TRUE(svc_->set_quota("clinic-a", 0).ok());
  EXPECT_TRUE(svc_->reserve(*repo, int64_t{1} << 40).ok());
}

TEST_F(ServiceTest, LocksBelongToTheirDevice) {
  auto repo = svc_->repo("clinic-a", "main");
  ASSERT_TRUE(svc_->note_lock_owner(*repo, "aa", 1).ok());
  EXPECT_TRUE(svc_->owns_lock(*repo, "aa", 1));
  EXPECT_FALSE(svc_->owns_lock(*repo, "aa", 2));
  svc_->forget_lock(*repo, "aa");
  EXPECT_FALSE(svc_->owns_lock(*repo, "aa", 1));
}

TEST(Names, Rules) {
  EXPECT_TRUE(check_tenant_name("clinic-a1").ok());
  EXPECT_TRUE(check_device_name("RECEPTION_PC.local").ok());
  for (const char* bad : {"", "-a", "a-", "A", "a_b", "a.b", "a/b", "..", "healthz", "metrics"}) {
    EXPECT_FALSE(check_tenant_name(bad).ok()) << bad;
  }
  EXPECT_FALSE(check_repo_name(std::string(64, 'a')).ok());
  EXPECT_FALSE(check_device_name("pc 1").ok());
  EXPECT_FALSE(check_device_name(".hidden").ok());
}

TEST(Codes, GeneratedCodesNormalise) {
  for (int i = 0; i < 100; ++i) {
    std::string c = generate_enroll_code();
    EXPECT_EQ(c.size(), 24u);
    EXPECT_EQ(normalize_enroll_code(c).size(), 20u);
  }
  EXPECT_EQ(normalize_enroll_code("oooo-iiii-llll-0000-1111"), "00001111111100001111");
  EXPECT_EQ(normalize_enroll_code("UUUU-UUUU-UUUU-UUUU-UUUU"), "");  // U is not Crockford
  EXPECT_EQ(normalize_enroll_code("ABCD"), "");
}

TEST(Sizes, Parse) {
  EXPECT_EQ(*parse_size("10GiB"), int64_t{10} << 30);
  EXPECT_EQ(*parse_size("500 MB"), 500000000);
  EXPECT_EQ(*parse_size("0"), 0);
  EXPECT_EQ(*parse_size("1tib"), int64_t{1} << 40);
  for (const char* bad : {"", "GiB", "-1", "10 XB", "99999999999999999999", "10000000TiB"}) {
    EXPECT_FALSE(parse_size(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace kura::service
