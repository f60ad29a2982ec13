#include "repo/lock_json.h"

#include "repo/gojson.h"
#include "repo/tree.h"

namespace kura::repo {

base::Bytes encode_lock(const Lock& lock) {
  base::Bytes out;
  out.reserve(160 + lock.hostname.size() + lock.username.size());
  JsonWriter w(out);
  w.raw('{');
  w.key("time", true);
  w.time(lock.time);
  w.key("exclusive");
  w.boolean(lock.exclusive);
  w.key("hostname");
  w.string(lock.hostname);
  w.key("username");
  w.string(lock.username);
  w.key("pid");
  w.signed_number(lock.pid);
  if (lock.uid != 0) {
    w.key("uid");
    w.number(lock.uid);
  }
  if (lock.gid != 0) {
    w.key("gid");
    w.number(lock.gid);
  }
  w.raw('}');
  return out;
}

base::StatusOr<Lock> decode_lock(base::ByteSpan json) {
  JsonReader r(base::as_chars(json));
  Lock lock;
  lock.time = kGoZeroTime;
  auto read = [&]() -> base::Status {
    RETURN_IF_ERROR(r.begin_object());
    std::string key;
    while (true) {
      ASSIGN_OR_RETURN(bool more, r.next_member(key));
      if (!more) break;
      fold_json_key(key);
      base::Status st;
      if (key == "time") {
        st = r.read_time_field(lock.time);
      } else if (key == "exclusive") {
        if (!r.consume_null()) {
          auto b = r.read_bool();
          if (b.ok()) lock.exclusive = *b;
          if (!b.ok()) st = b.status();
        }
      } else if (key == "hostname") {
        st = r.read_string_field(lock.hostname);
      } else if (key == "username") {
        st = r.read_string_field(lock.username);
      } else if (key == "pid") {
        if (!r.consume_null()) {
          auto pid = r.read_int();
          if (pid.ok()) lock.pid = *pid;
          if (!pid.ok()) st = pid.status();
        }
      } else if (key == "uid") {
        st = r.read_uint_field(lock.uid);
      } else if (key == "gid") {
        st = r.read_uint_field(lock.gid);
      } else {
        st = r.skip_value();
      }
      if (!st.ok()) return st.with_context("field \"" + go_quote(key) + "\"");
    }
    return r.finish();
  };
  if (auto st = read(); !st.ok()) return base::data_loss("lock: " + st.message());
  return lock;
}

}  // namespace kura::repo
