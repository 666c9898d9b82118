// Status and Result<T>: errors as values, with ZooKeeper's error names.
//
// Every error fkemu reports is declared once, in FKEMU_ERROR_TABLE, with ZooKeeper's name and
// numeric code (from zookeeper.h), so histories and the ZooKeeper comparison speak one language.
// Result<T> holds a T or a non-OK Status and must be looked at ([[nodiscard]]).
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
  X(BadVersion, -103, "version does not match")                             \
  X(NoChildrenForEphemerals, -108, "ephemeral nodes may not have children") \
  X(NodeExists, -110, "node already exists")                                \
  X(NotEmpty, -111, "node has children")                                    \
  X(SessionExpired, -112, "session expired or closed")

enum class Code : int {
#define FKEMU_ERROR_ENUM(name, code, text) name = code,
  FKEMU_ERROR_TABLE(FKEMU_ERROR_ENUM)
#undef FKEMU_ERROR_ENUM
};

std::string_view code_name(Code c);
std::string_view code_meaning(Code c);
std::optional<Code> code_from_name(std::string_view name);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message = {}) : code_(code), message_(std::move(message)) {}
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
  Result(Status status) : v_(std::move(status)) {}
  Result(Code code, std::string message = {}) : v_(Status(code, std::move(message))) {}
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
  void must_be_ok() const {
    if (!is_ok())
      throw std::logic_error("Result::value() of an error: " + std::get<1>(v_).to_string());
  }
  std::variant<T, Status> v_;
};

}  // namespace fkemu
