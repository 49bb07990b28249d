#include "services/deluge/rencode.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace moccha::deluge {
namespace {

using json = nlohmann::json;

constexpr unsigned char CHR_LIST = 59, CHR_DICT = 60, CHR_INT = 61, CHR_INT1 = 62, CHR_INT2 = 63,
                        CHR_INT4 = 64, CHR_INT8 = 65, CHR_FLOAT32 = 66, CHR_FLOAT64 = 44,
                        CHR_TRUE = 67, CHR_FALSE = 68, CHR_NONE = 69, CHR_TERM = 127;
constexpr int INT_POS_FIXED_COUNT = 44;
constexpr int INT_NEG_FIXED_START = 70, INT_NEG_FIXED_COUNT = 32;
constexpr int DICT_FIXED_START = 102, DICT_FIXED_COUNT = 25;
constexpr int STR_FIXED_START = 128, STR_FIXED_COUNT = 64;
constexpr int LIST_FIXED_START = 192, LIST_FIXED_COUNT = 64;

template <class T>
void put_be(std::string& out, T v) {
  using U = std::make_unsigned_t<T>;
  U u = static_cast<U>(v);
  for (int i = sizeof(T) - 1; i >= 0; --i) out += static_cast<char>((u >> (8 * i)) & 0xff);
}

template <class U>
U big_endian(std::string_view s) {
  U v = 0;
  for (unsigned char c : s) v = static_cast<U>((v << 8) | c);
  return v;
}

void encode_int(std::string& out, std::int64_t x) {
  if (x >= 0 && x < INT_POS_FIXED_COUNT) {
    out += static_cast<char>(x);
  } else if (x < 0 && x >= -INT_NEG_FIXED_COUNT) {
    out += static_cast<char>(INT_NEG_FIXED_START - 1 - x);
  } else if (x >= INT8_MIN && x <= INT8_MAX) {
    out += static_cast<char>(CHR_INT1);
    put_be<std::int8_t>(out, static_cast<std::int8_t>(x));
  } else if (x >= INT16_MIN && x <= INT16_MAX) {
    out += static_cast<char>(CHR_INT2);
    put_be<std::int16_t>(out, static_cast<std::int16_t>(x));
  } else if (x >= INT32_MIN && x <= INT32_MAX) {
    out += static_cast<char>(CHR_INT4);
    put_be<std::int32_t>(out, static_cast<std::int32_t>(x));
  } else {
    out += static_cast<char>(CHR_INT8);
    put_be<std::int64_t>(out, x);
  }
}

void encode_string(std::string& out, const std::string& s) {
  if (s.size() < STR_FIXED_COUNT) {
    out += static_cast<char>(STR_FIXED_START + s.size());
  } else {
    out += std::to_string(s.size());
    out += ':';
  }
  out += s;
}

void encode(std::string& out, const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      out += static_cast<char>(CHR_NONE);
      break;
    case json::value_t::boolean:
      out += static_cast<char>(v.get<bool>() ? CHR_TRUE : CHR_FALSE);
      break;
    case json::value_t::number_integer:
      encode_int(out, v.get<std::int64_t>());
      break;
    case json::value_t::number_unsigned: {
      auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) {
        out += static_cast<char>(CHR_INT);
        out += std::to_string(u);
        out += static_cast<char>(CHR_TERM);
      } else {
        encode_int(out, static_cast<std::int64_t>(u));
      }
      break;
    }
    case json::value_t::number_float:
      out += static_cast<char>(CHR_FLOAT64);
      put_be<std::uint64_t>(out, std::bit_cast<std::uint64_t>(v.get<double>()));
      break;
    case json::value_t::string:
      encode_string(out, v.get_ref<const std::string&>());
      break;
    case json::value_t::array:
      if (v.size() < LIST_FIXED_COUNT) {
        out += static_cast<char>(LIST_FIXED_START + v.size());
        for (const auto& e : v) encode(out, e);
      } else {
        out += static_cast<char>(CHR_LIST);
        for (const auto& e : v) encode(out, e);
        out += static_cast<char>(CHR_TERM);
      }
      break;
    case json::value_t::object:
      if (v.size() < DICT_FIXED_COUNT) {
        out += static_cast<char>(DICT_FIXED_START + v.size());
      } else {
        out += static_cast<char>(CHR_DICT);
      }
      for (const auto& [k, e] : v.items()) {
        encode_string(out, k);
        encode(out, e);
      }
      if (v.size() >= DICT_FIXED_COUNT) out += static_cast<char>(CHR_TERM);
      break;
    default:
      throw RencodeError("cannot rencode this JSON value");
  }
}

// The double nearest a float's shortest decimal text: 0.1f reads back as 0.1.
double widen_float32(float f) {
  if (!std::isfinite(f)) return f;
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f);
  double d = f;
  std::from_chars(buf, end, d);
  return d;
}

