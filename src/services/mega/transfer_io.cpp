#include "services/mega/transfer_io.h"

#include <curl/curl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <system_error>
#include <thread>

#include "core/http_client.h"
#include "core/log.h"

namespace moccha::mega {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kChunkAttempts = 5;

[[noreturn]] void cancelled() {
  throw std::runtime_error("cancelled");
}

std::array<std::uint8_t, 8> to8(std::string_view b) {
  std::array<std::uint8_t, 8> out{};
  for (std::size_t i = 0; i < 8 && i < b.size(); ++i) out[i] = static_cast<std::uint8_t>(b[i]);
  return out;
}

// POSTs one encrypted chunk, retried; returns the reply's body (the completion token after
// the last chunk).
std::string post_chunk(HttpConnection& http, const std::string& url, const std::string& data,
                       Transfer& t) {
  std::string problem;
  for (int attempt = 0; attempt < kChunkAttempts; ++attempt) {
    if (t.cancelled()) cancelled();
    HttpOptions options;
    options.timeout = std::chrono::minutes(5);
    HttpReply r = http.post(url, {}, data, options, "application/octet-stream");
    if (r.reached() && r.status == 200) {
      if (!r.body.empty() && r.body.size() < 4 && r.body[0] == '-')  // "-N": MEGA's error
        throw MegaError(std::atoi(r.body.c_str()), "MEGA refused an upload chunk: " +
                                                       describe_error(std::atoi(r.body.c_str())));
      return r.body;
    }
    problem = r.reached() ? "HTTP " + std::to_string(r.status) : r.error;
    std::this_thread::sleep_for(std::chrono::milliseconds(250 << attempt));
  }
  throw MegaError(kUnreachable, "an upload chunk failed " + std::to_string(kChunkAttempts) +
                                    " times: " + problem);
}

}  // namespace

json upload_file(ApiClient& api, const Key& master, const std::string& parent,
                 const fs::path& local, const std::string& name, Transfer& t, RateLimit& limit) {
  std::ifstream in(local, std::ios::binary);
  if (!in) throw std::system_error(errno, std::generic_category(), "cannot read " + local.string());
  long long size = static_cast<long long>(fs::file_size(local));
  json u = api.call({{"a", "u"}, {"s", size}, {"ssl", 0}, {"v", 2}});
  std::string url = u.value("p", std::string());
  if (url.empty()) throw MegaError(kUnreachable, "MEGA gave no upload address");
  FileKey key;
  key.aes = key_from(random_bytes(16));
  key.nonce = to8(random_bytes(8));
  FileMac mac(key.aes, key.nonce);
  std::string token;
  std::string plain;
  HttpConnection http;  // every chunk on one kept-alive connection
  auto pieces = chunks(static_cast<std::uint64_t>(size));
  if (pieces.empty()) pieces.push_back({0, 0});  // an empty file is still one (empty) POST
  for (auto [offset, length] : pieces) {
    plain.resize(length);
    if (length && !in.read(plain.data(), static_cast<std::streamsize>(length)))
      throw std::runtime_error(local.string() + " changed while being uploaded");
    if (!limit.take(length, t.cancel_flag())) cancelled();
    if (length) mac.add_chunk(plain);  // an empty file's MAC has no chunk (MEGA's SDK, megatools)
    token = post_chunk(http, url + "/" + std::to_string(offset),
                       aes_ctr(key.aes, key.nonce, offset, plain), t);
    t.add_done(static_cast<long long>(length));
  }
  if (token.empty())
    throw MegaError(kUnreachable, "MEGA gave no completion token for the last chunk");
  key.meta_mac = mac.meta_mac();
  json node = {{"h", b64url(token)},
               {"t", 0},
               {"a", encrypt_attributes({{"n", name}}, key.aes)},
               {"k", b64url(aes_ecb_encrypt(master, key.packed()))}};
  json made = api.call({{"a", "p"}, {"t", parent}, {"n", json::array({node})}});
  return made.value("f", json::array()).empty() ? json() : made["f"][0];
}

namespace {

// Receives the decrypted stream: writes it, and feeds the MAC whole chunk by whole chunk.
struct Sink {
  std::FILE* file;
  const FileKey* key;
  FileMac* mac;
  std::vector<std::pair<std::uint64_t, std::uint64_t>>* pieces;
  std::size_t piece = 0;     // the chunk being received
  std::uint64_t offset = 0;  // the next byte's offset in the file
  std::string chunk;         // its plaintext so far
  Transfer* t;
  RateLimit* limit;
  bool write_failed = false;

  std::uint64_t boundary() const {
    return piece < pieces->size() ? (*pieces)[piece].first : offset;
  }

