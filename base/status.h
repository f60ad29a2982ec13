// Status and StatusOr<T>: errors as values. Project code never throws; every fallible call
// returns one of these and says what failed and on which object.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace kura::base {

enum class Code {
  kOk = 0,
  kCancelled,
  kInvalidArgument,     // bad input from the user or the caller
  kNotFound,            // file, object, snapshot, key... does not exist
  kAlreadyExists,       // refusing to overwrite
  kPermissionDenied,    // the OS or the server refused access
  kResourceExhausted,   // disk full, quota exceeded
  kFailedPrecondition,  // e.g. the repository is locked
  kAborted,
  kOutOfRange,          // read past the end
  kUnimplemented,
  kInternal,            // a bug
  kUnavailable,         // transient: network, server busy; may be retried
  kDataLoss,            // corruption: MAC failure, hash mismatch, truncated or undecodable data
  kUnauthenticated,     // wrong password, bad credentials
};

std::string_view code_name(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "context: message" — used to add the object or step an error happened on.
  Status with_context(std::string_view context) const;
  std::string to_string() const;

  void ignore() const {}

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status ok_status() { return Status(); }
Status cancelled(std::string message);
Status invalid_argument(std::string message);
Status not_found(std::string message);
Status already_exists(std::string message);
Status permission_denied(std::string message);
Status resource_exhausted(std::string message);
Status failed_precondition(std::string message);
Status aborted(std::string message);
Status out_of_range(std::string message);
Status unimplemented(std::string message);
Status internal_error(std::string message);
Status unavailable(std::string message);
Status data_loss(std::string message);
Status unauthenticated(std::string message);

// Maps an errno value to a Status: "<what>: <strerror>".
Status errno_status(int err, std::string_view what);

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = Status(Code::kInternal, "StatusOr built from an OK status");
  }
  StatusOr(const T& value) : value_(value) {}  // NOLINT
  StatusOr(T&& value) : value_(std::move(value)) {}  // NOLINT
  template <typename U,
            typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                        !std::is_same_v<std::decay_t<U>, T> &&
                                        !std::is_same_v<std::decay_t<U>, Status> &&
                                        !std::is_same_v<std::decay_t<U>, StatusOr<T>>>>
  StatusOr(U&& value) : value_(std::forward<U>(value)) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

  void ignore() const {}

 private:
  Status status_;
  std::optional<T> value_;
};

inline const Status& to_status(const Status& s) { return s; }
template <typename T>
const Status& to_status(const StatusOr<T>& s) {
  return s.status();
}

}  // namespace kura::base

#define KURA_CONCAT_INNER_(a, b) a##b
#define KURA_CONCAT_(a, b) KURA_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                                                    \
  do {                                                                           \
    auto&& kura_status_ = (expr);                                                \
    if (!kura_status_.ok()) return ::kura::base::to_status(kura_status_);        \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(KURA_CONCAT_(kura_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return std::move(tmp).status(); \
  lhs = std::move(tmp).value()
