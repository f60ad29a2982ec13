#include "repo/snapshot.h"

#include "repo/gojson.h"
#include "repo/tree.h"

namespace kura::repo {
namespace {

void write_string_list(JsonWriter& w, const std::vector<std::string>& list) {
  w.raw('[');
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) w.raw(',');
    w.string(list[i]);
  }
  w.raw(']');
}

base::Status read_snapshot(JsonReader& r, Snapshot& sn) {
  sn.time = kGoZeroTime;
  bool have_tree = false;
  std::string key;
  RETURN_IF_ERROR(r.begin_object());
  while (true) {
    ASSIGN_OR_RETURN(bool more, r.next_member(key));
    if (!more) break;
    fold_json_key(key);
    base::Status st;
    if (key == "time") {
      st = r.read_time_field(sn.time);
    } else if (key == "parent") {
      sn.parent.reset();
      if (!r.consume_null()) {
        Id id;
        st = r.read_id(id);
        sn.parent = id;
      }
    } else if (key == "tree") {
      have_tree = false;
      if (!r.consume_null()) {
        st = r.read_id(sn.tree);
        have_tree = true;
      }
    } else if (key == "paths") {
      st = r.read_string_list(sn.paths);
    } else if (key == "hostname") {
      st = r.read_string_field(sn.hostname);
    } else if (key == "username") {
      st = r.read_string_field(sn.username);
    } else if (key == "uid") {
      st = r.read_uint_field(sn.uid);
    } else if (key == "gid") {
      st = r.read_uint_field(sn.gid);
    } else if (key == "excludes") {
      st = r.read_string_list(sn.excludes);
    } else if (key == "tags") {
      st = r.read_string_list(sn.tags);
    } else if (key == "original") {
      sn.original.reset();
      if (!r.consume_null()) {
        Id id;
        st = r.read_id(id);
        sn.original = id;
      }
    } else if (key == "program_version") {
      st = r.read_string_field(sn.program_version);
    } else if (key == "summary") {
      sn.summary_json.clear();
      if (!r.consume_null()) {
        if (!r.peek_object()) {
          st = r.error("want an object");
        } else {
          st = r.read_raw_value(sn.summary_json);
        }
      }
    } else {
      st = r.skip_value();
    }
    if (!st.ok()) return st.with_context("field \"" + go_quote(key) + "\"");
  }
  RETURN_IF_ERROR(r.finish());
  if (!have_tree) return base::invalid_argument("no tree");
  return base::ok_status();
}

}  // namespace

base::Bytes encode_snapshot(const Snapshot& sn) {
  base::Bytes out;
  out.reserve(256 + sn.summary_json.size());
  JsonWriter w(out);
  w.raw('{');
  w.key("time", true);
  w.time(sn.time);
  if (sn.parent) {
    w.key("parent");
    w.id(*sn.parent);
  }
  w.key("tree");
  w.id(sn.tree);
  w.key("paths");
  if (sn.paths.empty()) {
    w.raw("null");  // Go writes a nil slice as null
  } else {
    write_string_list(w, sn.paths);
  }
  if (!sn.hostname.empty()) {
    w.key("hostname");
    w.string(sn.hostname);
  }
  if (!sn.username.empty()) {
    w.key("username");
    w.string(sn.username);
  }
  if (sn.uid != 0) {
    w.key("uid");
    w.number(sn.uid);
  }
  if (sn.gid != 0) {
    w.key("gid");
    w.number(sn.gid);
  }
  if (!sn.excludes.empty()) {
    w.key("excludes");
    write_string_list(w, sn.excludes);
  }
  if (!sn.tags.empty()) {
    w.key("tags");
    write_string_list(w, sn.tags);
  }
  if (sn.original) {
    w.key("original");
    w.id(*sn.original);
  }
  if (!sn.program_version.empty()) {
    w.key("program_version");
    w.string(sn.program_version);
  }
  if (!sn.summary_json.empty()) {
    w.key("summary");
    w.raw(sn.summary_json);
  }
  w.raw('}');
  return out;
}

base::StatusOr<Snapshot> decode_snapshot(base::ByteSpan json) {
  JsonReader r(base::as_chars(json));
  Snapshot sn;
  if (auto st = read_snapshot(r, sn); !st.ok()) return base::data_loss("snapshot: " + st.message());
  return sn;
}

}  // namespace kura::repo