json big_integer_json(std::string_view digits) {
  std::int64_t i = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), i);
  if (ec == std::errc() && p == digits.data() + digits.size()) return i;
  std::uint64_t u = 0;
  auto [p2, ec2] = std::from_chars(digits.data(), digits.data() + digits.size(), u);
  if (ec2 == std::errc() && p2 == digits.data() + digits.size()) return u;
  return std::string(digits);  // beyond 64 bits: keep the digits rather than lose them
}

json to_json(RencodeReader& r) {
  using T = RencodeReader::Type;
  switch (r.type()) {
    case T::integer:
      return r.integer();
    case T::big_integer:
      return big_integer_json(r.big_integer());
    case T::float32:
      return widen_float32(static_cast<float>(r.floating()));
    case T::float64:
      return r.floating();
    case T::string:
      return std::string(r.string());
    case T::boolean:
      return r.boolean();
    case T::none:
      r.none();
      return nullptr;
    case T::list: {
      json arr = json::array();
      r.enter();
      while (r.more()) arr.push_back(to_json(r));
      r.leave();
      return arr;
    }
    case T::dict: {
      json obj = json::object();
      r.enter();
      while (r.more()) {
        // Python keys are hashable scalars (a tuple key would be a list here; Deluge sends
        // none). A container as a key is refused: its text, nested, grows exponentially.
        T kt = r.type();
        if (kt == T::list || kt == T::dict)
          throw RencodeError("rencode: a dict key must be a scalar");
        json k = to_json(r);
        std::string key = k.is_string() ? k.get<std::string>() : k.dump();
        obj[std::move(key)] = to_json(r);
      }
      r.leave();
      return obj;
    }
  }
  throw RencodeError("rencode: unknown type");
}

}  // namespace

std::string rencode(const json& value) {
  std::string out;
  encode(out, value);
  return out;
}

json rdecode(std::string_view data, int max_depth) {
  RencodeReader r(data, max_depth);
  json v = to_json(r);
  if (!r.at_end()) throw RencodeError("rencode: trailing bytes");
  return v;
}

RencodeReader::RencodeReader(std::string_view data, int max_depth)
    : d_(data), max_depth_(max_depth) {}

unsigned char RencodeReader::peek() const {
  if (pos_ >= d_.size()) throw RencodeError("rencode: truncated");
  return static_cast<unsigned char>(d_[pos_]);
}

std::string_view RencodeReader::take(std::size_t n) {
  if (n > d_.size() - pos_) throw RencodeError("rencode: truncated");
  auto s = d_.substr(pos_, n);
  pos_ += n;
  return s;
}

RencodeReader::Type RencodeReader::type() const {
  unsigned char t = peek();
  if (t < INT_POS_FIXED_COUNT) return Type::integer;
  if (t >= INT_NEG_FIXED_START && t < INT_NEG_FIXED_START + INT_NEG_FIXED_COUNT)
    return Type::integer;
  if (t >= STR_FIXED_START && t < STR_FIXED_START + STR_FIXED_COUNT) return Type::string;
  if (t >= LIST_FIXED_START) return Type::list;
  if (t >= DICT_FIXED_START && t < DICT_FIXED_START + DICT_FIXED_COUNT) return Type::dict;
  if (t >= '0' && t <= '9') return Type::string;
  switch (t) {
    case CHR_INT1:
    case CHR_INT2:
    case CHR_INT4:
    case CHR_INT8:
      return Type::integer;
    case CHR_INT:
      return Type::big_integer;
    case CHR_FLOAT32:
      return Type::float32;
    case CHR_FLOAT64:
      return Type::float64;
    case CHR_TRUE:
    case CHR_FALSE:
      return Type::boolean;
    case CHR_NONE:
      return Type::none;
    case CHR_LIST:
      return Type::list;
    case CHR_DICT:
      return Type::dict;
    default:
      throw RencodeError("rencode: unknown type byte " + std::to_string(t));
  }
}

unsigned char RencodeReader::expect(Type want) {
  if (type() != want) throw RencodeError("rencode: unexpected type");
  return peek();
}

std::int64_t RencodeReader::integer() {
  unsigned char t = expect(Type::integer);
  ++pos_;
  if (t < INT_POS_FIXED_COUNT) return t;
  if (t >= INT_NEG_FIXED_START && t < INT_NEG_FIXED_START + INT_NEG_FIXED_COUNT)
    return -1 - static_cast<int>(t - INT_NEG_FIXED_START);
  switch (t) {
    case CHR_INT1:
      return static_cast<std::int8_t>(big_endian<std::uint8_t>(take(1)));
    case CHR_INT2:
      return static_cast<std::int16_t>(big_endian<std::uint16_t>(take(2)));
    case CHR_INT4:
      return static_cast<std::int32_t>(big_endian<std::uint32_t>(take(4)));
    default:
      return static_cast<std::int64_t>(big_endian<std::uint64_t>(take(8)));
  }
}

