// rencode, the serialisation Deluge's RPC speaks (the format of Python's `rencode` module as
// Deluge 2 ships it), to and from nlohmann::json. Pure: no I/O.
//
// Mapping: int <-> integer, float <-> number (encoded as 64-bit float), str/bytes <-> string
// (bytes that are not UTF-8 stay as they are), list/tuple <-> array, dict <-> object (keys
// that are not strings become their decimal text), None <-> null, bool <-> bool.
// The decoder takes bytes from the network: every read is bounds-checked and nesting is
// limited, so malformed input is an error, never a crash. A 32-bit float decodes to the double
// nearest its shortest decimal text (0.1f gives 0.1, not 0.10000000149011612).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace moccha::deluge {

class RencodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string rencode(const nlohmann::json& value);

// Decodes exactly one value occupying all of `data`. Throws RencodeError.
nlohmann::json rdecode(std::string_view data, int max_depth = 100);

// A pull reader: walks rencoded bytes in place, one value at a time, copying nothing. For a
// reply too large to be worth a tree (a thousand torrents' status); rdecode is built on it.
//
//   r.enter();                       // a list: while (r.more()) read or skip one element;
//   while (r.more()) { key; value }  // a dict: each more() is one key and its value
//   r.leave();                       // steps over what is left and out of the container
//
// Every call checks the type byte and the bounds first and throws RencodeError.
class RencodeReader {
 public:
  enum class Type { integer, big_integer, float32, float64, string, boolean, none, list, dict };

  explicit RencodeReader(std::string_view data, int max_depth = 100);

  Type type() const;  // of the value at the cursor
  std::int64_t integer();
  std::string_view big_integer();  // an int sent as decimal digits (beyond 64 bits signed)
  double floating();               // either width, widened exactly
  std::string_view string();       // str and bytes alike: the bytes as sent
  bool boolean();
  void none();
  void enter();  // into the list or dict at the cursor
  bool more();   // whether the innermost open container has another element (or key)
  void leave();
  void skip();  // the whole value at the cursor

  std::size_t offset() const { return pos_; }
  bool at_end() const { return pos_ == d_.size() && open_.empty(); }

 private:
  struct Open {
    bool dict;
    std::int64_t left;  // elements still to come; -1: until the terminator
  };
  unsigned char peek() const;
  std::string_view take(std::size_t n);
  unsigned char expect(Type t);

  std::string_view d_;
  std::size_t pos_ = 0;
  int max_depth_;
  std::vector<Open> open_;
};

// Walks the reply of core.get_torrents_status ({id: {key: value, ...}, ...}) in place: for
// each torrent, `field(key, reader)` reads or skips each value (the reader at it), then
// `done(id)`. Keys that are not strings are skipped. Throws RencodeError for another shape.
void walk_torrent_statuses(std::string_view rencoded,
                           const std::function<void(std::string_view key, RencodeReader&)>& field,
                           const std::function<void(std::string_view id)>& done);

}  // namespace moccha::deluge
