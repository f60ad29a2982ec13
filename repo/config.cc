#include "repo/config.h"

#include <nlohmann/json.hpp>

#include "chunker/chunker.h"

namespace kura::repo {

base::Bytes encode_config(const Config& c) {
  std::string s = "{\"version\":" + std::to_string(c.version) + ",\"id\":\"" + c.id +
                  "\",\"chunker_polynomial\":\"" +
                  chunker::format_polynomial(c.chunker_polynomial) + "\"}";
  return base::to_bytes(s);
}

base::StatusOr<Config> decode_config(base::ByteSpan json) {
  nlohmann::json j = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return base::data_loss("config: not a JSON object");
  Config c;
  auto v = j.find("version");
  if (v == j.end() || !v->is_number_integer()) return base::data_loss("config: missing version");
  int64_t version = v->get<int64_t>();
  if (version != 1 && version != 2) {
    return base::data_loss("config: unsupported repository version " + v->dump());
  }
  c.version = static_cast<int>(version);
  auto id = j.find("id");
  if (id == j.end() || !id->is_string()) return base::data_loss("config: missing id");
  c.id = id->get<std::string>();
  // restic writes 32 random bytes as hex; anything else is a damaged or hostile config.
  if (c.id.size() != 64 || !base::hex_decode(c.id).ok()) {
    return base::data_loss("config: invalid repository id");
  }
  auto pol = j.find("chunker_polynomial");
  if (pol == j.end() || !pol->is_string()) {
    return base::data_loss("config: missing chunker_polynomial");
  }
  auto p = chunker::parse_polynomial(pol->get<std::string>());
  if (!p.ok()) return base::data_loss("config: chunker_polynomial: " + p.status().message());
  c.chunker_polynomial = *p;
  return c;
}

}  // namespace kura::repo
