// Jute, ZooKeeper's wire encoding, as ZooKeeper 3.8's clients speak it (zookeeper.jute): the
// records fkemu serve's ZooKeeper listener reads and writes (zk_session.h). Integers are
// big-endian; a string or buffer is its length (int32, -1 for null) and its bytes; a vector
// is its count (-1 for null) and its elements; a bool is one byte.
//
// The reader never reads past its input: a cut record, a negative length other than -1, a
// length beyond what is left, or a vector too long for the bytes left makes it fail, and it
// names the first such problem (error()). Every read after a failure gives a zero value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/stat.h"

namespace fkemu::jute {

// Operation codes (ZooDefs.OpCode).
enum class OpCode : int32_t {
  Notification = 0,
  Create = 1,
  Delete = 2,
  Exists = 3,
  GetData = 4,
  SetData = 5,
  GetAcl = 6,
  SetAcl = 7,
  GetChildren = 8,
  Sync = 9,
  Ping = 11,
  GetChildren2 = 12,
  Check = 13,
  Multi = 14,
  Create2 = 15,
  Reconfig = 16,
  CheckWatches = 17,
  RemoveWatches = 18,
  CreateContainer = 19,
  DeleteContainer = 20,
  CreateTtl = 21,
  MultiRead = 22,
  Auth = 100,
  SetWatches = 101,
  Sasl = 102,
  GetEphemerals = 103,
  GetAllChildrenNumber = 104,
  SetWatches2 = 105,
  AddWatch = 106,
  WhoAmI = 107,
  CreateSession = -10,
  CloseSession = -11,
  Error = -1,
};
// "getData", "create2", ...; "op<N>" for a code ZooKeeper does not have.
std::string op_name(int32_t code);

// The reserved xids of ZooKeeper's client: a watch event, a ping, an auth packet, setWatches.
inline constexpr int32_t kNotificationXid = -1;
inline constexpr int32_t kPingXid = -2;
inline constexpr int32_t kAuthXid = -4;
inline constexpr int32_t kSetWatchesXid = -8;

// Watcher.Event.KeeperState values.
inline constexpr int32_t kSyncConnected = 3;

class Reader {
 public:
  // Reads `in`, which must outlive the reader (a temporary string is refused).
  explicit Reader(std::string_view in) : in_(in) {}
  explicit Reader(std::string&&) = delete;
  int32_t i32();
  int64_t i64();
  bool boolean();
  // A string or buffer; null (length -1) reads as nullopt.
  std::optional<std::string> buffer();
  // A string that must not be null (a path): null fails the read.
  std::string text(const char* what);
  // A vector of strings; null reads as empty.
  std::vector<std::string> strings(const char* what);
  // The count of a vector whose elements the caller reads (null: 0); fails if fewer than
  // min_element_bytes * count bytes are left.
  int32_t count(const char* what, size_t min_element_bytes);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t left() const { return in_.size() - at_; }
  void fail(std::string why);

 private:
  bool take(size_t n, const char* what);
  std::string_view in_;
  size_t at_ = 0;
  std::string error_;
};

class Writer {
 public:
  void i32(int32_t v);
  void i64(int64_t v);
  void boolean(bool v);
  void buffer(std::string_view bytes);
  void null_buffer();
  // Bytes already encoded (a record after a header).
  void raw(std::string_view bytes) { out_.append(bytes); }
  void strings(const std::vector<std::string>& list);
  // ZooKeeper's Stat, with ephemeralOwner as the owning session's 64-bit id.
  void stat(const Stat& s, int64_t ephemeral_owner);

  const std::string& bytes() const { return out_; }
  // The bytes behind a 4-byte big-endian length: one frame of the wire.
  std::string frame() const;

 private:
  std::string out_;
};

}  // namespace fkemu::jute
