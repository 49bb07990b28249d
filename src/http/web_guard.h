// What keeps another web page from using a browser's session with the agent, as pure
// functions of header values (no Beast), so they are tested on their own. The server applies
// them to requests that authenticate by the session cookie and to the dashboard's pages;
// requests with the API key in a header are not browsers' and pass unchanged.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moccha::http {

// The host name of a Host header or an Origin's authority ("name:port", "[::1]:5000",
// "http://name:port"), lower-case, without port or brackets.
std::string host_name(std::string_view authority);

// The names the dashboard answers to, against DNS rebinding: an IP literal (a rebinding page
// needs a name of its own), localhost and *.localhost always; the configured names ("*.x" for
// x's subdomains) and, at run time, the tunnel's public name. Thread-safe.
class HostList {
 public:
  explicit HostList(std::vector<std::string> names = {});
  void add(std::string name);
  // A name that changes at run time (the tunnel's public host), asked at each check.
  void add_source(std::function<std::string()> current);
  // `host` is a Host header's value: the name is compared, never the port, so a forwarded port
  // (ssh -L 9000:127.0.0.1:5000) works.
  bool allows(std::string_view host) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> names_;
  std::vector<std::function<std::string()>> sources_;
};

// What a cookie-authenticated request carries beside the cookie.
struct BrowserHeaders {
  std::string_view method;  // "GET", "POST", ...
  std::string_view host;    // the Host header
  std::optional<std::string_view> origin;
  std::optional<std::string_view> sec_fetch_site;
  std::optional<std::string_view> csrf_token;  // X-CSRF-Token
  bool websocket = false;                      // an Upgrade: websocket request
};

// Why the request must be refused (403), or nullopt. Reads and writes alike: an Origin, when
// sent, must be the page's own (its host:port equal to Host; the scheme is the tunnel's
// business), and Sec-Fetch-Site, when sent, same-origin (or none, a typed URL, for a read).
// Writes (anything but GET and HEAD) must also show they are same-origin by one of the two,
// and carry the session's CSRF token; a WebSocket upgrade must carry a same-origin Origin.
std::optional<std::string> cross_site_refusal(const BrowserHeaders& h,
                                              std::string_view session_csrf);

// A cookie's value from a Cookie header ("a=1; b=2"), or nullopt.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace moccha::http

namespace moccha::http {

// The browser sessions the server checks a cookie against (the dashboard's, in web/).
class SessionAuth {
 public:
  virtual ~SessionAuth() = default;
  // The session cookie's name: it carries the agent's port, as cookies are not port-isolated.
  virtual std::string cookie_name() const = 0;
  // The CSRF token of the live session whose cookie this is, its use noted; or nullopt.
  // Called on the I/O thread: memory only.
  virtual std::optional<std::string> csrf_of(std::string_view cookie) = 0;
};

}  // namespace moccha::http
