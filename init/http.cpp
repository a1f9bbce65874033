#include "http.hpp"

#include <arpa/inet.h>
#include <http_parser.h>

#include <charconv>
#include <cstring>

#include "../lib/log.hpp"
#include "../lib/number.hpp"

namespace svkit::init {

std::optional<sockaddr_storage> parse_listen_address(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  const auto port = parse_number<unsigned>(port_text);
  if (!port || *port > 65535) return std::nullopt;
  sockaddr_storage address{};
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (uv_ip6_addr(host.c_str(), int(*port), reinterpret_cast<sockaddr_in6*>(&address)) != 0) {
      return std::nullopt;
    }
  } else if (uv_ip4_addr(host.c_str(), int(*port), reinterpret_cast<sockaddr_in*>(&address)) != 0) {
    return std::nullopt;
  }
  return address;
}

namespace {

std::string address_text(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = "";
  int port = 0;
  if (address.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
    uv_ip6_name(in6, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
  uv_ip4_name(in, host, sizeof host);
  port = ntohs(in->sin_port);
  return std::string(host) + ":" + std::to_string(port);
}

// %XX in a path; a bad escape stays as it is.
std::string percent_decoded(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned value = 0;
    if (text[i] == '%' && i + 2 < text.size() &&
        std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ptr ==
            text.data() + i + 3) {
      out += char(value);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Internal Server Error";
  }
}

// The status line and headers; the body goes out as a second buffer, uncopied.
std::string head_of(const HttpResponse& response) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                    reason_phrase(response.status) + "\r\nContent-Type: " + response.content_type +
                    "\r\nContent-Length: " + std::to_string(response.body.size()) +
                    "\r\nCache-Control: no-store\r\nConnection: close\r\n";
  if (response.status == 405) out += "Allow: GET, HEAD\r\n";
  return out + "\r\n";
}

}  // namespace

struct HttpServer::Connection {
  HttpServer* server;
  uv_tcp_t tcp{};
  uv_timer_t deadline{};
  uv_write_t write_request{};
  http_parser parser{};
  std::string url;
  std::string head, body;  // the answer, kept until written
  size_t request_bytes = 0;
  uint64_t serial = 0;  // order of acceptance
  bool answered = false;
  int open_handles = 2;  // tcp and deadline; the memory goes when both are closed

  explicit Connection(HttpServer* owner) : server(owner) {
    tcp.data = deadline.data = write_request.data = parser.data = this;
    http_parser_init(&parser, HTTP_REQUEST);
  }

  void close() {
    for (auto* handle :
         {reinterpret_cast<uv_handle_t*>(&tcp), reinterpret_cast<uv_handle_t*>(&deadline)}) {
      if (uv_is_closing(handle)) continue;
      uv_close(handle, [](uv_handle_t* h) {
        auto* self = static_cast<Connection*>(h->data);
        if (--self->open_handles > 0) return;
        if (self->server) self->server->forget(self);
        std::unique_ptr<Connection> done(self);
      });
    }
  }

  void answer(HttpResponse response) {
    if (answered) return;
    answered = true;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
    head = head_of(response);
    if (parser.method != HTTP_HEAD) body = std::move(response.body);
    uv_buf_t bufs[] = {uv_buf_init(head.data(), unsigned(head.size())),
                       uv_buf_init(body.data(), unsigned(body.size()))};
    const int rc = uv_write(
        &write_request, reinterpret_cast<uv_stream_t*>(&tcp), bufs, body.empty() ? 1 : 2,
        [](uv_write_t* request, int) { static_cast<Connection*>(request->data)->close(); });
    if (rc != 0) close();
  }

  void request_complete() {
    if (parser.method != HTTP_GET && parser.method != HTTP_HEAD) {
      answer({.status = 405, .body = "only GET and HEAD\n"});
      return;
    }
    http_parser_url parts{};
    http_parser_url_init(&parts);
    if (http_parser_parse_url(url.data(), url.size(), 0, &parts) != 0 ||
        !(parts.field_set & (1 << UF_PATH))) {
      answer({.status = 400, .body = "bad request target\n"});
      return;
    }
    auto field = [&](int which) {
      if (!(parts.field_set & (1 << which))) return std::string_view{};
      return std::string_view(url).substr(parts.field_data[which].off, parts.field_data[which].len);
    };
    HttpRequest request{.head = parser.method == HTTP_HEAD,
                        .path = percent_decoded(field(UF_PATH)),
                        .query = std::string(field(UF_QUERY))};
    answer(server ? server->handler_(request) : HttpResponse{.status = 503});
  }

