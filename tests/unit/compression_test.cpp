#include "http/compression.h"

#include <gtest/gtest.h>
#include <zlib.h>

namespace moccha::http {
namespace {

std::string gunzip(const std::string& z) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
  zs.avail_in = static_cast<uInt>(z.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

TEST(Compression, AcceptEncodingAsRfc9110ReadsIt) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("deflate, gzip;q=0.5, br"));
  EXPECT_TRUE(accepts_gzip("GZIP"));
  EXPECT_TRUE(accepts_gzip("x-gzip"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip(" br , * ;q=0.1"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("br, deflate"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
  EXPECT_FALSE(accepts_gzip("*, gzip;q=0"));  // named beats the wildcard
  EXPECT_FALSE(accepts_gzip("*;q=0"));
  EXPECT_FALSE(accepts_gzip("gzipx"));
}

TEST(Compression, GzipRoundTrips) {
  std::string json = "{\"torrents\":[";
  for (int i = 0; i < 1000; ++i)
    json += "{\"id\":\"" + std::to_string(i) + "\",\"state\":\"Paused\"},";
  json += "{}]}";
  auto z = gzip(json);
  ASSERT_TRUE(z);
  EXPECT_EQ(static_cast<unsigned char>((*z)[0]), 0x1f);  // the gzip magic
  EXPECT_EQ(static_cast<unsigned char>((*z)[1]), 0x8b);
  EXPECT_LT(z->size(), json.size() / 5);
  EXPECT_EQ(gunzip(*z), json);
  EXPECT_EQ(gunzip(*gzip("")), "");
}

}  // namespace
}  // namespace moccha::http
