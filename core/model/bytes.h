// Bytes: an immutable, shared byte buffer: a node's data on its way from the client call to the
// user store. Copying a Bytes shares the buffer; nothing can change it once made. Equality
// compares the contents.
//
// ZooKeeper tells null data from empty data (a client that creates a node with null data reads
// null back): Bytes::null() is empty and says so (is_null()), and its copies do too.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace fkemu {

class Bytes {
 public:
  Bytes() = default;
  // Implicit, as std::string's own: a caller's string becomes the buffer (moved, not copied).
  Bytes(std::string contents)  // NOLINT(google-explicit-constructor)
      : buffer_(contents.empty() ? nullptr
                                 : std::make_shared<const std::string>(std::move(contents))) {}
  Bytes(const char* contents) : Bytes(std::string(contents)) {}  // NOLINT

  // Null data: no bytes, and not an empty buffer either.
  static Bytes null() {
    Bytes b;
    b.buffer_ = null_buffer();
    return b;
  }
  bool is_null() const { return buffer_ && buffer_ == null_buffer(); }

  size_t size() const { return buffer_ ? buffer_->size() : 0; }
  bool empty() const { return size() == 0; }
  std::string_view view() const {
    return buffer_ ? std::string_view(*buffer_) : std::string_view();
  }
  const char* data() const { return view().data(); }
  // Whether both share one buffer (no copy was made between them); two empty Bytes do.
  bool shares_buffer_with(const Bytes& other) const { return buffer_ == other.buffer_; }

  bool operator==(const Bytes& other) const { return view() == other.view(); }

 private:
  static const std::shared_ptr<const std::string>& null_buffer() {
    static const std::shared_ptr<const std::string> none = std::make_shared<const std::string>();
    return none;
  }
  std::shared_ptr<const std::string> buffer_;
};

}  // namespace fkemu
