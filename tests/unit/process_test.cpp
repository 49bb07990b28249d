#include "system/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace moccha::sys {
namespace {

TEST(Process, CapturesBothStreamsAndExitCode) {
  auto r = run({{"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}});
  ASSERT_TRUE(r.started);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.timed_out);
}

TEST(Process, MissingProgram) {
  auto r = run({{"moccha-no-such-program"}});
  EXPECT_FALSE(r.started);
  EXPECT_NE(r.error.find("moccha-no-such-program"), std::string::npos);
}

TEST(Process, TimeoutKillsTheWholeGroup) {
  RunOptions o;
  // The grandchild holds stdout open; killing only the shell would leave us reading forever.
  o.argv = {"/bin/sh", "-c", "sleep 30 & sleep 30; echo never"};
  o.timeout = std::chrono::milliseconds(300);
  auto r = run(o);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, 9);
  EXPECT_LT(r.seconds, 3.0);
  EXPECT_EQ(r.out, "");
}

TEST(Process, OutputIsCapped) {
  RunOptions o;
  o.argv = {"/bin/sh", "-c", "head -c 100000 /dev/zero"};
  o.output_limit = 1000;
  auto r = run(o);
  EXPECT_EQ(r.out.size(), 1000u);
  EXPECT_TRUE(r.out_truncated);
  EXPECT_EQ(r.exit_code, 0);
}

TEST(Process, InheritsNoDescriptorBeyondTheStandardThree) {
  int null_fd = ::open("/dev/null", O_RDONLY);
  int fd = ::fcntl(null_fd, F_DUPFD, 50);  // not close-on-exec, like an Asio socket
  ::close(null_fd);
  ASSERT_GE(fd, 50);
  auto r = run({{"/bin/sh", "-c", "ls /proc/self/fd"}});
  ::close(fd);
  EXPECT_EQ(r.out.substr(0, 6), "0\n1\n2\n");
  EXPECT_EQ(r.out.find(std::to_string(fd) + "\n"), std::string::npos) << r.out;
}

TEST(Process, EnvAndCwd) {
  RunOptions o;
  o.argv = {"/bin/sh", "-c", "echo $MOCCHA_T; pwd"};
  o.env = {{"MOCCHA_T", "v1"}};
  o.cwd = "/tmp";
  auto r = run(o);
  EXPECT_EQ(r.out, "v1\n/tmp\n");
}

}  // namespace
}  // namespace moccha::sys
