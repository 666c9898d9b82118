// The checker's small containers (harness/checker/checker_state.h says how the checker is laid
// out). They hold plain values and allocate nothing per entry: the largest tables have an entry
// per history line, and a million-line history must fit in memory and in cache as far as it can.
// Every member is defined here, inline: they are the checker's innermost loops.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fkemu::checker_detail {

constexpr int64_t kNone = std::numeric_limits<int64_t>::min();  // no zxid
constexpr int64_t kInf = std::numeric_limits<int64_t>::max();   // past every zxid
constexpr size_t kNoLine = std::numeric_limits<size_t>::max();  // no history line

// Strings interned to dense ids 0, 1, 2, ... in order of first sight. The names are stored
// once (a deque: they never move) and can be handed to the model; the index is an open
// addressing table of (hash, id).
class Names {
 public:
  int id(std::string_view s) {
    if (2 * (names_.size() + 1) > slots_.size()) grow();
    const size_t h = std::hash<std::string_view>{}(s);
    for (size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      Slot& x = slots_[i];
      if (x.id < 0) {
        x = Slot{h, size()};
        names_.emplace_back(s);
        return x.id;
      }
      if (x.hash == h && names_[x.id] == s) return x.id;
    }
  }
  int find(std::string_view s) const {  // -1: never interned
    if (slots_.empty()) return -1;
    const size_t h = std::hash<std::string_view>{}(s);
    for (size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& x = slots_[i];
      if (x.id < 0) return -1;
      if (x.hash == h && names_[x.id] == s) return x.id;
    }
  }
  const std::string& operator[](int k) const { return names_[static_cast<size_t>(k)]; }
  int size() const { return static_cast<int>(names_.size()); }

 private:
  struct Slot {
    size_t hash = 0;
    int id = -1;  // -1: free
  };
  void grow() {
    slots_.assign(std::max<size_t>(16, 2 * slots_.size()), Slot{});
    for (int k = 0; k < size(); ++k) {
      const size_t h = std::hash<std::string_view>{}(names_[k]);
      size_t i = h & (slots_.size() - 1);
      while (slots_[i].id >= 0) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = Slot{h, k};
    }
  }
  std::deque<std::string> names_;
  std::vector<Slot> slots_;
};

// A hash map from 64-bit keys, open addressing with linear probing in one array: no
// allocation per entry (the largest maps have an entry per invocation, or per session and node).
template <typename V>
class FlatMap {
 public:
  const V* find(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    for (size_t i = slot_of(key);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.key == key) return &s.value;
    }
  }
  // The value of `key`, inserted as V{} when absent.
  V& operator[](uint64_t key) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    size_t i = slot_of(key);
    for (; slots_[i].used; i = (i + 1) & (slots_.size() - 1))
      if (slots_[i].key == key) return slots_[i].value;
    ++size_;
    slots_[i].used = true;
    slots_[i].key = key;
    return slots_[i].value;
  }

 private:
  struct Slot {
    uint64_t key = 0;
    bool used = false;
    V value{};
  };
  size_t slot_of(uint64_t k) const {  // a 64-bit mix (murmur3's finaliser), then the low bits
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return static_cast<size_t>(k) & (slots_.size() - 1);
  }
  void grow() {
    std::vector<Slot> old =
        std::exchange(slots_, std::vector<Slot>(std::max<size_t>(16, 2 * slots_.size())));
    size_ = 0;
    for (Slot& s : old)
      if (s.used) (*this)[s.key] = std::move(s.value);
  }
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

// Invocation id -> index into ops_. Ids are usually 0, 1, 2, ...: those below a limit index a
// vector, any others a hash map.
class IdIndex {
 public:
  size_t find(int64_t id) const {  // kNoLine: none
    if (dense(id)) {
      const auto i = static_cast<size_t>(id);
      return i < dense_.size() && dense_[i] > 0 ? dense_[i] - 1 : kNoLine;
    }
    const size_t* k = sparse_.find(static_cast<uint64_t>(id));
    return k ? *k : kNoLine;
  }
  void insert(int64_t id, size_t k) {
    if (dense(id)) {
      const auto i = static_cast<size_t>(id);
      if (i >= dense_.size()) dense_.resize(i + 1, 0);
      dense_[i] = k + 1;
    } else {
      sparse_[static_cast<uint64_t>(id)] = k;
    }
  }
  void set_limit(size_t limit) { limit_ = limit; }

 private:
  bool dense(int64_t id) const { return id >= 0 && static_cast<uint64_t>(id) < limit_; }
  size_t limit_ = 0;
  std::vector<size_t> dense_;  // index + 1; 0: none
  FlatMap<size_t> sparse_;
};

// (session, path) as one key.
inline uint64_t pair_key(int session, int path) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(session)) << 32) |
         static_cast<uint32_t>(path);
}

// A value per (session, path): a dense table of sessions x paths entries when that is no
// larger than `limit`, else a hash map.
template <typename V>
class PairTable {
 public:
  PairTable(int sessions, int paths, size_t limit) : paths_(static_cast<size_t>(paths)) {
    const size_t n = static_cast<size_t>(sessions) * paths_;
    if (n <= limit) dense_.resize(n);
  }
  const V* find(int session, int path) const {  // (dense: every entry exists, V{} at first)
    return dense_.empty() ? sparse_.find(pair_key(session, path)) : &dense_[index(session, path)];
  }
  V& at(int session, int path) {  // inserted as V{} when absent
    return dense_.empty() ? sparse_[pair_key(session, path)] : dense_[index(session, path)];
  }

 private:
  size_t index(int session, int path) const {
    return static_cast<size_t>(session) * paths_ + static_cast<size_t>(path);
  }
  size_t paths_;
  std::vector<V> dense_;
  FlatMap<V> sparse_;
};

// First index k >= from with value[k] >= z, over a fixed array (a segment tree of maxima:
// node i covers its children 2i and 2i+1, the leaves are the values, padded with kNone).
class FirstAtLeast {
 public:
  explicit FirstAtLeast(const std::vector<int64_t>& v)
      : n_(v.size()),
        leaves_(std::bit_ceil(std::max<size_t>(v.size(), 1))),
        max_(2 * leaves_, kNone) {
    std::copy(v.begin(), v.end(), max_.begin() + static_cast<std::ptrdiff_t>(leaves_));
    for (size_t i = leaves_ - 1; i >= 1; --i) max_[i] = std::max(max_[2 * i], max_[2 * i + 1]);
  }
  size_t find(size_t from, int64_t z) const {
    if (from >= n_) return kNoLine;
    // Up from the leaf `from` to the first subtree at or right of it that holds a value >= z,
    size_t i = from + leaves_;
    while (max_[i] < z) {
      while (i & 1) i >>= 1;  // a right child: its parent's right neighbour comes next
      if (i == 0) return kNoLine;
      ++i;
    }
    // then down to that subtree's leftmost such leaf.
    while (i < leaves_) {
      i *= 2;
      if (max_[i] < z) ++i;
    }
    const size_t k = i - leaves_;
    return k < n_ ? k : kNoLine;
  }

 private:
  size_t n_, leaves_;
  std::vector<int64_t> max_;
};

}  // namespace fkemu::checker_detail