  static size_t on_data(char* data, size_t size, size_t n, void* self) {
    auto* s = static_cast<Sink*>(self);
    size_t bytes = size * n;
    if (s->t->cancelled() || !s->limit->take(bytes, s->t->cancel_flag())) return 0;
    std::string plain =
        aes_ctr(s->key->aes, s->key->nonce, s->offset, std::string_view(data, bytes));
    if (std::fwrite(plain.data(), 1, plain.size(), s->file) != plain.size()) {
      s->write_failed = true;
      return 0;
    }
    s->offset += bytes;
    s->t->add_done(static_cast<long long>(bytes));
    std::string_view rest = plain;
    while (!rest.empty() && s->piece < s->pieces->size()) {
      auto [from, length] = (*s->pieces)[s->piece];
      std::size_t want = length - s->chunk.size();
      std::size_t take = std::min(want, rest.size());
      s->chunk.append(rest.substr(0, take));
      rest.remove_prefix(take);
      if (s->chunk.size() == length) {
        s->mac->add_chunk(s->chunk);
        s->chunk.clear();
        ++s->piece;
      }
    }
    return bytes;
  }
};

// megajs MACs an empty file as one empty chunk where MEGA's SDK and megatools MAC no chunk
// at all; an empty file has no bytes to protect, so either is taken.
bool empty_mac_of_megajs(const FileKey& key) {
  FileMac one(key.aes, key.nonce);
  one.add_chunk({});
  return one.meta_mac() == key.meta_mac;
}

}  // namespace

void download_file(ApiClient& api, const RemoteFile& source, const fs::path& dest, Transfer& t,
                   RateLimit& limit) {
  fs::path part = dest.parent_path() / ("." + dest.filename().string() + ".part");
  struct Cleanup {
    fs::path path;
    bool keep = false;
    ~Cleanup() {
      std::error_code ec;
      if (!keep) fs::remove(path, ec);
    }
  } cleanup{part};
  std::unique_ptr<std::FILE, decltype(&std::fclose)> file(std::fopen(part.c_str(), "wb"),
                                                          std::fclose);
  if (!file)
    throw std::system_error(errno, std::generic_category(), "cannot write " + part.string());
  FileMac mac(source.key.aes, source.key.nonce);
  auto pieces = chunks(static_cast<std::uint64_t>(source.size));
  Sink sink{file.get(), &source.key, &mac, &pieces, 0, 0, {}, &t, &limit};
  std::string problem;
  for (int attempt = 0; sink.offset < static_cast<std::uint64_t>(source.size); ++attempt) {
    if (attempt == kChunkAttempts)
      throw MegaError(kUnreachable, "the download broke off " + std::to_string(kChunkAttempts) +
                                        " times: " + problem);
    if (attempt > 0) {  // resume from the last whole chunk
      std::this_thread::sleep_for(std::chrono::milliseconds(250 << attempt));
      std::uint64_t from = sink.boundary();
      std::fflush(file.get());
      if (::ftruncate(fileno(file.get()), static_cast<off_t>(from)) != 0 ||
          std::fseek(file.get(), static_cast<long>(from), SEEK_SET) != 0)
        throw std::system_error(errno, std::generic_category(), "cannot rewind " + part.string());
      t.add_done(-static_cast<long long>(sink.offset - from));
      sink.offset = from;
      sink.chunk.clear();
      log::info("MEGA download of '{}' resumes at byte {}: {}", dest.filename().string(), from,
                problem);
    }
    json g = api.call(source.g_command, source.folder);  // a fresh address each time
    if (g.contains("e") && g["e"].is_number_integer())
      throw MegaError(g["e"].get<int>(),
                      "MEGA refused the download: " + describe_error(g["e"].get<int>()));
    std::string url = g.value("g", std::string());
    if (url.empty()) throw MegaError(kUnreachable, "MEGA gave no download address");
    std::string range = "/" + std::to_string(sink.offset) + "-" + std::to_string(source.size - 1);
    HttpReply r = http_perform(url + range, {}, [&sink](void* h) {
      curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Sink::on_data);
      curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
      curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);  // stalled 60 s: broken off
      curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    });
    if (t.cancelled()) cancelled();
    if (sink.write_failed)
      throw std::system_error(errno, std::generic_category(), "cannot write " + part.string());
    if (r.reached() && r.status != 200 && r.status != 206)
      throw MegaError(kUnreachable,
                      "the download address answered HTTP " + std::to_string(r.status));
    problem = r.reached() ? "the connection closed early" : r.error;
  }
  if (std::fflush(file.get()) != 0 || ::fsync(fileno(file.get())) != 0)
    throw std::system_error(errno, std::generic_category(), "cannot write " + part.string());
  file.reset();
  if (mac.meta_mac() != source.key.meta_mac &&
      !(source.size == 0 && empty_mac_of_megajs(source.key)))
    throw MegaError(kKey, "the downloaded bytes fail MEGA's MAC check: nothing was kept");
  fs::rename(part, dest);
  cleanup.keep = true;
}

}  // namespace moccha::mega
