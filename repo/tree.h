// Tree blobs: the JSON restic stores for one directory (RESTIC_FORMAT.md §7).
//
// encode_tree writes exactly the bytes restic 0.14 (go1.19) writes, so that a tree of the same
// directory gets the same ID and deduplicates against restic's. It writes what is in each Node,
// applying only the JSON omission rules (§7.2); choosing which fields a node type carries (no
// links on a dir, atime = mtime, content [] for an empty file, ...) is the job of whoever fills
// the Node, e.g. node_from_lstat (node_from_stat.h).
//
// decode_tree accepts what any restic version writes: unknown fields are ignored, missing ones
// take their zero value, `content: null` is an empty list, `linktarget_raw` (0.16+) replaces a
// lossy `linktarget`, and names are Go-unquoted.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "repo/mode.h"
#include "repo/node.h"

namespace kura::repo {

struct TreeEncodeOptions {
  // restic 0.16+ adds "linktarget_raw" (base64) after "linktarget" when a symlink target is not
  // valid UTF-8, so the target survives; 0.14 stores it lossily. Off: byte-exact 0.14.
  bool linktarget_raw = false;
};

// `{"nodes":[...]}` + "\n", nodes sorted by raw name bytes. Names must be unique (restic refuses
// duplicates when it builds a tree; so should the caller).
base::Bytes encode_tree(const std::vector<Node>& nodes, const TreeEncodeOptions& opts = {});

// encode_tree for a tree about to be stored: refuses what kura's and restic's restore refuse
// (a name is_safe_node_name rejects, two nodes with one name) with invalid_argument naming the
// node, so no command writes a snapshot that cannot be restored.
base::StatusOr<base::Bytes> encode_valid_tree(const std::vector<Node>& nodes,
                                              const TreeEncodeOptions& opts = {});

// One node's JSON object, as it appears inside a tree.
void append_node_json(base::Bytes& out, const Node& node, const TreeEncodeOptions& opts = {});

// Errors are data_loss and name the node: `tree: node 3 ("x"): invalid type "y"`.
base::StatusOr<std::vector<Node>> decode_tree(base::ByteSpan json);

// "file", "dir", "symlink", "dev", "chardev", "fifo", "socket", "irregular".
std::string_view node_type_name(NodeType type);
std::optional<NodeType> node_type_from_name(std::string_view name);

// False for names a restorer must not create inside a directory: "", ".", "..", anything with a
// '/' or a NUL. decode_tree only rejects "": restic checks the rest at restore time, and so
// should kura's restorer; writers check it with encode_valid_tree.
bool is_safe_node_name(std::string_view name);

// Go's zero time.Time (0001-01-01T00:00:00Z): what a missing time field decodes to.
inline constexpr NodeTime kGoZeroTime{-62135596800, 0, 0};

}  // namespace kura::repo
