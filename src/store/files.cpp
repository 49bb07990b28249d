#include "store/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <random>
#include <system_error>

#include "core/errors.h"
#include "core/hex.h"

namespace moccha::store {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw_if_disk_full(errno, what);
  throw std::system_error(errno, std::generic_category(), what);
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

}  // namespace

void write_file_atomic(const std::filesystem::path& path, const std::string& content,
                       unsigned mode) {
  std::string tmp = path.string() + ".tmp-XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) throw_errno("create " + tmp);
  auto fail = [&](const std::string& what) {
    int saved = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    errno = saved;
    throw_errno(what);
  };
  if (::fchmod(fd, mode) != 0) fail("chmod " + tmp);
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write " + tmp);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync " + tmp);
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw_errno("close " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    throw_errno("rename to " + path.string());
  }
  // Make the rename itself durable.
  int dfd =
      ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void ensure_dir(const std::filesystem::path& dir, unsigned mode) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::system_error(ec, "create directory " + dir.string());
  ::chmod(dir.c_str(), mode);
}

ApiKey load_or_create_api_key(const std::filesystem::path& data_dir) {
  ApiKey out;
  out.file = data_dir / "api_key";
  std::ifstream in(out.file);
  if (in) {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    out.key = trim(text);
    if (!out.key.empty()) return out;
  }
  out.key = random_hex(32);
  ensure_dir(data_dir);
  write_file_atomic(out.file, out.key + "\n", 0600);
  out.generated = true;
  return out;
}

bool cap_appended_log(const std::filesystem::path& path, std::uintmax_t max_bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec || size <= max_bytes) return false;
  fs::copy_file(path, fs::path(path.string() + ".1"), fs::copy_options::overwrite_existing, ec);
  fs::resize_file(path, 0, ec);
  return !ec;
}

}  // namespace moccha::store
