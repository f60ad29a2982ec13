#include "repo/tree.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>

#include "repo/gojson.h"

namespace kura::repo {
namespace {

constexpr std::string_view kTypeNames[] = {"file", "dir",  "symlink", "dev",
                                           "chardev", "fifo", "socket", "irregular"};

void write_node(JsonWriter& w, const Node& node, const TreeEncodeOptions& opts) {
  w.raw("{\"name\":");
  w.quoted_name(node.name);
  w.key("type");
  w.raw('"');
  w.raw(node_type_name(node.type));
  w.raw('"');
  if (node.mode != 0) {
    w.key("mode");
    w.number(node.mode);
  }
  w.key("mtime");
  w.time(node.mtime);
  w.key("atime");
  w.time(node.atime);
  w.key("ctime");
  w.time(node.ctime);
  w.key("uid");
  w.number(node.uid);
  w.key("gid");
  w.number(node.gid);
  if (!node.user.empty()) {
    w.key("user");
    w.string(node.user);
  }
  if (!node.group.empty()) {
    w.key("group");
    w.string(node.group);
  }
  if (node.inode != 0) {
    w.key("inode");
    w.number(node.inode);
  }
  if (node.device_id != 0) {
    w.key("device_id");
    w.number(node.device_id);
  }
  if (node.size != 0) {
    w.key("size");
    w.number(node.size);
  }
  if (node.links != 0) {
    w.key("links");
    w.number(node.links);
  }
  if (!node.linktarget.empty()) {
    w.key("linktarget");
    w.string(node.linktarget);
    if (opts.linktarget_raw && !go_valid_utf8(node.linktarget)) {
      w.key("linktarget_raw");
      w.base64(base::as_bytes(node.linktarget));
    }
  }
  if (!node.xattrs.empty()) {
    w.key("extended_attributes");
    w.raw('[');
    for (size_t i = 0; i < node.xattrs.size(); ++i) {
      if (i) w.raw(',');
      w.raw("{\"name\":");
      w.string(node.xattrs[i].name);
      w.key("value");
      w.base64(node.xattrs[i].value);
      w.raw('}');
    }
    w.raw(']');
  }
  if (node.device != 0) {
    w.key("device");
    w.number(node.device);
  }
  w.key("content");
  if (!node.content.empty()) {
    w.raw('[');
    for (size_t i = 0; i < node.content.size(); ++i) {
      if (i) w.raw(',');
      w.id(node.content[i]);
    }
    w.raw(']');
  } else if (node.type == NodeType::kFile) {
    w.raw("[]");  // restic's check rejects a file whose content is null
  } else {
    w.raw("null");
  }
  if (node.subtree) {
    w.key("subtree");
    w.id(*node.subtree);
  }
  if (!node.error.empty()) {
    w.key("error");
    w.string(node.error);
  }
  w.raw('}');
}

// ---- decoding ------------------------------------------------------------------------------

base::Status read_xattrs(JsonReader& r, std::vector<ExtendedAttribute>& xattrs) {
  xattrs.clear();
  if (r.consume_null()) return base::ok_status();
  RETURN_IF_ERROR(r.begin_array());
  std::string key;
  while (true) {
    ASSIGN_OR_RETURN(bool more, r.next_element());
    if (!more) break;
    ExtendedAttribute x;
    if (!r.consume_null()) {
      RETURN_IF_ERROR(r.begin_object());
      while (true) {
        ASSIGN_OR_RETURN(bool member, r.next_member(key));
        if (!member) break;
        fold_json_key(key);
        if (key == "name") {
          RETURN_IF_ERROR(r.read_string_field(x.name));
        } else if (key == "value") {
          RETURN_IF_ERROR(r.read_base64_field(x.value).with_context("extended attribute value"));
        } else {
          RETURN_IF_ERROR(r.skip_value());
        }
      }
    }
    xattrs.push_back(std::move(x));
  }
  return base::ok_status();
}

base::Status read_content(JsonReader& r, std::vector<Id>& content) {
  content.clear();
  if (r.consume_null()) return base::ok_status();
  RETURN_IF_ERROR(r.begin_array());
  while (true) {
    ASSIGN_OR_RETURN(bool more, r.next_element());
    if (!more) break;
    Id id;
    RETURN_IF_ERROR(r.read_id(id).with_context("content[" + std::to_string(content.size()) + "]"));
    content.push_back(id);
  }
  return base::ok_status();
}

// Reads one node object; `node.name` is still Go-quoted afterwards.
base::Status read_node(JsonReader& r, Node& node, std::string& key, std::string& scratch) {
  RETURN_IF_ERROR(r.begin_object());
  node.mtime = node.atime = node.ctime = kGoZeroTime;
  bool have_type = false;
  std::optional<base::Bytes> linktarget_raw;
  while (true) {
    ASSIGN_OR_RETURN(bool more, r.next_member(key));
    if (!more) break;
    fold_json_key(key);
    base::Status st;
    if (key == "name") {
      st = r.read_string_field(node.name);
    } else if (key == "type") {
      have_type = false;
      if (!r.consume_null()) {
        RETURN_IF_ERROR(r.read_string(scratch));
        auto type = node_type_from_name(scratch);
        if (!type) return base::invalid_argument("invalid type \"" + go_quote(scratch) + "\"");
        node.type = *type;
        have_type = true;
      }
    } else if (key == "mode") {
      st = r.read_uint_field(node.mode);
    } else if (key == "mtime") {
      st = r.read_time_field(node.mtime);
    } else if (key == "atime") {
      st = r.read_time_field(node.atime);
    } else if (key == "ctime") {
      st = r.read_time_field(node.ctime);
    } else if (key == "uid") {
      st = r.read_uint_field(node.uid);
    } else if (key == "gid") {
      st = r.read_uint_field(node.gid);
    } else if (key == "user") {
      st = r.read_string_field(node.user);
    } else if (key == "group") {
      st = r.read_string_field(node.group);
    } else if (key == "inode") {
      st = r.read_uint_field(node.inode);
    } else if (key == "device_id") {
      st = r.read_uint_field(node.device_id);
    } else if (key == "size") {
      st = r.read_uint_field(node.size);
    } else if (key == "links") {
      st = r.read_uint_field(node.links);
    } else if (key == "linktarget") {
      st = r.read_string_field(node.linktarget);
    } else if (key == "linktarget_raw") {
      base::Bytes raw;
      st = r.read_base64_field(raw);
      // Go leaves a null []byte nil, and restic only uses linktarget_raw when it is non-nil.
      if (st.ok() && !raw.empty()) linktarget_raw = std::move(raw);
    } else if (key == "extended_attributes") {
      st = read_xattrs(r, node.xattrs);
    } else if (key == "device") {
      st = r.read_uint_field(node.device);
    } else if (key == "content") {
      st = read_content(r, node.content);
    } else if (key == "subtree") {
      node.subtree.reset();
      if (!r.consume_null()) {
        Id id;
        st = r.read_id(id);
        if (st.ok()) node.subtree = id;
      }
    } else if (key == "error") {
      st = r.read_string_field(node.error);
    } else {
      st = r.skip_value();
    }
    if (!st.ok()) return st.with_context("field \"" + go_quote(key) + "\"");
  }
  if (!have_type) return base::invalid_argument("missing type");
  if (linktarget_raw) node.linktarget.assign(linktarget_raw->begin(), linktarget_raw->end());
  return base::ok_status();
}

}  // namespace

std::string_view node_type_name(NodeType type) {
  size_t i = size_t(type);
  return i < std::size(kTypeNames) ? kTypeNames[i] : std::string_view("unknown");
}

std::optional<NodeType> node_type_from_name(std::string_view name) {
  for (size_t i = 0; i < std::size(kTypeNames); ++i)
    if (kTypeNames[i] == name) return NodeType(i);
  return std::nullopt;
}

bool is_safe_node_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

void append_node_json(base::Bytes& out, const Node& node, const TreeEncodeOptions& opts) {
  JsonWriter w(out);
  write_node(w, node, opts);
}

base::Bytes encode_tree(const std::vector<Node>& nodes, const TreeEncodeOptions& opts) {
  std::vector<const Node*> sorted;
  sorted.reserve(nodes.size());
  size_t estimate = 16;
  for (const Node& n : nodes) {
    sorted.push_back(&n);
    estimate += 330 + n.name.size() + n.linktarget.size() + 67 * n.content.size();
  }
  auto by_name = [](const Node* a, const Node* b) { return a->name < b->name; };
  if (!std::is_sorted(sorted.begin(), sorted.end(), by_name)) {  // directory scans often are
    std::stable_sort(sorted.begin(), sorted.end(), by_name);
  }
  base::Bytes out;
  out.reserve(estimate);
  JsonWriter w(out);
  w.raw("{\"nodes\":[");
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i) w.raw(',');
    write_node(w, *sorted[i], opts);
  }
  w.raw("]}\n");
  return out;
}

