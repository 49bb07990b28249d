#include "files/beneath.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

namespace moccha::files {
namespace {

namespace fs = std::filesystem;

class Beneath : public ::testing::TestWithParam<Resolver> {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("beneath-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "a" / "b");
    std::ofstream(root_ / "a" / "b" / "f.txt") << "inside";
    std::ofstream(root_ / "plain") << "x";
    fs::create_directory_symlink(root_ / "a", root_ / "link-to-a");
    fs::create_symlink("/etc/hostname", root_ / "a" / "out");
    dirfd_ = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  void TearDown() override {
    ::close(dirfd_);
    fs::remove_all(root_);
  }
  int open(const std::string& rel, int flags = O_RDONLY) {
    int fd = open_beneath(dirfd_, rel, flags, 0644, GetParam());
    if (fd >= 0) ::close(fd);
    return fd < 0 ? errno : 0;
  }
  fs::path root_;
  int dirfd_ = -1;
};

TEST_P(Beneath, OpensAPlainPathAndNothingThroughASymlink) {
  EXPECT_EQ(open("a/b/f.txt"), 0);
  EXPECT_EQ(open(""), 0);                       // the directory itself
  EXPECT_EQ(open("link-to-a/b/f.txt"), ELOOP);  // an inner component that is a symlink
  EXPECT_EQ(open("a/out"), ELOOP);              // the last one
  EXPECT_EQ(open("a/missing"), ENOENT);
  EXPECT_EQ(open("plain/x"), ENOTDIR);
  EXPECT_NE(open("a/../../etc/hostname"), 0);  // never above the directory
}

TEST_P(Beneath, CreatesUnderTheDirectory) {
  EXPECT_EQ(open("a/new.txt", O_WRONLY | O_CREAT | O_EXCL), 0);
  EXPECT_TRUE(fs::exists(root_ / "a" / "new.txt"));
}

INSTANTIATE_TEST_SUITE_P(BothResolvers, Beneath,
                         ::testing::Values(Resolver::openat2, Resolver::walk));

}  // namespace
}  // namespace moccha::files
