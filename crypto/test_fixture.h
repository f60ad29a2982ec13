// Test-only data: a repository made by `RESTIC_PASSWORD=pw restic init` (restic 0.14.0).
#pragma once

#include <string_view>

namespace kura::crypto::testdata {

constexpr std::string_view kPassword = "pw";

// keys/5df3eebaf86220c29611707060c66a98de7336a2a6822b1d3571d33f734939d3
constexpr std::string_view kKeyFileId =
    "5df3eebaf86220c29611707060c66a98de7336a2a6822b1d3571d33f734939d3";
constexpr std::string_view kKeyFile =
    R"({"created":"2026-11-24T22:53:26.04428831Z","username":"root","hostname":"vm",)"
    R"("kdf":"scrypt","N":32768,"r":8,"p":5,"salt":"iimmBlbElrzUmPk4db0drUCog0PInluqWmiMYOm3)"
    R"(kYl/8QpVmSAf1ehZVXFEm7W6GpeXTCcKHtHsuEUWE7z6xw==","data":"kyYu9jkKI2bRkmsVAWinTH5KK8/Kj)"
    R"(+frYTNYGtD5EUtKE3Y+kEJelfVrFMQzRl4zd0MYdhXQvCIW8Jox3Pb6v7OKfri/v0ZDR8kuZwm8QbdRUdP2xgfY)"
    R"(lIdSpwWo7Yajk6Ee0GgtdD9ruXQ1ofwS/x2uxCilmDRNU7sz9qGFlYR9Gv/ybm2eunALuXN4jlUMAqX208J2o7t)"
    R"(P2iLwwsI3AQ=="})";

// `restic cat masterkey`
constexpr std::string_view kMasterKeyJson = R"({
  "mac": {
    "k": "LB+4xJ9Fw2t/YFvqU9dO3g==",
    "r": "rJ3iBoiDMwv8P1kFcC0EDA=="
  },
  "encrypt": "ZqbBv/VmNfdXZf7jz5fN4EEP4HukVZmP9qEewcLvL2k="
})";

// The `config` file, hex, and its plaintext.
constexpr std::string_view kConfigHex =
    "d1fc3e1d2d412671ed768281d69b7595d6ba331202d58075f1797b9c9f1ef20299f6bdb6b452d283c1d0558f77"
    "d68c5d2804d05889f38e1bce05edd8b27a84e399be2601b0fd45085e9b666351cfe4ea019519818275ae95cab8"
    "2060954ef8394fd57ae8876b0549b536b5211b201ea8a692d2474abffeaba14b08b45e1aef9e97cf32da276c7c"
    "b410f55fb5380d7d104973fa96261db3efd61375";
constexpr std::string_view kConfigPlain =
    R"({"version":2,"id":"8c909b51d055213e9a4b49b8e7e6f046afaf0ffa34bf69affc1d3dbd48e3a9a8",)"
    R"("chunker_polynomial":"3cc6bf437e9b47"})";

}  // namespace kura::crypto::testdata
