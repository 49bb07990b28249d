#include "system/sysinfo.h"

#include <gtest/gtest.h>

namespace moccha::sys {
namespace {

std::string fixture(const std::string& name) {
  auto text = read_file(std::string(MOCCHA_FIXTURES) + "/" + name);
  EXPECT_TRUE(text) << name;
  return text.value_or("");
}

TEST(ProcStat, BusyShareBetweenTwoReadings) {
  auto a = parse_proc_stat(fixture("proc_stat_1"));
  auto b = parse_proc_stat(fixture("proc_stat_2"));
  ASSERT_TRUE(a && b);
  // +100 user, +100 system, +200 idle between the two files.
  EXPECT_DOUBLE_EQ(cpu_percent(*a, *b), 50.0);
  EXPECT_DOUBLE_EQ(cpu_percent(*a, *a), 0.0);
  EXPECT_DOUBLE_EQ(cpu_percent(*b, *a), 0.0);  // counters going back never give a negative
}

TEST(ProcStat, RejectsOtherText) {
  EXPECT_FALSE(parse_proc_stat("cpu0 1 2 3 4\n"));
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("cpu  1 2\n"));
}

TEST(ProcStat, LiveFileParses) {
  auto text = read_file("/proc/stat");
  ASSERT_TRUE(text);
  auto t = parse_proc_stat(*text);
  ASSERT_TRUE(t);
  EXPECT_GT(t->total, 0u);
  EXPECT_LE(t->busy, t->total);
}

TEST(MemInfo, UsesMemAvailable) {
  auto m = parse_meminfo(fixture("meminfo"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->total_bytes, 16314948ull * 1024);
  EXPECT_EQ(m->available_bytes, 7734188ull * 1024);
  EXPECT_EQ(m->used_bytes(), (16314948ull - 7734188ull) * 1024);
}

TEST(MemInfo, OldKernelWithoutMemAvailable) {
  auto m = parse_meminfo(fixture("meminfo_old_kernel"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->available_bytes, (500000ull + 100000 + 400000) * 1024);
}

TEST(MemInfo, MissingTotalIsNoReading) {
  EXPECT_FALSE(parse_meminfo("MemFree: 1 kB\n"));
}

TEST(ProcStatus, Rss) {
  EXPECT_EQ(parse_rss_bytes(fixture("proc_status")), 9876ull * 1024);
  EXPECT_FALSE(parse_rss_bytes("Name: x\n"));
}

TEST(Disk, RootHasSpace) {
  auto d = disk_usage("/");
  ASSERT_TRUE(d);
  EXPECT_GT(d->total_bytes, 0u);
  EXPECT_LE(d->free_bytes, d->total_bytes);
  EXPECT_FALSE(disk_usage("/no/such/path/anywhere"));
}

}  // namespace
}  // namespace moccha::sys
