// RAII for libuv handles. A handle lives in a heap box that libuv owns from
// uv_close until its close callback, so destroying the wrapper is always safe:
// the memory goes when libuv is done with it. One loop per process.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace svkit::uv {

template <class Handle, class... Args>
class Owned {
 public:
  using Callback = std::function<void(Args...)>;

  Owned() = default;
  explicit Owned(Callback callback) : box_(std::make_unique<Box>()) {
    box_->callback = std::move(callback);
    box_->handle.data = box_.get();
  }
  Owned(Owned&&) noexcept = default;
  Owned& operator=(Owned&& other) noexcept {
    if (this != &other) {
      close();
      box_ = std::move(other.box_);
    }
    return *this;
  }
  ~Owned() { close(); }

  Handle* get() { return &box_->handle; }
  explicit operator bool() const { return static_cast<bool>(box_); }

  void close() {
    if (!box_) return;
    auto* raw = reinterpret_cast<uv_handle_t*>(&box_->handle);
    if (raw->loop == nullptr) {  // never initialised: nothing of libuv's to wait for
      box_.reset();
      return;
    }
    if (!uv_is_closing(raw)) {
      uv_close(raw, [](uv_handle_t* h) { std::unique_ptr<Box> done(static_cast<Box*>(h->data)); });
    }
    (void)box_.release();
  }

 protected:
  static void invoke(Handle* h, Args... args) {
    static_cast<Box*>(h->data)->callback(std::forward<Args>(args)...);
  }

 private:
  struct Box {
    Handle handle{};
    Callback callback;
  };
  std::unique_ptr<Box> box_;
};

class Timer : public Owned<uv_timer_t> {
 public:
  Timer() = default;
  Timer(uv_loop_t* loop, Callback callback) : Owned(std::move(callback)) {
    uv_timer_init(loop, get());
  }
  void start(uint64_t ms) {
    uv_timer_start(
        get(), [](uv_timer_t* h) { invoke(h); }, ms, 0);
  }
  void stop() { uv_timer_stop(get()); }
  bool active() { return uv_is_active(reinterpret_cast<uv_handle_t*>(get())); }
};

class Signal : public Owned<uv_signal_t> {
 public:
  Signal() = default;
  Signal(uv_loop_t* loop, int signum, Callback callback) : Owned(std::move(callback)) {
    uv_signal_init(loop, get());
    uv_signal_start(
        get(), [](uv_signal_t* h, int) { invoke(h); }, signum);
  }
};

// Readable-fd watcher (FIFOs, pipes): the callback reads until EAGAIN.
class Readable : public Owned<uv_poll_t> {
 public:
  Readable() = default;
  Readable(uv_loop_t* loop, int fd, Callback callback) : Owned(std::move(callback)) {
    uv_poll_init(loop, get(), fd);
    resume();
  }
  void pause() { uv_poll_stop(get()); }
  void resume() {
    uv_poll_start(get(), UV_READABLE | UV_DISCONNECT, [](uv_poll_t* h, int, int) { invoke(h); });
  }
};

// Writable-fd watcher, started only while something waits to be written.
class Writable : public Owned<uv_poll_t> {
 public:
  Writable() = default;
  Writable(uv_loop_t* loop, int fd, Callback callback) : Owned(std::move(callback)) {
    ok_ = uv_poll_init(loop, get(), fd) == 0;
  }
  bool ok() const { return ok_; }
  void start() {
    if (ok_) uv_poll_start(get(), UV_WRITABLE, [](uv_poll_t* h, int, int) { invoke(h); });
  }
  void stop() {
    if (ok_) uv_poll_stop(get());
  }

 private:
  bool ok_ = false;
};

// inotify watch of one folder's entries (not recursive).
class DirWatch : public Owned<uv_fs_event_t> {
 public:
  DirWatch() = default;
  DirWatch(uv_loop_t* loop, const std::string& dir, Callback callback)
      : Owned(std::move(callback)) {
    uv_fs_event_init(loop, get());
    ok_ =
        uv_fs_event_start(
            get(), [](uv_fs_event_t* h, const char*, int, int) { invoke(h); }, dir.c_str(), 0) == 0;
  }
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
};

// The same, telling which entry changed (its name in the folder; may be null).
class DirEntryWatch : public Owned<uv_fs_event_t, const char*> {
 public:
  DirEntryWatch() = default;
  DirEntryWatch(uv_loop_t* loop, const std::string& dir, Callback callback)
      : Owned(std::move(callback)) {
    uv_fs_event_init(loop, get());
    ok_ = uv_fs_event_start(
              get(), [](uv_fs_event_t* h, const char* name, int, int) { invoke(h, name); },
              dir.c_str(), 0) == 0;
  }
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
};

// Closes every handle still open and lets their close callbacks run.
void drain_and_close(uv_loop_t* loop);

}  // namespace svkit::uv
