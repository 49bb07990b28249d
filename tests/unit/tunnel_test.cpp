#include <gtest/gtest.h>

#include "services/tunnel/public_url.h"

namespace moccha::tunnel {
namespace {

TEST(TunnelOutput, SshFixedPortForward) {
  // OpenSSH 9.2 with -v, a forward to a port we named.
  std::string out =
      "debug1: Authenticated to 127.0.0.1 ([127.0.0.1]:2222) using \"publickey\".\r\n"
      "debug1: Remote connections from LOCALHOST:9000 forwarded to local address "
      "127.0.0.1:5000\r\n"
      "debug1: remote forward success for: listen 9000, connect 127.0.0.1:5000\r\n";
  EXPECT_EQ(ssh_forwarded_port(out), 9000);
  EXPECT_EQ(ssh_forwarded_port("debug1: Remote connections from LOCALHOST:9000 forwarded"),
            std::nullopt);  // asked for, not yet granted
}

TEST(TunnelOutput, SshPortChosenByTheServer) {
  EXPECT_EQ(ssh_forwarded_port("Allocated port 40123 for remote forward to 127.0.0.1:5000\r\n"),
            40123);
  EXPECT_EQ(ssh_forwarded_port(
                "debug1: remote forward success for: listen 0.0.0.0:8080, connect 127.0.0.1:5000"),
            8080);
}

TEST(TunnelOutput, SshFailuresInUsersWords) {
  EXPECT_NE(ssh_failure("root@127.0.0.1: Permission denied (publickey).").find("refused the key"),
            std::string::npos);
  EXPECT_NE(ssh_failure("Host key verification failed.").find("known_hosts"), std::string::npos);
  EXPECT_NE(ssh_failure("Error: remote port forwarding failed for listen port 9000")
                .find("refused the forward"),
            std::string::npos);
  EXPECT_EQ(ssh_failure("debug1: Reading configuration data /dev/null"), "");
}

TEST(TunnelOutput, CloudflaredQuickTunnelBox) {
  std::string out =
      "2026-12-02T06:00:00Z INF Requesting new quick Tunnel on trycloudflare.com...\n"
      "2026-12-02T06:00:01Z INF |  Your quick Tunnel has been created! Visit it at (it may take "
      "some time to be reachable):  |\n"
      "2026-12-02T06:00:01Z INF |  https://gentle-river-fancy-words.trycloudflare.com   |\n";
  EXPECT_EQ(cloudflared_url(out), "https://gentle-river-fancy-words.trycloudflare.com");
  // The terms link in its first line is not a tunnel.
  EXPECT_EQ(cloudflared_url("INF see https://www.cloudflare.com/website-terms/ and "
                            "Requesting new quick Tunnel on trycloudflare.com..."),
            std::nullopt);
}

TEST(TunnelOutput, NgrokStartedTunnelLine) {
  std::string out =
      "t=2026-12-02T06:00:00+0000 lvl=info msg=\"starting web service\" obj=web "
      "addr=127.0.0.1:4040\n"
      "t=2026-12-02T06:00:01+0000 lvl=info msg=\"started tunnel\" obj=tunnels name=command_line "
      "addr=http://127.0.0.1:5000 url=https://3f2a-203-0-113-7.ngrok-free.app\n";
  EXPECT_EQ(ngrok_url(out), "https://3f2a-203-0-113-7.ngrok-free.app");
  EXPECT_EQ(ngrok_url("t=x lvl=info msg=\"starting web service\" url=https://a.example"),
            std::nullopt);
}

}  // namespace
}  // namespace moccha::tunnel
