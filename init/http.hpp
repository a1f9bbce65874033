// svinit's read-only HTTP endpoint (SVKIT_HTTP_LISTEN): a small server on
// svinit's own libuv loop, requests parsed by http-parser (Debian's
// libhttp-parser-dev). One request per connection, answered with
// `Connection: close`. Hostile clients are bounded: at most kMaxConnections
// at once (a new one closes the oldest), request headers of at most
// kMaxHeaderBytes (431), kRequestDeadlineMs for the whole exchange (then the
// connection is closed), garbage gets 400. What each path answers is the
// handler's business (probes.hpp).
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace svkit::init {

struct HttpRequest {
  bool head = false;    // HEAD: the same answer without its body
  std::string path{};   // without the query
  std::string query{};  // after '?', may be empty
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body{};
};

// "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6), PORT 0 to 65535.
std::optional<sockaddr_storage> parse_listen_address(const std::string& text);

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  static constexpr size_t kMaxConnections = 64;
  static constexpr size_t kMaxHeaderBytes = 8192;
  static constexpr uint64_t kRequestDeadlineMs = 10000;

  HttpServer(uv_loop_t* loop, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listens on `address`; returns an error line, or empty. Then the bound
  // address (the real port when 0 was asked) is address().
  std::string listen(const std::string& address);
  const std::string& address() const { return bound_; }
  void close();

  struct Connection;

 private:
  void accept();
  void forget(Connection* connection);

  uv_loop_t* loop_;
  Handler handler_;
  std::unique_ptr<uv_tcp_t> listener_;
  std::string bound_;
  std::set<Connection*> live_;  // open connections (libuv owns their memory)
  uint64_t accepted_ = 0;
  // libuv reads into it and calls back at once: one buffer serves every
  // connection. (Not a global: it would sit in the .bss every process of
  // svkit's one binary maps, next to what they use.)
  std::unique_ptr<char[]> read_buffer_ = std::make_unique<char[]>(kReadBufferBytes);
  static constexpr size_t kReadBufferBytes = 16384;
};

}  // namespace svkit::init
