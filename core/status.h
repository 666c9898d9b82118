// Status and Result<T>: errors as values, with ZooKeeper's error names.
//
// Every error a client can see is declared once, in FKEMU_ERROR_TABLE, with ZooKeeper's name and
// numeric code (from zookeeper.h), so histories and the ZooKeeper comparison speak one language.
// The fakes' own outcomes (a condition that did not hold, a missing object) are declared beside
// it in FKEMU_STORE_ERROR_TABLE; the protocol decides on them and never answers them.
//
// Result<T> holds a T or a non-OK Status. Both must be looked at ([[nodiscard]]); a Status is
// made from a code only explicitly (Status(Code::NoNode, "why")), so a bare code never turns
// into an error by accident. Propagation:
//
//   Result<Scenario> load_scenario_text(const std::string& text, const std::string& file) {
//     ASSIGN_OR_RETURN(const nlohmann::json j, parse_json(text, file));  // core/json/json_text.h
//     RETURN_IF_ERROR(check_version(j));                                 // a Status
//     return parse_scenario(j, file);
//   }
//
// (Coroutines return with co_return: CO_RETURN_IF_ERROR.)
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace fkemu {

// name, ZooKeeper code, meaning
#define FKEMU_ERROR_TABLE(X)                                                \
  X(Ok, 0, "no error")                                                      \
  X(SystemError, -1, "internal error of the service")                       \
  X(ConnectionLoss, -4, "connection to the service lost")                   \
  X(MarshallingError, -5, "request could not be encoded (data over 1 MiB)") \
  X(Unimplemented, -6, "operation not implemented")                         \
  X(OperationTimeout, -7, "operation timed out")                            \
  X(BadArguments, -8, "invalid arguments (bad path, bad flags)")            \
  X(NoNode, -101, "node does not exist")                                    \
  X(NoAuth, -102, "not authorized by the node's ACL")                       \
  X(BadVersion, -103, "version does not match")                             \
  X(NoChildrenForEphemerals, -108, "ephemeral nodes may not have children") \
  X(NodeExists, -110, "node already exists")                                \
  X(NotEmpty, -111, "node has children")                                    \
  X(InvalidACL, -114, "invalid ACL (empty, unknown scheme, malformed id)")  \
  X(SessionExpired, -112, "session expired or closed")

// name, code (below ZooKeeper's range), meaning
#define FKEMU_STORE_ERROR_TABLE(X)                                                \
  X(ConditionFailed, -1001,                                                       \
    "a store's condition did not hold (DynamoDB ConditionalCheckFailed, S3 412)") \
  X(NotFound, -1002, "no such object or receipt in a store")

enum class Code : int {
#define FKEMU_ERROR_ENUM(name, code, text) name = code,
  FKEMU_ERROR_TABLE(FKEMU_ERROR_ENUM) FKEMU_STORE_ERROR_TABLE(FKEMU_ERROR_ENUM)
#undef FKEMU_ERROR_ENUM
};

std::string_view code_name(Code c);
std::string_view code_meaning(Code c);
// The code of a ZooKeeper error name ("NoNode"); nullopt for any other name, the store codes'
// included (they never appear in histories or expectations).
std::optional<Code> code_from_name(std::string_view name);

class [[nodiscard]] Status {
 public:
  Status() = default;
  explicit Status(Code code, std::string message = {})
      : code_(code), message_(std::move(message)) {}
  static Status ok() { return Status(); }
  bool is_ok() const { return code_ == Code::Ok; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

 private:
  Code code_ = Code::Ok;
  std::string message_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  // A non-OK status; an OK one is a caller's mistake and becomes SystemError.
  Result(Status status) : v_(ok_is_a_mistake(std::move(status))) {}
  explicit Result(Code code, std::string message)
      : v_(ok_is_a_mistake(Status(code, std::move(message)))) {}
  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  // On an error: std::logic_error naming the status (a caller that did not look first).
  const T& value() const& {
    must_be_ok();
    return std::get<0>(v_);
  }
  T& value() & {
    must_be_ok();
    return std::get<0>(v_);
  }
  T&& value() && {
    must_be_ok();
    return std::get<0>(std::move(v_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  Status status() const { return is_ok() ? Status() : std::get<1>(v_); }
  Code code() const { return is_ok() ? Code::Ok : std::get<1>(v_).code(); }

 private:
  static Status ok_is_a_mistake(Status s) {
    return s.is_ok() ? Status(Code::SystemError, "Result made from an OK status without a value")
                     : s;
  }
  void must_be_ok() const {
    if (!is_ok())
      throw std::logic_error("Result::value() of an error: " + std::get<1>(v_).to_string());
  }
  std::variant<T, Status> v_;
};

// The status of a Status or a Result, for the macros below.
inline const Status& status_of(const Status& s) { return s; }
template <class T>
Status status_of(const Result<T>& r) {
  return r.status();
}

}  // namespace fkemu

#define FKEMU_STATUS_CONCAT_INNER(a, b) a##b
#define FKEMU_STATUS_CONCAT(a, b) FKEMU_STATUS_CONCAT_INNER(a, b)

// Returns the status of `expr` (a Status or a Result) from the enclosing function if it is not OK.
#define RETURN_IF_ERROR(expr)                                   \
  do {                                                          \
    ::fkemu::Status fkemu_status_ = ::fkemu::status_of((expr)); \
    if (!fkemu_status_.is_ok()) return fkemu_status_;           \
  } while (false)
#define CO_RETURN_IF_ERROR(expr)                                \
  do {                                                          \
    ::fkemu::Status fkemu_status_ = ::fkemu::status_of((expr)); \
    if (!fkemu_status_.is_ok()) co_return fkemu_status_;        \
  } while (false)

// Evaluates `expr` (a Result<T>); on an error returns its status, else moves the value into the
// declaration or variable `lhs`.
#define ASSIGN_OR_RETURN(lhs, expr) \
  FKEMU_ASSIGN_OR_RETURN_IMPL(FKEMU_STATUS_CONCAT(fkemu_result_, __LINE__), lhs, expr)
#define FKEMU_ASSIGN_OR_RETURN_IMPL(result, lhs, expr) \
  auto result = (expr);                                \
  if (!result.is_ok()) return result.status();         \
  lhs = std::move(result).value()
