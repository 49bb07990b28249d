#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "core/capped_output.h"
#include "store/database.h"
#include "store/files.h"
#include "store/output_store.h"
#include "system/process.h"

namespace moccha::store {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(Store, AppendedLogIsCappedWhileItsWriterGoesOn) {
  fs::path dir = fs::temp_directory_path() / ("moccha-cap-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path log = dir / "daemon.out";
  std::string error;
  // A daemon writing its output as deluged does: a file opened O_APPEND by spawn_daemon.
  pid_t pid =
      sys::spawn_daemon({"/bin/sh", "-c", "while :; do echo 0123456789abcdef; sleep 0.005; done"},
                        log.string(), error);
  ASSERT_GT(pid, 0) << error;
  for (int i = 0; i < 400 && fs::file_size(log) <= 2048; ++i) ::usleep(10000);
  EXPECT_FALSE(cap_appended_log(log, 1 << 20));  // under the cap: untouched
  ASSERT_TRUE(cap_appended_log(log, 1024));
  EXPECT_GT(fs::file_size(dir / "daemon.out.1"), 1024u);
  for (int i = 0; i < 400 && fs::file_size(log) < 170; ++i) ::usleep(10000);
  sys::stop_daemon(pid, std::chrono::seconds(2));
  // The writer went on at the start of the emptied file: whole lines, no hole of zeros.
  std::string after = slurp(log);
  EXPECT_GE(after.size(), 170u);
  EXPECT_LT(after.size(), 1024u * 64);
  EXPECT_EQ(after.find('\0'), std::string::npos);
  for (std::size_t pos = 0; pos < after.size(); pos += 17)
    ASSERT_EQ(after.substr(pos, 17), "0123456789abcdef\n") << "at " << pos;
  fs::remove_all(dir);
}

TEST(Store, DatabaseKeepsTheNewestAndCountsEverything) {
  fs::path file = fs::temp_directory_path() / ("moccha-db-" + std::to_string(::getpid()) + ".db");
  {
    Database db(file.string(), Retention{5, 3});
    for (int i = 0; i < 12; ++i) db.add_history({"id", "execute", "t", std::to_string(i), true, 0});
    for (int i = 0; i < 3; ++i) db.add_history({"id", "shell", "t", "true", true, 0});
    auto h = db.history(100);
    EXPECT_LE(h.size(), 6u);  // kept, plus at most one pruning step
    EXPECT_EQ(h.front().input, "true");
    EXPECT_EQ(db.count_history({"execute"}), 12);
    EXPECT_EQ(db.count_history({"execute", "shell"}), 15);
    // Each task saved twice, interleaved, as the engine does (queued, then done).
    for (int i = 0; i < 5; ++i) {
      db.save_task("t" + std::to_string(i), "t", {{"status", "queued"}});
      if (i > 0) db.save_task("t" + std::to_string(i - 1), "t", {{"status", "done"}});
    }
    db.save_task("t4", "t", {{"status", "done"}});
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(db.load_task("t" + std::to_string(i)).has_value(), i >= 2) << i;
  }
  Database again(file.string(), Retention{5, 3});  // the counts survive a reopen
  EXPECT_EQ(again.count_history({"execute"}), 12);
  // A huge limit keeps everything (it must not wrap negative and drop all).
  Database all(file.string(), Retention{SIZE_MAX, SIZE_MAX});
  all.save_task("big", "t", {{"status", "done"}});
  all.add_history({"id", "execute", "t", "y", true, 0});
  EXPECT_TRUE(all.load_task("big").has_value());
  EXPECT_TRUE(all.load_task("t4").has_value());
  EXPECT_EQ(all.history(100).front().input, "y");
  fs::remove(file);
  fs::remove(file.string() + "-wal");
  fs::remove(file.string() + "-shm");
}

}  // namespace
}  // namespace moccha::store

