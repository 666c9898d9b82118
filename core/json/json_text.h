// JSON (and the CBOR of stored values) read from outside fkemu: request bodies, WebSocket
// messages, scenario files, traces, calibration tables, the state file; and JSON text written
// for outside (json_text).
//
// nlohmann's parser accepts any nesting and lets the last of two equal keys win. A value nested
// tens of thousands deep is built, and then copied or destroyed recursively, which overflows
// the stack (a request body of 60,000 nested objects crashed `fkemu serve`), and a duplicate
// key makes `{"op": "get_data", "op": "delete"}` a delete. These parsers count the depth while
// parsing, through nlohmann's SAX interface, and stop before building anything deeper than the
// limit; they refuse a key that an object already has.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace fkemu {

// Compact JSON text of `j` (history lines, answers, messages). Strings may hold bytes a client
// sent that are not UTF-8 (a path, a field name): they become U+FFFD instead of an exception.
std::string json_text(const nlohmann::json& j);

// Deeper than any document fkemu writes or reads (a trace nests 6 levels).
inline constexpr int kMaxJsonDepth = 64;

// The value of a JSON text, or BadArguments with a message that starts with `what` ("the body",
// a file name) and names the problem: "WHAT is not valid JSON: ...", "WHAT nests deeper than 64
// levels", "WHAT has the key "k" twice in one object".
Result<nlohmann::json> parse_json(std::string_view text, std::string_view what,
                                  int max_depth = kMaxJsonDepth);

// The same for CBOR bytes (values in the state file).
Result<nlohmann::json> parse_cbor(std::string_view bytes, std::string_view what,
                                  int max_depth = kMaxJsonDepth);
// parse_cbor, throwing std::runtime_error with the message (for loaders that catch).
nlohmann::json parse_cbor_or_throw(std::string_view bytes, std::string_view what);

}  // namespace fkemu
