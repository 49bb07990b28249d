#include "services/deluge/rencode.h"

#include <bit>
#include <charconv>
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

class Decoder {
 public:
  Decoder(std::string_view data, int max_depth) : d_(data), max_depth_(max_depth) {}

  json value(int depth) {
    if (depth > max_depth_) throw RencodeError("rencode: nested too deeply");
    unsigned char t = byte();
    if (t < INT_POS_FIXED_COUNT) return t;
    if (t >= INT_NEG_FIXED_START && t < INT_NEG_FIXED_START + INT_NEG_FIXED_COUNT)
      return -1 - static_cast<int>(t - INT_NEG_FIXED_START);
    if (t >= STR_FIXED_START && t < STR_FIXED_START + STR_FIXED_COUNT)
      return std::string(take(t - STR_FIXED_START));
    if (t >= LIST_FIXED_START) {
      json arr = json::array();
      for (int i = 0; i < t - LIST_FIXED_START; ++i) arr.push_back(value(depth + 1));
      return arr;
    }
    if (t >= DICT_FIXED_START && t < DICT_FIXED_START + DICT_FIXED_COUNT) {
      json obj = json::object();
      for (int i = 0; i < t - DICT_FIXED_START; ++i) put(obj, depth);
      return obj;
    }
    if (t >= '0' && t <= '9') {
      std::size_t colon = d_.find(':', pos_ - 1);
      if (colon == std::string_view::npos || colon - (pos_ - 1) > 20)
        throw RencodeError("rencode: bad string length");
      std::size_t len = 0;
      auto [p, ec] = std::from_chars(d_.data() + pos_ - 1, d_.data() + colon, len);
      if (ec != std::errc() || p != d_.data() + colon) throw RencodeError("rencode: bad length");
      pos_ = colon + 1;
      return std::string(take(len));
    }
    switch (t) {
      case CHR_NONE:
        return nullptr;
      case CHR_TRUE:
        return true;
      case CHR_FALSE:
        return false;
      case CHR_INT1:
        return static_cast<std::int8_t>(be<std::uint8_t>());
      case CHR_INT2:
        return static_cast<std::int16_t>(be<std::uint16_t>());
      case CHR_INT4:
        return static_cast<std::int32_t>(be<std::uint32_t>());
      case CHR_INT8:
        return static_cast<std::int64_t>(be<std::uint64_t>());
      case CHR_FLOAT32:
        return static_cast<double>(std::bit_cast<float>(be<std::uint32_t>()));
      case CHR_FLOAT64:
        return std::bit_cast<double>(be<std::uint64_t>());
      case CHR_INT: {
        std::size_t end = d_.find(static_cast<char>(CHR_TERM), pos_);
        if (end == std::string_view::npos || end - pos_ > 64)
          throw RencodeError("rencode: bad big integer");
        std::string_view digits = d_.substr(pos_, end - pos_);
        pos_ = end + 1;
        std::int64_t i = 0;
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), i);
        if (ec == std::errc() && p == digits.data() + digits.size()) return i;
        std::uint64_t u = 0;
        auto [p2, ec2] = std::from_chars(digits.data(), digits.data() + digits.size(), u);
        if (ec2 == std::errc() && p2 == digits.data() + digits.size()) return u;
        // Beyond 64 bits: keep the digits rather than lose them.
        return std::string(digits);
      }
      case CHR_LIST: {
        json arr = json::array();
        while (peek() != CHR_TERM) arr.push_back(value(depth + 1));
        ++pos_;
        return arr;
      }
      case CHR_DICT: {
        json obj = json::object();
        while (peek() != CHR_TERM) put(obj, depth);
        ++pos_;
        return obj;
      }
      default:
        throw RencodeError("rencode: unknown type byte " + std::to_string(t));
    }
  }

  bool at_end() const { return pos_ == d_.size(); }

 private:
  void put(json& obj, int depth) {
    json k = value(depth + 1);
    // Python keys are hashable scalars (a tuple key would be a list here; Deluge sends none).
    // A container as a key is refused: its text, nested, grows exponentially with escaping.
    if (k.is_structured()) throw RencodeError("rencode: a dict key must be a scalar");
    std::string key = k.is_string() ? k.get<std::string>() : k.dump();
    obj[key] = value(depth + 1);
  }
  unsigned char byte() {
    if (pos_ >= d_.size()) throw RencodeError("rencode: truncated");
    return static_cast<unsigned char>(d_[pos_++]);
  }
  unsigned char peek() const {
    if (pos_ >= d_.size()) throw RencodeError("rencode: truncated");
    return static_cast<unsigned char>(d_[pos_]);
  }
  std::string_view take(std::size_t n) {
    if (n > d_.size() - pos_) throw RencodeError("rencode: truncated");
    auto s = d_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  template <class U>
  U be() {
    auto s = take(sizeof(U));
    U v = 0;
    for (unsigned char c : s) v = static_cast<U>((v << 8) | c);
    return v;
  }

  std::string_view d_;
  std::size_t pos_ = 0;
  int max_depth_;
};

}  // namespace

std::string rencode(const json& value) {
  std::string out;
  encode(out, value);
  return out;
}

json rdecode(std::string_view data, int max_depth) {
  Decoder d(data, max_depth);
  json v = d.value(0);
  if (!d.at_end()) throw RencodeError("rencode: trailing bytes");
  return v;
}

}  // namespace moccha::deluge
