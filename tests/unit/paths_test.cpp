#include "files/paths.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace moccha::files {
namespace {

namespace fs = std::filesystem;

class Paths : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("paths-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    fs::create_directories(base_ / "jail" / "a" / "b");
    std::ofstream(base_ / "jail" / "a" / "b" / "f") << "inside";
    std::ofstream(base_ / "outside") << "outside";
    fs::create_symlink(base_ / "jail" / "a" / "b" / "f", base_ / "jail" / "in-link");
    fs::create_symlink(base_ / "outside", base_ / "jail" / "out-link");
    jail_ = (base_ / "jail").string();
  }
  void TearDown() override { fs::remove_all(base_); }
  Code code_of(const std::string& p) {
    PathPolicy policy(jail_, {jail_});
    try {
      policy.resolve_and_open(p, O_RDONLY);
    } catch (const Error& e) {
      return e.code;
    }
    return Code::io;  // stands for "opened"
  }
  fs::path base_;
  std::string jail_;
};

TEST_F(Paths, ResolveAndOpenTakesPlainPathsAndSymlinksThatStayInside) {
  PathPolicy policy(jail_, {jail_});
  EXPECT_EQ(policy.resolve_and_open("a/./b//f", O_RDONLY).real, fs::path(jail_ + "/a/b/f"));
  EXPECT_EQ(policy.resolve_and_open("a/../a/b/f", O_RDONLY).real, fs::path(jail_ + "/a/b/f"));
  // Through a symlink: the real path is where it leads.
  EXPECT_EQ(policy.resolve_and_open("in-link", O_RDONLY).real, fs::path(jail_ + "/a/b/f"));
  EXPECT_EQ(policy.resolve_and_open("", O_RDONLY | O_DIRECTORY).real, fs::path(jail_));
}

TEST_F(Paths, ResolveAndOpenRefusesWhatLeadsOut) {
  EXPECT_EQ(code_of("out-link"), Code::forbidden);
  EXPECT_EQ(code_of("../outside"), Code::forbidden);
  EXPECT_EQ(code_of((base_ / "outside").string()), Code::forbidden);
  EXPECT_EQ(code_of("a/missing"), Code::not_found);
  EXPECT_EQ(code_of(std::string("a\0b", 3)), Code::invalid);
}

}  // namespace
}  // namespace moccha::files