  void received(const char* data, size_t size) {
    if (answered) return;
    static const http_parser_settings settings = [] {
      http_parser_settings s{};
      s.on_url = [](http_parser* p, const char* at, size_t length) {
        static_cast<Connection*>(p->data)->url.append(at, length);
        return 0;
      };
      s.on_headers_complete = [](http_parser* p) {
        static_cast<Connection*>(p->data)->request_complete();
        return 0;
      };
      return s;
    }();
    request_bytes += size;
    http_parser_execute(&parser, &settings, data, size);
    if (answered) return;
    if (HTTP_PARSER_ERRNO(&parser) != HPE_OK) {
      answer({.status = 400, .body = "bad request\n"});
    } else if (request_bytes > kMaxHeaderBytes) {
      answer({.status = 431, .body = "request headers too large\n"});
    }
  }
};

HttpServer::HttpServer(uv_loop_t* loop, Handler handler)
    : loop_(loop), handler_(std::move(handler)) {}

HttpServer::~HttpServer() {
  close();
}

std::string HttpServer::listen(const std::string& address_text_in) {
  auto address = parse_listen_address(address_text_in);
  if (!address) return "\"" + address_text_in + "\" is not ADDR:PORT (IPv4) or [ADDR]:PORT";
  listener_ = std::make_unique<uv_tcp_t>();
  uv_tcp_init(loop_, listener_.get());
  listener_->data = this;
  int rc = uv_tcp_bind(listener_.get(), reinterpret_cast<const sockaddr*>(&*address), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_.get()), SOMAXCONN,
                   [](uv_stream_t* s, int status) {
                     if (status == 0) static_cast<HttpServer*>(s->data)->accept();
                   });
  }
  if (rc != 0) {
    close();
    return "cannot listen on " + address_text_in + ": " + uv_strerror(rc);
  }
  sockaddr_storage bound{};
  int length = sizeof bound;
  uv_tcp_getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &length);
  bound_ = address_text(bound);
  return {};
}

void HttpServer::accept() {
  auto connection = std::make_unique<Connection>(this);
  uv_tcp_init(loop_, &connection->tcp);
  uv_timer_init(loop_, &connection->deadline);
  Connection* raw = connection.release();  // libuv's until both handles are closed
  raw->serial = ++accepted_;
  live_.insert(raw);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_.get()),
                reinterpret_cast<uv_stream_t*>(&raw->tcp)) != 0) {
    raw->close();
    return;
  }
  // Full: the oldest connection goes, so idle or slow clients cannot keep a
  // probe out for long.
  size_t open = 0;
  Connection* oldest = nullptr;
  for (Connection* c : live_) {
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&c->tcp))) continue;
    ++open;
    if (!oldest || c->serial < oldest->serial) oldest = c;
  }
  if (open > kMaxConnections) oldest->close();
  uv_timer_start(
      &raw->deadline, [](uv_timer_t* t) { static_cast<Connection*>(t->data)->close(); },
      kRequestDeadlineMs, 0);
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&raw->tcp),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        HttpServer* server = static_cast<Connection*>(h->data)->server;
        *buf = uv_buf_init(server->read_buffer_.get(), kReadBufferBytes);
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        auto* self = static_cast<Connection*>(s->data);
        if (n < 0) {
          self->close();
        } else if (n > 0) {
          self->received(buf->base, size_t(n));
        }
      });
}

void HttpServer::forget(Connection* connection) {
  live_.erase(connection);
}

void HttpServer::close() {
  for (Connection* connection : live_) {
    connection->server = nullptr;
    connection->close();
  }
  live_.clear();
  if (listener_) {
    uv_close(reinterpret_cast<uv_handle_t*>(listener_.release()), [](uv_handle_t* h) {
      std::unique_ptr<uv_tcp_t> done(reinterpret_cast<uv_tcp_t*>(h));
    });
  }
}

}  // namespace svkit::init
