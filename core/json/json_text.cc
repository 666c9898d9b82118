#include "core/json/json_text.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace fkemu {
namespace {

using json = nlohmann::json;

// Builds the value as nlohmann's DOM parser does, with a depth limit and a duplicate-key check.
class Builder {
 public:
  Builder(std::string_view what, int max_depth, const char* format_name)
      : what_(what), max_depth_(max_depth), format_name_(format_name) {}

  bool null() { return put(json(nullptr)); }
  bool boolean(bool v) { return put(json(v)); }
  bool number_integer(json::number_integer_t v) { return put(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return put(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t&) { return put(json(v)); }
  bool string(json::string_t& v) { return put(json(std::move(v))); }
  bool binary(json::binary_t& v) {
    auto& bytes = static_cast<json::binary_t::container_type&>(v);
    return put(v.has_subtype() ? json::binary(std::move(bytes), v.subtype())
                               : json::binary(std::move(bytes)));
  }
  bool start_object(std::size_t) { return open(json::object()); }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    if (stack_.back()->contains(k))
      return fail(std::string(what_) + " has the key \"" + k + "\" twice in one object");
    key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    // nlohmann's text without its "[json.exception.parse_error.101] " prefix.
    std::string text = e.what();
    if (const size_t end = text.find("] ");
        text.rfind("[json.exception.", 0) == 0 && end != std::string::npos)
      text = text.substr(end + 2);
    return fail(std::string(what_) + " is not valid " + format_name_ + ": " + text);
  }

  Result<json> result() && {
    if (!error_.empty()) return Status(Code::BadArguments, error_);
    return std::move(root_);
  }

 private:
  bool put(json v) {
    insert(std::move(v));
    return true;
  }
  json* insert(json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(std::move(v));
      return &top.back();
    }
    json& slot = top[key_];
    slot = std::move(v);
    return &slot;
  }
  bool open(json container) {
    if (static_cast<int>(stack_.size()) >= max_depth_)
      return fail(std::string(what_) + " nests deeper than " + std::to_string(max_depth_) +
                  " levels (the limit)");
    stack_.push_back(insert(std::move(container)));
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }
  bool fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }

  std::string_view what_;
  int max_depth_;
  const char* format_name_;  // JSON or CBOR, for the messages
  json root_;
  std::vector<json*> stack_;  // the open containers; objects' and arrays' elements stay put
  std::string key_;
  std::string error_;
};

Result<json> parse(std::string_view input, std::string_view what, int max_depth,
                   json::input_format_t format, const char* format_name) {
  Builder b(what, max_depth, format_name);
  const bool ok = json::sax_parse(input.begin(), input.end(), &b, format, /*strict=*/true);
  Result<json> r = std::move(b).result();
  if (ok || !r.is_ok()) return r;
  return Status(Code::BadArguments, std::string(what) + " is not valid " + format_name);
}

}  // namespace

Result<json> parse_json(std::string_view text, std::string_view what, int max_depth) {
  return parse(text, what, max_depth, json::input_format_t::json, "JSON");
}

Result<json> parse_cbor(std::string_view bytes, std::string_view what, int max_depth) {
  return parse(bytes, what, max_depth, json::input_format_t::cbor, "CBOR");
}

json parse_cbor_or_throw(std::string_view bytes, std::string_view what) {
  auto r = parse_cbor(bytes, what);
  if (!r.is_ok()) throw std::runtime_error(r.status().message());
  return std::move(*r);
}

std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace fkemu
