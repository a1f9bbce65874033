// svinit's HTTP endpoint (SVKIT_HTTP_LISTEN) and its termination message,
// against svinit as PID 1 in a PID namespace, over real TCP sockets. The
// services change state when the test writes to their FIFOs: no timing.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "../lib/json.hpp"
#include "container.hpp"

namespace svkit::test {
namespace {

struct Reply {
  int status = 0;  // 0: no reply (closed, refused)
  std::string body;
};

UniqueFd connect_to(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(uint16_t(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return {};
  return fd;
}

// Sends `request` as it is, reads until the server closes.
Reply send_raw(int port, const std::string& request) {
  UniqueFd fd = connect_to(port);
  if (!fd) return {};
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) < 0) return {};
  std::string raw;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{fd.get(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, int(left.count())) <= 0) {
      ADD_FAILURE() << "no complete reply within " << kDeadline.count() << " ms to " << request;
      return {};
    }
    char buf[65536];
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, size_t(n));
  }
  Reply reply;
  if (raw.starts_with("HTTP/1.1 ")) reply.status = std::atoi(raw.c_str() + 9);
  const auto body = raw.find("\r\n\r\n");
  if (body != std::string::npos) reply.body = raw.substr(body + 4);
  return reply;
}

Reply get(int port, const std::string& target) {
  return send_raw(port, "GET " + target + " HTTP/1.1\r\nHost: test\r\n\r\n");
}

// The port svinit reports it listens on (SVKIT_HTTP_LISTEN=127.0.0.1:0).
int http_port(Container& c) {
  const std::string marker = "http: listening on 127.0.0.1:";
  eventually([&] { return c.err().find(marker) != std::string::npos; },
             "svinit to say where it listens", [&] { return c.err(); });
  const std::string err = c.err();
  return std::atoi(err.c_str() + err.find(marker) + marker.size());
}

const std::map<std::string, std::string> kHttp{{"SVKIT_HTTP_LISTEN", "127.0.0.1:0"}};

TEST(Http, ReadyzFollowsReadinessCrashesAndShutdownWhileLivezStaysUp) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  Gate ready(sb, "ready"), crash(sb, "crash"), stop(sb, "stop");
  add_static_service(sb, "db", "exec sleep 100000");
  add_static_service(
      sb, "web", "read x < " + ready.path() + "\necho >&3\nread x < " + crash.path() + "\nexit 1",
      {kReadyOnFd3, {"restart-min-interval", "600000"}});
  add_static_service(sb, "slowstop",
                     "trap 'read x < " + stop.path() +
                         "; exit 0' TERM\nsleep 100000 &\n"
                         "echo >&3\nwait",
                     {kReadyOnFd3});
  Container c(sb, Container::Boot{.env = kHttp});
  const int port = http_port(c);
  EXPECT_EQ(get(port, "/livez").status, 200);
  c.wait_up({"db", "web", "slowstop"});
  auto not_ready = get(port, "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("[-]service/web failed: up, not ready"), std::string::npos)
      << not_ready.body;
  EXPECT_EQ(not_ready.body.find("service/db"), std::string::npos)
      << "only failures without ?verbose";

  ready.release();
  eventually([&] { return get(port, "/readyz").status == 200; }, "readyz 200 once web is ready",
             [&] { return get(port, "/readyz?verbose").body; });
  auto verbose = get(port, "/readyz?verbose");
  EXPECT_NE(verbose.body.find("[+]service/db ok"), std::string::npos) << verbose.body;
  EXPECT_NE(verbose.body.find("readyz check passed"), std::string::npos) << verbose.body;
  EXPECT_EQ(get(port, "/readyz/web").status, 200);
  EXPECT_EQ(get(port, "/readyz/nosuch").status, 404);

  crash.release();
  eventually([&] { return get(port, "/readyz").status == 503; }, "readyz 503 after web crashed");
  EXPECT_EQ(get(port, "/readyz/web").status, 503);
  EXPECT_EQ(get(port, "/readyz/db").status, 200);
  EXPECT_EQ(get(port, "/livez").status, 200) << "a crashing service must not fail liveness";

  ASSERT_EQ(::kill(c.init_pid(), SIGTERM), 0);
  eventually([&] { return get(port, "/readyz").body.find("shutting down") != std::string::npos; },
             "readyz to say shutting down at SIGTERM", [&] { return get(port, "/readyz").body; });
  EXPECT_EQ(get(port, "/readyz").status, 503);
  EXPECT_EQ(get(port, "/livez").status, 200) << "svinit's loop runs through the shutdown";
  stop.release();
  EXPECT_EQ(c.wait(), 0) << c.err();
}

