// What the commands print, in one place: terminal text (display widths, restic's tables) and
// JSON in restic's shapes (one-line objects, Go's MarshalIndent layout). Commands build their
// output with these instead of formatting columns or JSON by hand.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "apps/kura/json_out.h"
#include "base/status.h"
#include "ops/forget.h"
#include "ops/snapshots.h"
#include "repo/node.h"

namespace kura::cli {

// Terminal columns of a UTF-8 string: East Asian wide and fullwidth characters take two,
// combining marks none, everything else (invalid bytes included) one.
size_t display_width(std::string_view s);

// The longest prefix of s (whole characters) that fits in `width` columns.
std::string truncate_to_width(std::string_view s, size_t width);

// s followed by spaces up to `width` columns (unchanged when already as wide).
std::string pad_to_width(std::string s, size_t width);

std::vector<std::string> split_lines(std::string_view s);
std::string join(const std::vector<std::string>& v, std::string_view sep);

// restic's ui/table: columns padded to their widest cell and separated by two spaces, a rule
// above and below the rows; a cell may span several lines.
class Table {
 public:
  void add_column(std::string header, size_t min_width = 0);
  void add_row(std::vector<std::string> cells);
  // A blank line between rows (restic does this when some row has several paths).
  void set_spaced(bool spaced) { spaced_ = spaced; }
  // Header, rule, rows, rule and the footer line (none when empty).
  std::string render(const std::string& footer) const;

 private:
  std::string line(const std::vector<std::string>& cells, const std::vector<size_t>& widths) const;

  std::vector<std::string> headers_;
  std::vector<size_t> min_widths_;
  std::vector<std::vector<std::string>> rows_;
  bool spaced_ = false;
};

// A JSON string literal as Go's encoding/json writes it (HTML characters escaped).
std::string go_json_string(std::string_view s);

// A JSON array of strings (Go's escaping); `null` for an empty list when null_if_empty (Go's nil slice).
std::string json_string_array(const std::vector<std::string>& v, bool null_if_empty);

// Go's json.MarshalIndent(v, "", "  ") layout of a compact JSON document: what restic prints
// for `cat config`, `cat snapshot` and the like. Whitespace outside strings is dropped first
// (as Go's Marshal never writes any); `{}` and `[]` stay on one line. Fails on a document that
// is not well-formed (unbalanced brackets, an unterminated string).
base::StatusOr<std::string> json_indent(std::string_view json);

class Cli;

// restic's formatNode with long=true (ls -l, find -l): mode, uid, gid, size, local mtime,
// path and " -> target" for a symlink; no newline.
std::string long_node_line(const std::string& path, const repo::Node& n);

// restic's PrintSnapshots: the table of `snapshots` and `forget`, oldest first, times in this
// machine's zone; with `reasons` (one list per snapshot of `list`) a Reasons column. Compact:
// no paths and no reasons, one tag per line.
std::string snapshots_table(const Cli& cli, std::vector<ops::SnapshotEntry> list,
                            const std::vector<std::vector<std::string>>* reasons, bool compact);

// restic's PrintSnapshotGroupHeader: "snapshots for (host [a], paths [/x]):\n", or "" when
// the snapshots were not grouped.
std::string snapshot_group_header(const Cli& cli, const ops::SnapshotGroup& g);

// A snapshot as restic's JSON listings show it: the snapshot file's fields, then "id" and
// "short_id" (and more members when `extra` is given, e.g. `"struct_type":"snapshot"`).
std::string snapshot_json_with_id(const ops::SnapshotEntry& e, std::string_view extra = {});

}  // namespace kura::cli
