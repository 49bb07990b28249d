#include "files/multipart.h"

#include <algorithm>
#include <cctype>

#include "core/text.h"

namespace moccha::files {
namespace {

constexpr std::size_t kMaxHeaderBlock = 16 * 1024;

// Splits `a; k="v"; k2=v2` into the value and its parameters, unquoting (with \" escapes).
template <class F>
void for_each_param(std::string_view value, F f) {
  std::size_t i = value.find(';');
  while (i != std::string_view::npos && i < value.size()) {
    ++i;
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    std::size_t eq = value.find('=', i);
    if (eq == std::string_view::npos) return;
    std::string key = ascii_lower(trim_ows(value.substr(i, eq - i)));
    std::string v;
    std::size_t j = eq + 1;
    if (j < value.size() && value[j] == '"') {
      for (++j; j < value.size() && value[j] != '"'; ++j) {
        if (value[j] == '\\' && j + 1 < value.size()) ++j;
        v += value[j];
      }
      i = value.find(';', j);
    } else {
      std::size_t semi = value.find(';', j);
      v = std::string(trim_ows(value.substr(j, semi == std::string_view::npos ? semi : semi - j)));
      i = semi;
    }
    f(key, v);
  }
}

std::string percent_decode_utf8(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  if (!ascii_lower(content_type).starts_with("multipart/form-data")) return std::nullopt;
  std::optional<std::string> boundary;
  for_each_param(content_type, [&](const std::string& k, const std::string& v) {
    if (k == "boundary" && !v.empty() && v.size() <= 200) boundary = v;
  });
  return boundary;
}

MultipartParser::MultipartParser(std::string boundary, Callbacks callbacks)
    : delimiter_("\r\n--" + boundary), cb_(std::move(callbacks)) {
  buf_ = "\r\n";  // so a delimiter at the very start matches like every other one
}

void MultipartParser::parse_headers(std::string_view block) {
  PartHeaders h;
  bool disposition = false;
  std::size_t pos = 0;
  while (pos < block.size()) {
    std::size_t end = block.find("\r\n", pos);
    if (end == std::string_view::npos) end = block.size();
    std::string_view line = block.substr(pos, end - pos);
    pos = end + 2;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) throw MultipartError("malformed part header");
    std::string name = ascii_lower(trim_ows(line.substr(0, colon)));
    std::string_view value = trim_ows(line.substr(colon + 1));
    if (name == "content-disposition") {
      if (!ascii_lower(value).starts_with("form-data")) throw MultipartError("part is not form-data");
      disposition = true;
      std::optional<std::string> star;
      for_each_param(value, [&](const std::string& k, const std::string& v) {
        if (k == "name")
          h.name = v;
        else if (k == "filename")
          h.filename = v;
        else if (k == "filename*")
          star = v;
      });
      // RFC 5987: filename*=UTF-8''percent-encoded wins over filename.
      if (star && ascii_lower(*star).starts_with("utf-8''"))
        h.filename = percent_decode_utf8(star->substr(7));
    } else if (name == "content-type") {
      h.content_type = std::string(value);
    }
  }
  if (!disposition) throw MultipartError("part without Content-Disposition");
  cb_.begin(h);
}

void MultipartParser::feed(const char* data, std::size_t size) {
  buf_.append(data, size);
  while (true) {
    switch (state_) {
      case State::epilogue:
        buf_.clear();
        return;
      case State::preamble: {
        std::size_t at = buf_.find(delimiter_);
        if (at == std::string::npos) {
          // Keep only what could still start a delimiter.
          if (buf_.size() >= delimiter_.size()) buf_.erase(0, buf_.size() - delimiter_.size() + 1);
          return;
        }
        buf_.erase(0, at + delimiter_.size());
        state_ = State::after_delimiter;
        break;
      }
      case State::after_delimiter: {
        if (buf_.size() < 2) return;
        if (buf_.compare(0, 2, "--") == 0) {
          state_ = State::epilogue;
          break;
        }
        // Transport padding (spaces, tabs) may follow the delimiter before its CRLF.
        std::size_t crlf = buf_.find("\r\n");
        if (crlf == std::string::npos) {
          if (buf_.size() > 256) throw MultipartError("malformed delimiter line");
          return;
        }
        if (buf_.find_first_not_of(" \t", 0) < crlf) throw MultipartError("malformed delimiter");
        buf_.erase(0, crlf + 2);
        state_ = State::headers;
        break;
      }
      case State::headers: {
        std::size_t end = buf_.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (buf_.size() > kMaxHeaderBlock) throw MultipartError("part headers too large");
          return;
        }
        std::string block = buf_.substr(0, end);
        buf_.erase(0, end + 4);
        state_ = State::body;
        parse_headers(block);
        break;
      }
      case State::body: {
        auto it =
            std::search(buf_.begin(), buf_.end(),
                        std::boyer_moore_horspool_searcher(delimiter_.begin(), delimiter_.end()));
        if (it == buf_.end()) {
          // Everything but a tail that could be the start of the delimiter is data.
          std::size_t keep = std::min(buf_.size(), delimiter_.size() - 1);
          std::size_t emit = buf_.size() - keep;
          if (emit) {
            cb_.data(buf_.data(), emit);
            buf_.erase(0, emit);
          }
          return;
        }
        std::size_t at = static_cast<std::size_t>(it - buf_.begin());
        if (at) cb_.data(buf_.data(), at);
        cb_.end();
        buf_.erase(0, at + delimiter_.size());
        state_ = State::after_delimiter;
        break;
      }
    }
  }
}

}  // namespace moccha::files
