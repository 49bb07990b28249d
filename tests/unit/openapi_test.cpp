#include "api/openapi.h"

#include <gtest/gtest.h>

#include "http/router.h"

namespace moccha::api {
namespace {

http::Handler nothing() {
  return [](http::ApiRequest&, http::Responder) {};
}

TEST(OpenApi, MadeFromTheRouteTable) {
  http::Router r;
  namespace s = http::schema;
  r.add({"GET", "/health", nothing(), http::BodyKind::none, true}, {"system", "Liveness"});
  r.add({"GET", "/download/{filepath*}", nothing()}, {"files",
                                                      "Download",
                                                      {{"format", "an archive format"}},
                                                      nullptr,
                                                      nullptr,
                                                      "text/plain",
                                                      {404}});
  r.add({"POST", "/files/mkdir", nothing(), http::BodyKind::json},
        {"files",
         "Mkdir",
         {},
         s::object({{"path", s::string()}}, {"path"}),
         s::reply({{"path", s::string()}}),
         "",
         {409},
         {{"path", "a"}},
         201});
  nlohmann::json d = openapi_document(r, "9.9");
  EXPECT_EQ(d["openapi"], "3.1.0");
  EXPECT_EQ(d["info"]["version"], "9.9");
  EXPECT_EQ(d["paths"]["/health"]["get"]["security"], nlohmann::json::array());
  EXPECT_FALSE(d["paths"]["/health"]["get"]["responses"].contains("401"));  // public
  const auto& dl = d["paths"]["/download/{filepath}"]["get"];
  EXPECT_EQ(dl["parameters"][0]["name"], "filepath");
  EXPECT_EQ(dl["parameters"][0]["in"], "path");
  EXPECT_EQ(dl["parameters"][1]["name"], "format");
  EXPECT_TRUE(dl["responses"]["200"]["content"].contains("text/plain"));
  for (const char* code : {"401", "404", "429", "500", "503"})
    EXPECT_TRUE(dl["responses"].contains(code));
  const auto& mk = d["paths"]["/files/mkdir"]["post"];
  EXPECT_TRUE(mk["responses"].contains("201"));
  EXPECT_FALSE(mk["responses"].contains("200"));
  EXPECT_TRUE(mk["responses"].contains("400"));  // a body: it may be malformed
  EXPECT_TRUE(mk["responses"].contains("413"));
  EXPECT_EQ(mk["requestBody"]["content"]["application/json"]["example"]["path"], "a");
  EXPECT_EQ(d["components"]["responses"]["E409"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Error");
}

TEST(OpenApi, AnUndocumentedRouteIsABug) {
  http::Router r;
  r.add({"GET", "/secret", nothing()});
  EXPECT_THROW(openapi_document(r, "1"), std::logic_error);
}

}  // namespace
}  // namespace moccha::api
