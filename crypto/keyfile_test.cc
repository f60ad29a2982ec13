#include "crypto/keyfile.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/env.h"
#include "crypto/scrypt.h"
#include "crypto/sha256.h"
#include "crypto/test_fixture.h"

namespace kura::crypto {
namespace {

base::ByteSpan bytes(std::string_view s) { return base::as_bytes(s); }

Key restic_master_key() { return parse_master_key_json(bytes(testdata::kMasterKeyJson)).value(); }

// Small scrypt parameters keep the tests fast; restic accepts any valid set.
KeyFileParams fast_params() {
  KeyFileParams p;
  p.username = "alice";
  p.hostname = "box";
  p.created = "2024-05-01T10:00:00.123456789+02:00";
  p.n = 1024;
  p.r = 8;
  p.p = 1;
  return p;
}

TEST(KeyFile, ParsesResticKeyFile) {
  auto f = parse_key_file(bytes(testdata::kKeyFile));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->created, "2026-11-24T22:53:26.04428831Z");
  EXPECT_EQ(f->username, "root");
  EXPECT_EQ(f->hostname, "vm");
  EXPECT_EQ(f->n, 32768u);
  EXPECT_EQ(f->r, 8u);
  EXPECT_EQ(f->p, 5u);
  EXPECT_EQ(f->salt.size(), 64u);
  EXPECT_EQ(f->data.size(), master_key_json(restic_master_key()).size() + kCiphertextOverhead);
  // Byte-exact round trip: the file name is the hash of these bytes.
  base::Bytes again = serialize_key_file(*f);
  EXPECT_EQ(base::as_chars(again), testdata::kKeyFile);
  EXPECT_EQ(base::hex_encode(sha256(again)), testdata::kKeyFileId);
}

TEST(KeyFile, OpensResticKeyFile) {
  auto key = open_key_file(bytes(testdata::kKeyFile), testdata::kPassword);
  ASSERT_TRUE(key.ok()) << key.status().to_string();
  EXPECT_EQ(*key, restic_master_key());
  EXPECT_EQ(base::as_chars(open(*key, base::hex_decode(testdata::kConfigHex).value()).value()),
            testdata::kConfigPlain);
}

TEST(KeyFile, WrongPasswordIsUnauthenticated) {
  auto key = open_key_file(bytes(testdata::kKeyFile), "wrong");
  EXPECT_EQ(key.status().code(), base::Code::kUnauthenticated);
  EXPECT_EQ(key.status().message(), "wrong password or no key found");
}

TEST(KeyFile, TamperedDataIsUnauthenticated) {
  KeyFile f = parse_key_file(bytes(testdata::kKeyFile)).value();
  f.n = 1024;  // the MAC fails either way; keep scrypt cheap
  for (size_t i : {size_t{0}, size_t{20}, f.data.size() - 1}) {
    KeyFile bad = f;
    bad.data[i] ^= 1;
    EXPECT_EQ(open_key_file(bad, testdata::kPassword).status().code(),
              base::Code::kUnauthenticated);
  }
}

TEST(KeyFile, CreateThenOpen) {
  Key master = random_key(*seeded_random(1));
  auto random = seeded_random(2);
  auto file = create_key_file(master, "secret", fast_params(), *random);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  std::string_view text = base::as_chars(*file);
  EXPECT_TRUE(text.starts_with(
      R"({"created":"2024-05-01T10:00:00.123456789+02:00","username":"alice","hostname":"box",)"
      R"("kdf":"scrypt","N":1024,"r":8,"p":1,"salt":")"))
      << text;
  EXPECT_TRUE(text.ends_with("==\"}"));

  KeyFile parsed = parse_key_file(*file).value();
  EXPECT_EQ(parsed.salt.size(), 64u);
  EXPECT_EQ(serialize_key_file(parsed), *file);
  EXPECT_EQ(open_key_file(parsed, "secret").value(), master);
  EXPECT_EQ(open_key_file(parsed, "Secret").status().code(), base::Code::kUnauthenticated);

  // The sealed payload is exactly Go's marshalling of the master key.
  Key user = key_from_kdf(scrypt64("secret", parsed.salt, 1024, 8, 1).value());
  EXPECT_EQ(base::as_chars(open(user, parsed.data).value()), master_key_json(master));
}

TEST(KeyFile, CreateIsDeterministicForASeed) {
  Key master = random_key(*seeded_random(1));
  auto a = create_key_file(master, "pw", fast_params(), *seeded_random(9));
  auto b = create_key_file(master, "pw", fast_params(), *seeded_random(9));
  auto c = create_key_file(master, "pw", fast_params(), *seeded_random(10));
  EXPECT_EQ(a.value(), b.value());
  EXPECT_NE(a.value(), c.value());
}

TEST(KeyFile, CreateRejectsBadInput) {
  auto random = seeded_random(3);
  EXPECT_EQ(create_key_file(Key(), "pw", fast_params(), *random).status().code(),
            base::Code::kInvalidArgument);
  KeyFileParams p = fast_params();
  p.n = 1000;
  EXPECT_EQ(create_key_file(random_key(*random), "pw", p, *random).status().code(),
            base::Code::kInvalidArgument);
}

TEST(KeyFile, CreateEscapesLikeGo) {
  KeyFileParams p = fast_params();
  p.username = "a<b>&\"c\\";
  p.hostname = "h\x01\n";
  auto file = create_key_file(random_key(*seeded_random(4)), "pw", p, *seeded_random(5));
  std::string_view text = base::as_chars(file.value());
  EXPECT_NE(text.find(R"("username":"a\u003cb\u003e\u0026\"c\\","hostname":"h\u0001\n")"),
            std::string_view::npos)
      << text;
  KeyFile back = parse_key_file(file.value()).value();
  EXPECT_EQ(back.username, p.username);
  EXPECT_EQ(back.hostname, p.hostname);
}

TEST(MasterKeyJson, ExactGoBytesWithClampedR) {
  Key k;
  k.encrypt.fill(0x11);
  k.mac_k.fill(0x22);
  k.mac_r.fill(0xff);
  EXPECT_EQ(master_key_json(k),
            R"({"mac":{"k":"IiIiIiIiIiIiIiIiIiIiIg==","r":"////D/z//w/8//8P/P//Dw=="},)"
            R"("encrypt":"ERERERERERERERERERERERERERERERERERERERERERE="})");
  Key back = parse_master_key_json(bytes(master_key_json(k))).value();
  EXPECT_EQ(back.mac_r, clamp_mac_r(k.mac_r));
  EXPECT_EQ(back.encrypt, k.encrypt);
}

TEST(MasterKeyJson, RejectsMalformed) {
  auto code = [](std::string_view text) { return parse_master_key_json(bytes(text)).status(); };
  const std::string k16 = "AAAAAAAAAAAAAAAAAAAAAQ==", k32 = base::base64_encode(base::Bytes(32, 7));
  auto doc = [&](std::string k, std::string r, std::string e) {
    return R"({"mac":{"k":)" + k + R"(,"r":)" + r + R"(},"encrypt":)" + e + "}";
  };
  std::string good = doc('"' + k16 + '"', '"' + k16 + '"', '"' + k32 + '"');
  ASSERT_TRUE(parse_master_key_json(bytes(good)).ok());
  for (std::string bad : {std::string(""), std::string("{"), std::string("[]"), std::string("null"),
                          std::string("{}"), std::string(R"({"mac":1})"),
                          doc("1", '"' + k16 + '"', '"' + k32 + '"'),
                          doc('"' + k32 + '"', '"' + k16 + '"', '"' + k32 + '"'),
                          doc('"' + k16 + '"', "\"@@@@\"", '"' + k32 + '"'),
                          doc('"' + k16 + '"', '"' + k16 + '"', '"' + k16 + '"'),
                          doc("\"AAAAAAAAAAAAAAAAAAAAAA==\"", '"' + k16 + '"', '"' + k32 + '"')}) {
    base::Status s = code(bad);
    EXPECT_EQ(s.code(), base::Code::kDataLoss) << bad;
  }
  EXPECT_EQ(code(doc('"' + k32 + '"', '"' + k16 + '"', '"' + k32 + '"')).message(),
            "master key: mac: field \"k\": must decode to 16 bytes, got 32");
}

TEST(KeyFile, RejectsMalformed) {
  nlohmann::json good = nlohmann::json::parse(testdata::kKeyFile);
  auto check = [&](const std::function<void(nlohmann::json&)>& edit, std::string_view message) {
    nlohmann::json j = good;
    edit(j);
    auto r = parse_key_file(bytes(j.dump()));
    ASSERT_FALSE(r.ok()) << j.dump();
    EXPECT_EQ(r.status().code(), base::Code::kDataLoss);
    EXPECT_EQ(r.status().message(), message);
  };
  using J = nlohmann::json;
  check([](J& j) { j["kdf"] = "argon2"; },
        "key file: field \"kdf\": unsupported key derivation \"argon2\" (only scrypt)");
  check([](J& j) { j.erase("kdf"); }, "key file: field \"kdf\": missing");
  check([](J& j) { j["salt"] = base::base64_encode(base::Bytes(32, 1)); },
        "key file: field \"salt\": must decode to 64 bytes, got 32");
  check([](J& j) { j["salt"] = "!!"; }, "key file: field \"salt\": invalid base64");
  check([](J& j) { j["data"] = "AAAA"; },
        "key file: field \"data\": too short to hold an encrypted key (3 bytes)");
  check([](J& j) { j.erase("data"); }, "key file: field \"data\": missing");
  check([](J& j) { j["N"] = 1000; },
        "key file: field \"N\": must be a power of two greater than 1, got 1000");
  check([](J& j) { j["N"] = 1; },
        "key file: field \"N\": must be a power of two greater than 1, got 1");
  check([](J& j) { j["N"] = -2; }, "key file: field \"N\": out of range: -2");
  check([](J& j) { j["N"] = 32768.5; }, "key file: field \"N\": not an integer");
  check([](J& j) { j["N"] = "32768"; }, "key file: field \"N\": not an integer");
  check([](J& j) { j["r"] = 0; }, "key file: field \"r\": must be positive");
  check([](J& j) { j["p"] = 0; }, "key file: field \"p\": must be positive");
  check([](J& j) { j["p"] = 1ull << 40; }, "key file: field \"p\": out of range: 1099511627776");
  check([](J& j) { j["username"] = 5; }, "key file: field \"username\": not a string");
  check([](J& j) { j = J::array(); }, "key file: not a JSON object");

  // Absent optional fields and null are Go's zero values.
  nlohmann::json j = good;
  j.erase("username");
  j["hostname"] = nullptr;
  j["extra"] = {1, 2};
  auto f = parse_key_file(bytes(j.dump()));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->username, "");
  EXPECT_EQ(f->hostname, "");
}

TEST(KeyFile, GarbageNeverParses) {
  auto random = seeded_random(11);
  std::string text(testdata::kKeyFile);
  for (int i = 0; i < 2000; ++i) {
    std::string bad = text;
    int edits = 1 + int(random->next_u64() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = random->next_u64() % bad.size();
      bad[pos] = char(random->next_u64());
    }
    auto r = parse_key_file(bytes(bad));
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), base::Code::kDataLoss);
    }
  }
  for (size_t n = 0; n < text.size(); n += 7) {
    EXPECT_FALSE(parse_key_file(bytes(text.substr(0, n))).ok());
  }
  base::Bytes junk(300);
  random->fill(junk);
  EXPECT_EQ(parse_key_file(junk).status().code(), base::Code::kDataLoss);
}