base::StatusOr<base::Bytes> encode_valid_tree(const std::vector<Node>& nodes,
                                              const TreeEncodeOptions& opts) {
  std::vector<std::string_view> names;
  names.reserve(nodes.size());
  for (const Node& n : nodes) {
    if (!is_safe_node_name(n.name)) {
      return base::invalid_argument("tree: invalid node name \"" + go_quote(n.name) + "\"" +
                                    ": a name must not be empty, \".\", \"..\" or hold '/' or NUL");
    }
    names.push_back(n.name);
  }
  std::sort(names.begin(), names.end());
  auto dup = std::adjacent_find(names.begin(), names.end());
  if (dup != names.end()) {
    return base::invalid_argument("tree: two nodes named \"" + go_quote(*dup) + "\"");
  }
  return encode_tree(nodes, opts);
}

base::StatusOr<std::vector<Node>> decode_tree(base::ByteSpan json) {
  JsonReader r(base::as_chars(json));
  std::vector<Node> nodes;
  std::string key, scratch;
  auto fail = [](const base::Status& st, std::string_view where) {
    return base::data_loss("tree: " + std::string(where) + st.message());
  };
  if (auto st = r.begin_object(); !st.ok()) return fail(st, "");
  while (true) {
    auto more = r.next_member(key);
    if (!more.ok()) return fail(more.status(), "");
    if (!*more) break;
    fold_json_key(key);
    if (key != "nodes") {
      if (auto st = r.skip_value(); !st.ok()) return fail(st, "");
      continue;
    }
    nodes.clear();
    if (r.consume_null()) continue;
    if (auto st = r.begin_array(); !st.ok()) return fail(st, "nodes: ");
    while (true) {
      auto elem = r.next_element();
      if (!elem.ok()) return fail(elem.status(), "nodes: ");
      if (!*elem) break;
      std::string where = "node " + std::to_string(nodes.size()) + ": ";
      if (r.consume_null()) return base::data_loss("tree: " + where + "null");
      Node& node = nodes.emplace_back();
      base::Status st = read_node(r, node, key, scratch);
      if (st.ok()) {
        auto name = go_unquote(node.name);
        if (!name.ok()) {
          st = name.status().with_context("name");
        } else {
          node.name = std::move(*name);
          if (node.name.empty()) st = base::invalid_argument("empty name");
        }
      }
      if (!st.ok()) {
        if (!node.name.empty()) {
          auto plain = go_unquote(node.name);
          where = "node " + std::to_string(nodes.size() - 1) + " (\"" +
                  go_quote(plain.ok() ? *plain : node.name) + "\"): ";
        }
        return fail(st, where);
      }
    }
  }
  if (auto st = r.finish(); !st.ok()) return fail(st, "");
  return nodes;
}

}  // namespace kura::repo