namespace moccha::store {
namespace {

struct SpillDir {
  fs::path path = fs::temp_directory_path() / ("moccha-spill-" + std::to_string(::getpid()));
  SpillDir() { fs::remove_all(path); }
  ~SpillDir() { fs::remove_all(path); }
};

TEST(CappedOutput, UnderTheCapNothingIsSpilled) {
  SpillDir d;
  fs::create_directories(d.path);
  CappedOutput out(10, d.path / "a.output", 100);
  EXPECT_EQ(out.append("hello"), "hello");
  out.close();
  EXPECT_EQ(out.text(), "hello");
  EXPECT_FALSE(out.truncated());
  EXPECT_FALSE(out.spilled());
  EXPECT_FALSE(fs::exists(d.path / "a.output"));
}

TEST(CappedOutput, PastTheCapTheWholeOutputIsSpilled) {
  SpillDir d;
  fs::create_directories(d.path);
  CappedOutput out(10, d.path / "a.output", 100);
  EXPECT_EQ(out.append("0123456"), "0123456");
  EXPECT_EQ(out.append("789abcdef"), "789");  // memory keeps the first 10 bytes
  EXPECT_EQ(out.append("ghij"), "");
  out.close();
  EXPECT_EQ(out.text(), "0123456789");
  EXPECT_TRUE(out.truncated());
  EXPECT_TRUE(out.spilled());
  EXPECT_EQ(out.total(), 20u);
  EXPECT_EQ(slurp(d.path / "a.output"), "0123456789abcdefghij");
}

TEST(CappedOutput, TheSpillStopsAtItsLimit) {
  SpillDir d;
  fs::create_directories(d.path);
  CappedOutput out(4, d.path / "a.output", 8);
  out.append("0123456789");
  out.append("more");
  out.close();
  EXPECT_EQ(out.total(), 14u);
  EXPECT_EQ(out.spill_bytes(), 8u);
  EXPECT_EQ(slurp(d.path / "a.output"), "01234567");
  EXPECT_NE(out.spill_error().find("spill limit"), std::string::npos);
}

TEST(CappedOutput, AnUnwritableSpillOnlyCapsTheOutput) {
  CappedOutput out(4, "/proc/moccha-no-such-dir/a.output", 100);
  out.append("0123456789");
  EXPECT_EQ(out.text(), "0123");
  EXPECT_TRUE(out.truncated());
  EXPECT_FALSE(out.spilled());
  EXPECT_NE(out.spill_error().find("cannot create"), std::string::npos);
}

TEST(OutputStore, KeepsTheNewestWithinItsBoundsAndFindsOnlyItsOwnNames) {
  SpillDir d;
  OutputStore store(d.path, {100, 3, 1000});
  auto now = fs::file_time_type::clock::now();
  for (int i = 0; i < 5; ++i) {
    fs::path p = store.path("id" + std::to_string(i), "stdout");
    std::ofstream(p) << std::string(100, 'x');
    fs::last_write_time(p, now - std::chrono::seconds(10 - i));
  }
  store.prune();
  EXPECT_FALSE(store.find("id0", "stdout"));
  EXPECT_FALSE(store.find("id1", "stdout"));
  EXPECT_TRUE(store.find("id4", "stdout"));
  EXPECT_TRUE(store.find("id2", "stdout"));
  EXPECT_FALSE(store.find("id4", "stderr"));
  EXPECT_FALSE(store.find("../id4", "stdout"));
  EXPECT_FALSE(store.find("id4", "stdout/.."));
  OutputStore small(d.path, {100, 10, 150});  // bytes bound: only the newest fits
  small.prune();
  EXPECT_TRUE(small.find("id4", "stdout"));
  EXPECT_FALSE(small.find("id3", "stdout"));
}

}  // namespace
}  // namespace moccha::store

namespace moccha {
namespace {

TEST(CappedOutput, CutsBetweenCharacters) {
  CappedOutput out(5);
  out.append("abcd");
  out.append("\xc3\xa9z");  // é would straddle the cap: none of it is kept
  out.append("q");
  EXPECT_EQ(out.text(), "abcd");
  EXPECT_TRUE(out.truncated());
}

}  // namespace
}  // namespace moccha
