#include "system/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

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

TEST(Process, OutputPastTheCapIsSpilledWhole) {
  std::string spill = "/tmp/moccha-process-spill-" + std::to_string(::getpid());
  RunOptions o;
  o.argv = {"/bin/sh", "-c", "seq 1 20000; echo e >&2"};
  o.output_limit = 1000;
  o.spill_out = spill + ".out";
  o.spill_err = spill + ".err";
  o.spill_limit = 1 << 20;
  auto r = run(o);
  EXPECT_EQ(r.out.size(), 1000u);
  EXPECT_TRUE(r.out_truncated);
  EXPECT_TRUE(r.out_spilled);
  EXPECT_EQ(r.out_bytes, 108894u);  // seq 1 20000 | wc -c
  EXPECT_FALSE(r.err_spilled);
  EXPECT_EQ(r.err, "e\n");
  FILE* f = std::fopen(o.spill_out.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string whole;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) whole.append(buf, n);
  std::fclose(f);
  EXPECT_EQ(whole.size(), 108894u);
  EXPECT_EQ(whole.substr(0, 1000), r.out);
  EXPECT_TRUE(whole.ends_with("19999\n20000\n"));
  EXPECT_NE(::access(o.spill_err.c_str(), F_OK), 0);  // stderr stayed under the cap
  std::remove(o.spill_out.c_str());
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

TEST(Process, StopsAProcessItDoesNotReap) {
  // As for a daemon an earlier agent left: found by its command line, stopped by polling (the
  // zombie it becomes here, as our child, counts as gone), SIGKILL when SIGTERM is ignored.
  std::string error;
  pid_t polite = spawn_daemon({"sleep", "30"}, "/dev/null", error);
  ASSERT_GT(polite, 0) << error;
  // Right after posix_spawn the kernel may still be setting up the new image (no arguments
  // yet): wait for them, boundedly.
  for (int i = 0; i < 200 && command_line(polite).empty(); ++i) ::usleep(10000);
  EXPECT_EQ(command_line(polite), "sleep 30");
  EXPECT_TRUE(stop_process(polite, std::chrono::seconds(5)));
  EXPECT_EQ(reap_if_exited(polite), "signal 15");
  EXPECT_EQ(command_line(polite), "");

  pid_t stubborn = spawn_daemon({"/bin/sh", "-c", "trap '' TERM; sleep 30 & wait; sleep 30"},
                                "/dev/null", error);
  ASSERT_GT(stubborn, 0) << error;
  ::usleep(100000);  // let the shell set its trap
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(stop_process(stubborn, std::chrono::milliseconds(300)));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_EQ(reap_if_exited(stubborn), "signal 9");
}

}  // namespace
}  // namespace moccha::sys
