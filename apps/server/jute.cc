#include "apps/server/jute.h"

#include <boost/endian/conversion.hpp>
#include <cstring>
#include <utility>

namespace fkemu::jute {

std::string op_name(int32_t code) {
  switch (static_cast<OpCode>(code)) {
    case OpCode::Notification:
      return "notification";
    case OpCode::Create:
      return "create";
    case OpCode::Delete:
      return "delete";
    case OpCode::Exists:
      return "exists";
    case OpCode::GetData:
      return "getData";
    case OpCode::SetData:
      return "setData";
    case OpCode::GetAcl:
      return "getACL";
    case OpCode::SetAcl:
      return "setACL";
    case OpCode::GetChildren:
      return "getChildren";
    case OpCode::Sync:
      return "sync";
    case OpCode::Ping:
      return "ping";
    case OpCode::GetChildren2:
      return "getChildren2";
    case OpCode::Check:
      return "check";
    case OpCode::Multi:
      return "multi";
    case OpCode::Create2:
      return "create2";
    case OpCode::Reconfig:
      return "reconfig";
    case OpCode::CheckWatches:
      return "checkWatches";
    case OpCode::RemoveWatches:
      return "removeWatches";
    case OpCode::CreateContainer:
      return "createContainer";
    case OpCode::DeleteContainer:
      return "deleteContainer";
    case OpCode::CreateTtl:
      return "createTTL";
    case OpCode::MultiRead:
      return "multiRead";
    case OpCode::Auth:
      return "auth";
    case OpCode::SetWatches:
      return "setWatches";
    case OpCode::Sasl:
      return "sasl";
    case OpCode::GetEphemerals:
      return "getEphemerals";
    case OpCode::GetAllChildrenNumber:
      return "getAllChildrenNumber";
    case OpCode::SetWatches2:
      return "setWatches2";
    case OpCode::AddWatch:
      return "addWatch";
    case OpCode::WhoAmI:
      return "whoAmI";
    case OpCode::CreateSession:
      return "createSession";
    case OpCode::CloseSession:
      return "closeSession";
    case OpCode::Error:
      return "error";
  }
  return "op" + std::to_string(code);
}

void Reader::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  at_ = in_.size();
}

bool Reader::take(size_t n, const char* what) {
  if (!ok()) return false;
  if (left() < n) {
    fail(std::string("the record is cut off in ") + what);
    return false;
  }
  return true;
}

int32_t Reader::i32() {
  if (!take(4, "an int")) return 0;
  int32_t v;
  std::memcpy(&v, in_.data() + at_, 4);
  at_ += 4;
  return boost::endian::big_to_native(v);
}

int64_t Reader::i64() {
  if (!take(8, "a long")) return 0;
  int64_t v;
  std::memcpy(&v, in_.data() + at_, 8);
  at_ += 8;
  return boost::endian::big_to_native(v);
}

bool Reader::boolean() {
  if (!take(1, "a bool")) return false;
  return in_[at_++] != 0;
}

std::optional<std::string> Reader::buffer() {
  const int32_t n = i32();
  if (!ok() || n == -1) return std::nullopt;
  if (n < 0) {
    fail("a negative length " + std::to_string(n));
    return std::nullopt;
  }
  if (!take(static_cast<size_t>(n), "a string or buffer")) return std::nullopt;
  std::string out(in_.substr(at_, static_cast<size_t>(n)));
  at_ += static_cast<size_t>(n);
  return out;
}

std::string Reader::text(const char* what) {
  auto s = buffer();
  if (!s && ok()) fail(std::string(what) + " is null");
  return s.value_or(std::string());
}

int32_t Reader::count(const char* what, size_t min_element_bytes) {
  const int32_t n = i32();
  if (!ok() || n == -1) return 0;
  if (n < 0 || static_cast<size_t>(n) * min_element_bytes > left()) {
    fail(std::string(what) + ": a count of " + std::to_string(n) + " with " +
         std::to_string(left()) + " bytes left");
    return 0;
  }
  return n;
}

std::vector<std::string> Reader::strings(const char* what) {
  const int32_t n = count(what, 4);
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n && ok(); ++i) out.push_back(text(what));
  return out;
}

void Writer::i32(int32_t v) {
  v = boost::endian::native_to_big(v);
  out_.append(reinterpret_cast<const char*>(&v), 4);
}

void Writer::i64(int64_t v) {
  v = boost::endian::native_to_big(v);
  out_.append(reinterpret_cast<const char*>(&v), 8);
}

void Writer::boolean(bool v) { out_.push_back(v ? 1 : 0); }

void Writer::buffer(std::string_view bytes) {
  i32(static_cast<int32_t>(bytes.size()));
  out_.append(bytes);
}

void Writer::null_buffer() { i32(-1); }

void Writer::strings(const std::vector<std::string>& list) {
  i32(static_cast<int32_t>(list.size()));
  for (const std::string& s : list) buffer(s);
}

void Writer::stat(const Stat& s, int64_t ephemeral_owner) {
  i64(s.czxid);
  i64(s.mzxid);
  i64(s.ctime);
  i64(s.mtime);
  i32(s.version);
  i32(s.cversion);
  i32(s.aversion);
  i64(ephemeral_owner);
  i32(s.data_length);
  i32(s.num_children);
  i64(s.pzxid);
}

std::string Writer::frame() const {
  std::string out;
  out.reserve(4 + out_.size());
  const int32_t n = boost::endian::native_to_big(static_cast<int32_t>(out_.size()));
  out.append(reinterpret_cast<const char*>(&n), 4);
  out.append(out_);
  return out;
}

}  // namespace fkemu::jute