TEST(GoJsonQuote, MatchesGoEncodingJson) {
  EXPECT_EQ(go_json_quote(""), R"("")");
  EXPECT_EQ(go_json_quote("plain text 123 ~"), R"("plain text 123 ~")");
  EXPECT_EQ(go_json_quote("\"\\/"), R"("\"\\/")");
  EXPECT_EQ(go_json_quote("\n\r\t\b\f\x01\x1f\x7f"), "\"\\n\\r\\t\\u0008\\u000c\\u0001\\u001f\x7f\"");
  EXPECT_EQ(go_json_quote("<>&'"), R"("\u003c\u003e\u0026'")");
  EXPECT_EQ(go_json_quote("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(go_json_quote("\xe2\x80\xa8\xe2\x80\xa9"), R"("\u2028\u2029")");
  EXPECT_EQ(go_json_quote("\xef\xbf\xbd"), "\"\xef\xbf\xbd\"");  // a real U+FFFD is kept
  // Invalid UTF-8: each bad byte becomes \ufffd (lone continuation, truncated sequence,
  // overlong, surrogate, beyond U+10FFFF, 0xff).
  EXPECT_EQ(go_json_quote("a\x80z"), R"("a\ufffdz")");
  EXPECT_EQ(go_json_quote("\xe2\x82"), R"("\ufffd\ufffd")");
  EXPECT_EQ(go_json_quote("\xc0\xaf"), R"("\ufffd\ufffd")");
  EXPECT_EQ(go_json_quote("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");
  EXPECT_EQ(go_json_quote("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");
  EXPECT_EQ(go_json_quote("\xff"), R"("\ufffd")");
  EXPECT_EQ(go_json_quote(std::string_view("\0", 1)), R"("\u0000")");
}

// ---- Against the real restic binary ----

constexpr const char* kRestic = "/usr/bin/restic";

std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

struct RunResult {
  int exit_code = -1;
  std::string output;
};

RunResult run(const std::string& command) {
  RunResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// One repository per suite: `restic init` calibrates scrypt and takes seconds.
class ResticOracle : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access(kRestic, X_OK) != 0) return;
    char tmpl[] = "/tmp/kura-crypto-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return;
    dir_ = tmpl;
    repo_ = dir_ + "/repo";
    if (!env()->write_file(dir_ + "/pw", bytes(testdata::kPassword)).ok()) return;
    init_ = restic("init");
    std::vector<std::string> ids = key_ids();
    if (init_.exit_code == 0 && ids.size() == 1) first_key_ = ids[0];
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) env()->remove_all(dir_).ignore();
    dir_.clear();
  }
  void SetUp() override {
    if (access(kRestic, X_OK) != 0) GTEST_SKIP() << "restic is not installed";
    ASSERT_FALSE(first_key_.empty()) << "restic init failed in " << dir_ << ": " << init_.output;
  }

  static base::Env* env() { return base::posix_env(); }

  // Runs restic on the suite's repository; `password_file` defaults to the init password.
  static RunResult restic(const std::string& args, const std::string& password_file = "",
                          const std::string& key_hint = "") {
    std::string hint = key_hint.empty() ? first_key_ : key_hint;
    return run(std::string(kRestic) + " --no-cache -q -r " + shell_quote(repo_) +
               " --password-file " +
               shell_quote(password_file.empty() ? dir_ + "/pw" : password_file) +
               (hint.empty() ? "" : " --key-hint " + hint) + " " + args);
  }

  static std::vector<std::string> key_ids() {
    std::vector<std::string> ids;
    auto entries = env()->list_dir(repo_ + "/keys");
    if (!entries.ok()) return ids;
    for (const auto& e : *entries) ids.push_back(e.name);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  static base::Bytes read(const std::string& rel) {
    auto data = env()->read_file(repo_ + "/" + rel);
    EXPECT_TRUE(data.ok()) << data.status().to_string();
    return data.ok() ? *data : base::Bytes();
  }

  static inline std::string dir_, repo_, first_key_;
  static inline RunResult init_;
};

TEST_F(ResticOracle, OpensKeyAndConfigOfResticRepository) {
  base::Bytes key_file = read("keys/" + first_key_);
  EXPECT_EQ(base::hex_encode(sha256(key_file)), first_key_);
  EXPECT_EQ(serialize_key_file(parse_key_file(key_file).value()), key_file);

  auto master = open_key_file(key_file, testdata::kPassword);
  ASSERT_TRUE(master.ok()) << master.status().to_string();
  EXPECT_EQ(open_key_file(key_file, "not the password").status().code(),
            base::Code::kUnauthenticated);

  RunResult cat = restic("cat masterkey");
  ASSERT_EQ(cat.exit_code, 0) << cat.output;
  auto expected = parse_master_key_json(bytes(cat.output));
  ASSERT_TRUE(expected.ok()) << expected.status().to_string() << "\n" << cat.output;
  EXPECT_EQ(*master, *expected);

  auto config = open(*master, read("config"));
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  auto j = nlohmann::json::parse(base::as_chars(*config));
  EXPECT_EQ(j["version"], 2);
  EXPECT_EQ(j["id"].get<std::string>().size(), 64u);
}

TEST_F(ResticOracle, ResticAcceptsOurKeyFile) {
  Key master = open_key_file(read("keys/" + first_key_), testdata::kPassword).value();
  KeyFileParams params;
  params.username = "kura<&>";
  params.hostname = "test-host";
  params.created = "2024-05-01T10:00:00.5+05:30";
  params.n = 16384;
  auto file = create_key_file(master, "second password", params, *system_random());
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  std::string id = base::hex_encode(sha256(*file));
  ASSERT_TRUE(env()->write_file(repo_ + "/keys/" + id, *file).ok());
  ASSERT_TRUE(env()->write_file(dir_ + "/pw2", bytes("second password")).ok());

  RunResult cat = restic("cat config", dir_ + "/pw2", id);
  ASSERT_EQ(cat.exit_code, 0) << cat.output;
  auto ours = nlohmann::json::parse(base::as_chars(open(master, read("config")).value()));
  EXPECT_EQ(nlohmann::json::parse(cat.output), ours);

  RunResult list = restic("key list --json", dir_ + "/pw2", id);
  ASSERT_EQ(list.exit_code, 0) << list.output;
  bool found = false;
  for (const auto& k : nlohmann::json::parse(list.output)) {
    if (k["id"] == id.substr(0, 8)) {  // restic lists short ids
      found = true;
      EXPECT_EQ(k["userName"], "kura<&>");
      EXPECT_EQ(k["hostName"], "test-host");
      EXPECT_EQ(k["current"], true);
    }
  }
  EXPECT_TRUE(found) << list.output;

  ASSERT_TRUE(env()->write_file(dir_ + "/pw-wrong", bytes("wrong")).ok());
  EXPECT_NE(restic("cat config", dir_ + "/pw-wrong").exit_code, 0);
}

TEST_F(ResticOracle, EscapingMatchesGoForUnusualNames) {
  std::vector<std::string> before = key_ids();
  ASSERT_TRUE(env()->write_file(dir_ + "/pw3", bytes("third")).ok());
  std::string user = "a<b>&\"c\\ \t\x01\x7f h\xc3\xa9 \xe2\x80\xa8 bad\xff\xc0";
  RunResult add = restic("key add --new-password-file " + shell_quote(dir_ + "/pw3") +
                         " --user " + shell_quote(user) + " --host " + shell_quote("h\nost"));
  ASSERT_EQ(add.exit_code, 0) << add.output;
  std::vector<std::string> after = key_ids();
  ASSERT_EQ(after.size(), before.size() + 1);
  std::string id;
  for (const auto& a : after) {
    if (!std::binary_search(before.begin(), before.end(), a)) id = a;
  }
  base::Bytes key_file = read("keys/" + id);
  std::string_view text = base::as_chars(key_file);
  EXPECT_NE(text.find("\"username\":" + go_json_quote(user) + ",\"hostname\":\"h\\nost\","),
            std::string_view::npos)
      << text;
  // Invalid UTF-8 is lost in Go's encoding (each bad byte became U+FFFD), so parsing and
  // re-serializing reproduces the file only once the name is valid UTF-8.
  KeyFile parsed = parse_key_file(key_file).value();
  EXPECT_EQ(parsed.username, "a<b>&\"c\\ \t\x01\x7f h\xc3\xa9 \xe2\x80\xa8 bad\xef\xbf\xbd\xef\xbf\xbd");
  std::string reserialized(base::as_chars(serialize_key_file(parsed)));
  std::string expected(text);
  expected.replace(expected.find("\\ufffd\\ufffd"), 12, "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(reserialized, expected);
  EXPECT_EQ(open_key_file(parsed, "third").value(),
            open_key_file(read("keys/" + first_key_), testdata::kPassword).value());
}

}  // namespace
}  // namespace kura::crypto