// promtool from Debian's `prometheus` package: scripts/test.sh provides it
// and sets SVKIT_REQUIRE_PROMTOOL, so that CI cannot skip this check.
std::string find_promtool() {
  if (const char* path = std::getenv("SVKIT_PROMTOOL"); path && ::access(path, X_OK) == 0) {
    return path;
  }
  for (const char* dir : {"/usr/bin", "/usr/local/bin"}) {
    const std::string path = std::string(dir) + "/promtool";
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return {};
}

TEST(Http, MetricsPassPromtoolAndFollowAKillAHaltAndHealth) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  const std::string promtool = find_promtool();
  if (promtool.empty()) {
    if (std::getenv("SVKIT_REQUIRE_PROMTOOL")) FAIL() << "promtool not found (SVKIT_PROMTOOL)";
    GTEST_SKIP() << "promtool not found: scripts/test.sh gets it from Debian's prometheus";
  }
  Sandbox sb;
  Gate kill(sb, "kill");
  add_static_service(sb, "victim", "echo >&3\nread x < " + kill.path() + "\nkill -KILL $$",
                     {kReadyOnFd3, {"restart-min-interval", "10"}});
  add_static_service(
      sb, "halter",
      "echo '{\"reason\":\"upgrade at height 1200\",\"height\":1200}' > \"$SVKIT_HALT_INTENT_FILE\""
      "\nexit 71",
      {{"halt-codes", "70\n71 upgrade-height-reached\n"}});
  sb.write("services.d/sick/health", "#!/bin/sh\nexit 1\n", true);
  add_static_service(sb, "sick", "exec sleep 100000",
                     {{"health-interval", "20"}, {"health-retries", "2"}});
  Container c(sb, Container::Boot{.env = kHttp});
  const int port = http_port(c);
  c.wait_up({"victim", "sick"}, "ready");
  eventually([&] { return c.status("halter") && c.status("halter")->state == RunState::halted; },
             "halter to halt");
  eventually([&] { return c.status("sick") && c.status("sick")->health == Health::unhealthy; },
             "sick to turn unhealthy");

  auto metrics = get(port, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  sb.write("metrics.txt", metrics.body);
  auto checked = sb.run({"/bin/sh", "-c", promtool + " check metrics < " + sb.path("metrics.txt")});
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err << metrics.body;
  for (const char* line :
       {"svkit_service_restarts_total{service=\"victim\"} 0\n",
        "svkit_service_state{service=\"victim\",state=\"up\"} 1\n",
        "svkit_service_state{service=\"halter\",state=\"halted\"} 1\n",
        "svkit_service_halted{service=\"halter\",code=\"71\","
        "reason=\"upgrade at height 1200\"} 1\n",
        "svkit_service_healthy{service=\"sick\"} 0\n", "svkit_build_info{version=\""}) {
    EXPECT_NE(metrics.body.find(line), std::string::npos) << line << " in\n" << metrics.body;
  }

  kill.release();
  const std::string restarted = "svkit_service_restarts_total{service=\"victim\"} 1\n";
  eventually([&] { return get(port, "/metrics").body.find(restarted) != std::string::npos; },
             "restarts_total 1 after a SIGKILL", [&] { return get(port, "/metrics").body; });
  EXPECT_NE(
      get(port, "/metrics").body.find("svkit_service_last_exit_signal{service=\"victim\"} 9\n"),
      std::string::npos);

  auto halter = get(port, "/status/halter");
  ASSERT_EQ(halter.status, 200);
  auto j = nlohmann::json::parse(halter.body);
  EXPECT_EQ(j["halt_intent"]["height"], 1200) << halter.body;
  EXPECT_EQ(j["halt_name"], "upgrade-height-reached") << halter.body;
  auto all = nlohmann::json::parse(get(port, "/status").body);
  ASSERT_TRUE(all.is_array());
  EXPECT_EQ(all.size(), 3u);
  EXPECT_EQ(get(port, "/status/nosuch").status, 404);
  ASSERT_EQ(::kill(c.init_pid(), SIGTERM), 0);
  EXPECT_EQ(c.wait(), 0) << c.err();
}

size_t private_kib(pid_t pid) {
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/smaps_rollup"));
  size_t total = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("Private_"))
      total += std::strtoul(line.c_str() + line.find(':') + 1, nullptr, 10);
  }
  return total;
}

