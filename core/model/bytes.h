// Bytes: an immutable, shared byte buffer: a node's data on its way from the client call to the
// user store. Copying a Bytes shares the buffer; nothing can change it once made. Equality
// compares the contents.
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
  std::shared_ptr<const std::string> buffer_;
};

}  // namespace fkemu