std::string_view RencodeReader::big_integer() {
  expect(Type::big_integer);
  std::size_t end = d_.find(static_cast<char>(CHR_TERM), pos_ + 1);
  if (end == std::string_view::npos || end - pos_ > 64)
    throw RencodeError("rencode: bad big integer");
  std::string_view digits = d_.substr(pos_ + 1, end - pos_ - 1);
  std::string_view magnitude = digits.starts_with('-') ? digits.substr(1) : digits;
  if (magnitude.empty() || magnitude.find_first_not_of("0123456789") != std::string_view::npos)
    throw RencodeError("rencode: bad big integer");
  pos_ = end + 1;
  return digits;
}

double RencodeReader::floating() {
  unsigned char t = peek();
  if (t == CHR_FLOAT32) {
    ++pos_;
    return std::bit_cast<float>(big_endian<std::uint32_t>(take(4)));
  }
  expect(Type::float64);
  ++pos_;
  return std::bit_cast<double>(big_endian<std::uint64_t>(take(8)));
}

std::string_view RencodeReader::string() {
  unsigned char t = expect(Type::string);
  if (t >= STR_FIXED_START) {
    ++pos_;
    return take(t - STR_FIXED_START);
  }
  std::size_t colon = d_.find(':', pos_);
  if (colon == std::string_view::npos || colon - pos_ > 20)
    throw RencodeError("rencode: bad string length");
  std::size_t len = 0;
  auto [p, ec] = std::from_chars(d_.data() + pos_, d_.data() + colon, len);
  if (ec != std::errc() || p != d_.data() + colon) throw RencodeError("rencode: bad length");
  pos_ = colon + 1;
  return take(len);
}

bool RencodeReader::boolean() {
  unsigned char t = expect(Type::boolean);
  ++pos_;
  return t == CHR_TRUE;
}

void RencodeReader::none() {
  expect(Type::none);
  ++pos_;
}

void RencodeReader::enter() {
  unsigned char t = peek();
  Type type = this->type();
  if (type != Type::list && type != Type::dict) throw RencodeError("rencode: not a container");
  if (static_cast<int>(open_.size()) >= max_depth_)
    throw RencodeError("rencode: nested too deeply");
  ++pos_;
  if (t == CHR_LIST || t == CHR_DICT)
    open_.push_back({type == Type::dict, -1});
  else if (type == Type::list)
    open_.push_back({false, t - LIST_FIXED_START});
  else
    open_.push_back({true, t - DICT_FIXED_START});
}

bool RencodeReader::more() {
  if (open_.empty()) throw RencodeError("rencode: not in a container");
  Open& o = open_.back();
  if (o.left < 0) return peek() != CHR_TERM;
  if (o.left == 0) return false;
  --o.left;
  return true;
}

void RencodeReader::leave() {
  while (more()) {
    skip();
    if (open_.back().dict) skip();
  }
  if (open_.back().left < 0) ++pos_;  // the terminator more() saw
  open_.pop_back();
}

void RencodeReader::skip() {
  switch (type()) {
    case Type::integer:
      integer();
      break;
    case Type::big_integer:
      big_integer();
      break;
    case Type::float32:
    case Type::float64:
      floating();
      break;
    case Type::string:
      string();
      break;
    case Type::boolean:
      boolean();
      break;
    case Type::none:
      none();
      break;
    case Type::list:
    case Type::dict:
      enter();
      leave();
      break;
  }
}

void walk_torrent_statuses(std::string_view rencoded,
                           const std::function<void(std::string_view, RencodeReader&)>& field,
                           const std::function<void(std::string_view)>& done) {
  RencodeReader r(rencoded);
  if (r.type() != RencodeReader::Type::dict) throw RencodeError("the torrent list is not a dict");
  r.enter();
  while (r.more()) {
    if (r.type() != RencodeReader::Type::string) throw RencodeError("a torrent id is not a string");
    std::string_view id = r.string();
    if (r.type() != RencodeReader::Type::dict)
      throw RencodeError("a torrent's status is not a dict");
    r.enter();
    while (r.more()) {
      if (r.type() != RencodeReader::Type::string) {
        r.skip();
        r.skip();
        continue;
      }
      std::string_view key = r.string();
      std::size_t before = r.offset();
      field(key, r);
      if (r.offset() == before) r.skip();  // the callback took nothing: step over it
    }
    r.leave();
    done(id);
  }
  r.leave();
  if (!r.at_end()) throw RencodeError("rencode: trailing bytes");
}

}  // namespace moccha::deluge
