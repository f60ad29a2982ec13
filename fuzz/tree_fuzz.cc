// Tree blobs (RESTIC_FORMAT.md §7): decode_tree, and for anything it accepts:
//  * encode_tree with linktarget_raw decodes to the same nodes (sorted by name, as encode_tree
//    writes them) and re-encodes to the same bytes;
//  * the restic 0.14 encoding (lossy for non-UTF-8 link targets) still decodes, with the same
//    names in the same order.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_common.h"
#include "repo/tree.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kura;
  auto nodes = repo::decode_tree(base::ByteSpan(data, size));
  if (!nodes.ok()) return 0;
  std::vector<repo::Node> sorted = *nodes;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const repo::Node& a, const repo::Node& b) { return a.name < b.name; });
  for (const repo::Node& n : sorted) {
    FUZZ_CHECK(!n.name.empty());
    FUZZ_CHECK(repo::node_type_from_name(repo::node_type_name(n.type)) == n.type);
    (void)repo::is_safe_node_name(n.name);
  }

  const repo::TreeEncodeOptions raw{.linktarget_raw = true};
  base::Bytes encoded = repo::encode_tree(*nodes, raw);
  auto again = repo::decode_tree(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == sorted);
  FUZZ_CHECK(repo::encode_tree(*again, raw) == encoded);

  auto v014 = repo::decode_tree(repo::encode_tree(*nodes));
  FUZZ_CHECK(v014.ok());
  FUZZ_CHECK(v014->size() == sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) FUZZ_CHECK((*v014)[i].name == sorted[i].name);

  // One node on its own is what append_node_json gives; it must be a prefix-free object that
  // decodes inside a tree wrapper.
  if (!sorted.empty()) {
    base::Bytes one = base::to_bytes("{\"nodes\":[");
    repo::append_node_json(one, sorted.front(), raw);
    one.push_back(']');
    one.push_back('}');
    auto single = repo::decode_tree(one);
    FUZZ_CHECK(single.ok() && single->size() == 1 && single->front() == sorted.front());
  }
  return 0;
}