TEST(Http, HostileClientsGetErrorsAndBoundedMemoryAndTheServicesNeverNotice) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  add_static_service(sb, "db", "exec sleep 100000");
  Container c(sb, Container::Boot{.env = kHttp});
  const int port = http_port(c);
  c.wait_up({"db"});
  const pid_t db = c.status("db")->pid;

  EXPECT_EQ(send_raw(port, "\x16\x03\x01garbage\r\n\r\n").status, 400);
  EXPECT_EQ(
      send_raw(port, "GET /livez HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n").status,
      431);
  EXPECT_EQ(send_raw(port, "POST /livez HTTP/1.1\r\nContent-Length: 1\r\n\r\nx").status, 405);
  EXPECT_EQ(get(port, "/nothing").status, 404);

  // Slow and idle clients past the connection limit: a probe still gets through.
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 300; ++i) {
    idle.push_back(connect_to(port));
    ASSERT_TRUE(idle.back()) << "connection " << i;
    ::send(idle.back().get(), "GET /liv", 8, MSG_NOSIGNAL);
  }
  EXPECT_EQ(get(port, "/livez").status, 200);
  idle.clear();

  get(port, "/metrics");  // the first scrape's buffers
  const size_t before = private_kib(c.init_pid());
  for (int i = 0; i < 10000; ++i) {
    UniqueFd fd = connect_to(port);
    ASSERT_TRUE(fd) << "connection " << i;
    if (i % 1000 == 0) {
      EXPECT_EQ(get(port, "/metrics").status, 200);
    }
  }
  EXPECT_EQ(get(port, "/livez").status, 200);
  const size_t after = private_kib(c.init_pid());
  // A leak of a kilobyte per connection would be ten megabytes here. (Under
  // AddressSanitizer freed memory waits in its quarantine; its leak checker
  // judges svinit at exit instead.)
#ifndef __SANITIZE_ADDRESS__
  EXPECT_LT(after, before + 4096) << "svinit's private memory grew from " << before << " KiB";
#else
  (void)after;
  (void)before;
#endif
  EXPECT_EQ(c.status("db")->pid, db) << "a service was touched";
  EXPECT_EQ(c.status("db")->state, RunState::up);
  ASSERT_EQ(::kill(c.init_pid(), SIGTERM), 0);
  EXPECT_EQ(c.wait(), 0) << c.err();
}

TEST(Http, BadListenAddressIsOneLineAndTheContainerBoots) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  Container c(sb, Container::Boot{.cmd = {"/bin/true"}, .env = {{"SVKIT_HTTP_LISTEN", "nowhere"}}});
  EXPECT_EQ(c.wait(), 0) << c.err();
  EXPECT_EQ(lines_with(c.err(), "SVKIT_HTTP_LISTEN: \"nowhere\" is not ADDR:PORT"), 1u) << c.err();
}

// ---- the termination message ------------------------------------------------------

TEST(TerminationMessage, AnEssentialHaltSaysWhoWhyTheIntentAndTheLastOutput) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  add_static_service(
      sb, "node",
      "echo 'reached height 1200, halting'\n"
      "echo '{\"reason\":\"upgrade at height 1200\",\"height\":1200}' > \"$SVKIT_HALT_INTENT_FILE\""
      "\nexit 71",
      {{"halt-codes", "71 upgrade-height-reached"}, {"essential", ""}});
  add_static_service(sb, "other", "exec sleep 100000");
  const std::string log = sb.path("termination-log");
  Container c(sb, Container::Boot{.env = {{"SVKIT_TERMINATION_LOG", log}}});
  EXPECT_EQ(c.wait(), 71) << c.err();
  const std::string message = read_text(log);
  EXPECT_LE(message.size(), 4096u);
  for (const char* part : {"svinit: exit code 71: essential service node is down for good\n",
                           "node: halted, halted on purpose (exit 71: upgrade-height-reached): "
                           "upgrade at height 1200\n",
                           "halt intent: {\"height\":1200,\"reason\":\"upgrade at height 1200\"}\n",
                           "reached height 1200, halting"}) {
    EXPECT_NE(message.find(part), std::string::npos) << part << " in\n" << message;
  }
}

TEST(TerminationMessage, CmdsExitIsTheReason) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  const std::string log = sb.path("termination-log");
  Container c(sb, Container::Boot{.cmd = {"/bin/sh", "-c", "exit 3"},
                                  .env = {{"SVKIT_TERMINATION_LOG", log}}});
  EXPECT_EQ(c.wait(), 3) << c.err();
  EXPECT_EQ(read_text(log), "svinit: exit code 3: CMD exited 3\n");
}

}  // namespace
}  // namespace svkit::test
