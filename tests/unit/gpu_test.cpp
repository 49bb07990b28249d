#include "system/gpu.h"

#include <gtest/gtest.h>

#include "system/sysinfo.h"

namespace moccha::sys {
namespace {

TEST(NvidiaSmi, ParsesEveryGpu) {
  auto text = read_file(std::string(MOCCHA_FIXTURES) + "/nvidia_smi_two_gpus.csv");
  ASSERT_TRUE(text);
  auto gpus = parse_nvidia_smi(*text);
  ASSERT_EQ(gpus.size(), 2u);
  EXPECT_EQ(gpus[0].index, 0);
  EXPECT_EQ(gpus[0].name, "NVIDIA GeForce RTX 3080");
  EXPECT_EQ(gpus[0].mem_used_mb, 2048);
  EXPECT_EQ(gpus[0].mem_total_mb, 10240);
  EXPECT_EQ(gpus[0].util_pct, 45);
  EXPECT_EQ(gpus[1].name, "Tesla T4");
  EXPECT_FALSE(gpus[1].util_pct);  // "[N/A]"
}

TEST(NvidiaSmi, DriverErrorsGiveNoGpu) {
  auto text = read_file(std::string(MOCCHA_FIXTURES) + "/nvidia_smi_no_driver.txt");
  ASSERT_TRUE(text);
  EXPECT_TRUE(parse_nvidia_smi(*text).empty());
  EXPECT_TRUE(parse_nvidia_smi("").empty());
  EXPECT_TRUE(parse_nvidia_smi("0, x, y, z, 1\n").empty());
}

TEST(NvidiaSmi, CrLfAndSpaces) {
  auto gpus = parse_nvidia_smi("  3 ,  A100 , 10 , 40960 , 7 \r\n");
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].index, 3);
  EXPECT_EQ(gpus[0].name, "A100");
  EXPECT_EQ(gpus[0].util_pct, 7);
}

}  // namespace
}  // namespace moccha::sys
