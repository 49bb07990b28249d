#include "cli/transfer.h"

#include <curl/curl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/format.h"
#include "core/hex.h"

namespace moccha::cli {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Query values keep '/' readable; everything else outside RFC 3986's unreserved is escaped.
std::string url_encode(const std::string& s) {
  return percent_encode(s, "/");
}

// Progress: a redrawn bar on a terminal, a line every few seconds otherwise.
struct Progress {
  std::string label;
  std::uint64_t base = 0;  // bytes already there before this transfer (resume)
  bool tty = ::isatty(2);
  Clock::time_point start = Clock::now(), last{};

  void update(std::uint64_t done, std::uint64_t total, bool final = false) {
    auto now = Clock::now();
    if (!final && now - last < (tty ? std::chrono::milliseconds(200) : std::chrono::seconds(5)))
      return;
    last = now;
    double secs = std::chrono::duration<double>(now - start).count();
    double rate = secs > 0 ? (done - std::min(done, base)) / secs : 0;
    std::string eta = "?";
    if (rate > 0 && total >= done) eta = fmt::format("{:.0f}s", (total - done) / rate);
    double pct = total ? 100.0 * done / total : 0;
    if (tty) {
      int width = 30, filled = static_cast<int>(pct / 100 * width);
      fmt::print(stderr, "\r{} [{}{}] {:5.1f}% {} / {} {}/s ETA {}   ", label,
                 std::string(filled, '#'), std::string(width - filled, '-'), pct, size(done),
                 size(total), size(rate), eta);
      if (final) fmt::print(stderr, "\n");
    } else {
      fmt::print(stderr, "{}: {:.1f}% {} of {} at {}/s\n", label, pct, size(done), size(total),
                 size(rate));
    }
  }
};

struct Curl {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> h{curl_easy_init(), curl_easy_cleanup};
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers{nullptr, curl_slist_free_all};
  std::string body;
  explicit Curl(const Endpoint& ep, const std::string& url) {
    if (!h) throw ClientError("cannot initialise libcurl");
    headers.reset(curl_slist_append(nullptr, ("X-API-Key: " + ep.api_key).c_str()));
    curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  }
  long perform(const Endpoint& ep) {
    CURLcode rc = curl_easy_perform(h.get());
    if (rc != CURLE_OK)
      throw ClientError("transfer with " + ep.url + " failed: " + curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
    return status;
  }
};

size_t to_string(char* d, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(d, s * n);
  return s * n;
}

}  // namespace

int ls(const Client& client, const std::string& path, bool as_json) {
  std::string q = path.empty() ? "" : "?path=" + url_encode(path);
  json r = client.call("GET", "/files" + q);
  if (as_json) {
    fmt::print("{}\n", r.dump(2));
    return 0;
  }
  fmt::print("{}\n", r.value("path", ""));
  for (const auto& e : r["items"]) {
    std::string type = e.value("type", "");
    fmt::print("{:<4} {:>12}  {}  {}{}\n", type, e.value("size", 0ULL), e.value("modified", ""),
               e.value("name", ""), type == "dir" ? "/" : "");
  }
  return 0;
}

int upload(const Client& client, const std::string& local, const std::string& remote_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto size = fs::file_size(local, ec);
  if (ec) throw ClientError("cannot read " + local + ": " + ec.message());
  std::string url = client.endpoint().url + "/upload";
  if (!remote_dir.empty()) url += "?path=" + url_encode(remote_dir);
  Curl c(client.endpoint(), url);
  curl_mime* mime = curl_mime_init(c.h.get());
  std::unique_ptr<curl_mime, decltype(&curl_mime_free)> mime_owner(mime, curl_mime_free);
  curl_mimepart* part = curl_mime_addpart(mime);
  curl_mime_name(part, "file");
  curl_mime_filedata(part, local.c_str());  // streamed from disk
  curl_mime_filename(part, fs::path(local).filename().c_str());
  curl_easy_setopt(c.h.get(), CURLOPT_MIMEPOST, mime);
  curl_easy_setopt(c.h.get(), CURLOPT_WRITEFUNCTION, to_string);
  curl_easy_setopt(c.h.get(), CURLOPT_WRITEDATA, &c.body);
  Progress progress{fs::path(local).filename().string()};
  curl_easy_setopt(c.h.get(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c.h.get(), CURLOPT_XFERINFODATA, &progress);
  curl_easy_setopt(
      c.h.get(), CURLOPT_XFERINFOFUNCTION,
      +[](void* p, curl_off_t, curl_off_t, curl_off_t ultotal, curl_off_t ulnow) {
        static_cast<Progress*>(p)->update(ulnow, ultotal);
        return 0;
      });
  long status = c.perform(client.endpoint());
  if (status != 200) throw_reply_error(status, c.body);
  progress.update(size, size, true);
  json r = json::parse(c.body, nullptr, false);
  fmt::print("{}\n", r.is_object() ? r.value("path", "") : "");
  return 0;
}

int download(const Client& client, const std::string& remote, const std::string& local_arg,
             const std::string& archive_format) {
  namespace fs = std::filesystem;
  // A directory comes as an archive the agent makes as it sends it: no resume, and it is written
  // beside its name and renamed into place whole.
  bool archive = !archive_format.empty();
  fs::path remote_name = fs::path(remote).filename();
  if (remote_name.empty()) remote_name = fs::path(remote).parent_path().filename();
  std::string local = local_arg;
  if (local.empty())
    local = remote_name.string() + (archive ? "." + archive_format : std::string());
  if (local.empty() || local == "." + archive_format) throw ClientError("give a local file name");
  std::string url = client.endpoint().url + "/download?path=" + url_encode(remote);
  if (archive) url += "&format=" + url_encode(archive_format);
  std::error_code ec;
  std::uint64_t have = !archive && fs::exists(local, ec) ? fs::file_size(local, ec) : 0;
  std::string part_file = archive ? local + ".part" : local;
  std::FILE* out = std::fopen(part_file.c_str(), have ? "ab" : "wb");
  if (!out) throw ClientError("cannot write " + local);
  struct Sink {
    std::FILE* f;
    long status = 0;
    std::string error_body;
    CURL* h;
    bool truncated_for_full = false;
  } sink{out, 0, {}, nullptr};
  Curl c(client.endpoint(), url);
  sink.h = c.h.get();
  if (have) curl_easy_setopt(c.h.get(), CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(have));
  curl_easy_setopt(c.h.get(), CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(
      c.h.get(), CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* p) -> size_t {
        auto* k = static_cast<Sink*>(p);
        if (!k->status) curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &k->status);
        if (k->status == 200 && !k->truncated_for_full) {
          // The agent sent the whole file (no resume possible): start over.
          k->truncated_for_full = true;
          if (::ftruncate(::fileno(k->f), 0) != 0) return 0;
          std::fseek(k->f, 0, SEEK_SET);
        }
        if (k->status != 200 && k->status != 206) {
          k->error_body.append(d, s * n);
          return s * n;
        }
        return std::fwrite(d, s, n, k->f) * s;
      });
  Progress progress{local, have};
  curl_easy_setopt(c.h.get(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c.h.get(), CURLOPT_XFERINFODATA, &progress);
  curl_easy_setopt(
      c.h.get(), CURLOPT_XFERINFOFUNCTION,
      +[](void* p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
        auto* pr = static_cast<Progress*>(p);
        pr->update(pr->base + dlnow, pr->base + dltotal);
        return 0;
      });
  CURLcode rc = curl_easy_perform(c.h.get());
  std::fclose(out);
  long status = 0;
  curl_easy_getinfo(c.h.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status == 416 && have) {  // already complete
    fmt::print(stderr, "{}: already complete\n", local);
    return 0;
  }
  if (rc != CURLE_OK && status != 200 && status != 206)
    throw ClientError("download from " + client.endpoint().url +
                      " failed: " + curl_easy_strerror(rc));
  if (status != 200 && status != 206) {
    if (!have) fs::remove(part_file, ec);  // nothing of ours was there: leave nothing
    throw_reply_error(status, sink.error_body);
  }
  if (rc != CURLE_OK) {
    if (archive) {
      fs::remove(part_file, ec);
      throw ClientError(std::string("download interrupted: ") + curl_easy_strerror(rc));
    }
    throw ClientError(std::string("download interrupted (run it again to resume): ") +
                      curl_easy_strerror(rc));
  }
  if (archive) fs::rename(part_file, local);
  auto size = fs::file_size(local, ec);
  progress.update(size, size, true);
  return 0;
}

}  // namespace moccha::cli
