#include "cli/cnl_relay.h"

#include <fmt/core.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <initializer_list>
#include <memory>
#include <utility>

#include "core/worker_pool.h"
#include "http/router.h"
#include "http/server.h"
#include "services/jdownloader/cnl.h"

namespace moccha::cli {
namespace {

using http::ApiRequest;
using http::ApiResponse;
using http::Responder;

ApiResponse text(int status, std::string body, std::string type = "text/plain") {
  ApiResponse r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(type);
  // Click'n'Load is meant to be posted to from any page (JDownloader and pyLoad allow every
  // origin too); what it can do is add links to the queue, nothing else.
  r.headers = {{"Access-Control-Allow-Origin", "*"},
               {"Access-Control-Allow-Methods", "OPTIONS, GET, POST"}};
  return r;
}

// The form's fields: the query's and the urlencoded body's.
std::map<std::string, std::string> form_of(const ApiRequest& req) {
  auto form = req.query;
  for (auto& [k, v] : http::parse_query(req.body)) form[k] = v;
  return form;
}

struct Relay {
  const Client& client;
  std::string service;
  WorkerPool pool{"cnl", 2};

  // Sends each link to the agent; answers as JD does: "success" or "failed <why>".
  void forward(const cnl::Package& p, Responder respond) {
    auto r = std::make_shared<Responder>(std::move(respond));
    pool.post([this, p, r] {
      int sent = 0;
      std::string first_error;
      for (const auto& link : p.links) {
        nlohmann::json body = {{"url", link}};
        if (!service.empty()) body["service"] = service;
        try {
          auto reply = client.call("POST", "/downloads", body);
          ++sent;
          fmt::print("{} -> {} ({}){}\n", link, reply.value("service", ""), reply.value("id", ""),
                     p.name.empty() ? "" : "  [" + p.name + "]");
        } catch (const ClientError& e) {
          if (first_error.empty()) first_error = e.what();
          fmt::print(stderr, "moccha cnl-relay: {}: {}\n", link, e.what());
        }
      }
      std::fflush(stdout);
      if (sent == 0) return (*r)(text(502, "failed " + first_error + "\r\n"));
      (*r)(text(200, "success\r\n"));
    });
  }
};

}  // namespace

bool is_loopback(const std::string& address) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(address, ec);
  if (ec) return false;
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

int cnl_relay(const Client& client, const std::string& listen, const std::string& service) {
  auto colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  if (!host.empty() && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = colon == std::string::npos ? 9666 : std::atoi(listen.c_str() + colon + 1);
  if (!is_loopback(host) || port <= 0 || port > 65535) {
    fmt::print(stderr,
               "moccha cnl-relay: --listen must be a loopback address and port (the browser "
               "posts to its own machine), not '{}'\n",
               listen);
    return 2;
  }
  Relay relay{client, service};
  http::Router router;
  auto route = [&](const char* method, const char* path, http::Handler h) {
    router.add({method, path,
                [h = std::move(h)](ApiRequest& req, Responder respond) {
                  // The peer, never the Host header: a page elsewhere cannot get in by naming
                  // localhost.
                  if (!is_loopback(req.client)) return respond(text(403, "forbidden\r\n"));
                  h(req, std::move(respond));
                },
                http::BodyKind::raw, /*is_public=*/true});
  };
  route("GET", "/jdcheck.js", http::sync([](const ApiRequest&) {
          return text(200, "jdownloader=true;\r\nvar version='moccha';\r\n", "text/javascript");
        }));
  route("GET", "/crossdomain.xml", http::sync([](const ApiRequest&) {
          return text(200,
                      "<?xml version=\"1.0\"?>\n<!DOCTYPE cross-domain-policy SYSTEM "
                      "\"http://www.macromedia.com/xml/dtds/cross-domain-policy.dtd\">\n"
                      "<cross-domain-policy>\n<allow-access-from domain=\"*\" />\n"
                      "</cross-domain-policy>\n",
                      "text/xml");
        }));
  for (const char* method : {"GET", "POST"})
    route(method, "/flash/",
          http::sync([](const ApiRequest&) { return text(200, "JDownloader\r\n"); }));
  for (auto [path, crypted] : std::initializer_list<std::pair<const char*, bool>>{
           {"/flash/add", false}, {"/flash/addcrypted2", true}}) {
    route("POST", path, [&relay, crypted](ApiRequest& req, Responder respond) {
      cnl::Package p;
      try {
        p = cnl::read_form(form_of(req), crypted);
      } catch (const cnl::Error& e) {
        return respond(text(400, std::string("failed ") + e.what() + "\r\n"));
      }
      relay.forward(p, std::move(respond));
    });
  }

  boost::asio::io_context ioc(1);
  http::ServerOptions options;
  options.host = host;
  options.port = static_cast<unsigned short>(port);
  options.api_key = "cnl-relay-takes-no-key";  // every route is public
  options.rate_limit.enabled = false;
  http::Server server(ioc, options, router);
  try {
    server.listen();
  } catch (const std::exception& e) {
    fmt::print(stderr, "moccha cnl-relay: cannot listen on {}: {}\n", listen, e.what());
    return 1;
  }
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (!ec) server.shutdown([&] { ioc.stop(); });
  });
  server.start();
  fmt::print("moccha cnl-relay: Click'n'Load on http://{}:{} -> {}\n", host, port,
             client.endpoint().url);
  std::fflush(stdout);
  ioc.run();
  relay.pool.join();
  return 0;
}

}  // namespace moccha::cli
