#include "health.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>

#include "../lib/spawn.hpp"

namespace svkit::supervise {

namespace {
constexpr size_t kOutputKept = 4096;
}

HealthMonitor::HealthMonitor(uv_loop_t* loop, std::string dir, OnResult on_result, OnError on_error)
    : loop_(loop),
      dir_(std::move(dir)),
      on_result_(std::move(on_result)),
      on_error_(std::move(on_error)),
      interval_timer_(loop, [this] { run_check(); }),
      timeout_timer_(loop, [this] { timed_out(); }) {}

void HealthMonitor::start(const HealthCheck& config, std::vector<std::string> env,
                          std::vector<std::string> unset) {
  config_ = config;
  env_ = std::move(env);
  unset_ = std::move(unset);
  active_ = true;
  failures_ = 0;
  if (pid_ == 0) interval_timer_.start(config_.interval_ms);
}

void HealthMonitor::stop() {
  active_ = false;
  interval_timer_.stop();
  timeout_timer_.stop();
  // A check of a dead service means nothing, and must not outlive supervise;
  // its result, when it is reaped, counts for nothing either.
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    abandoned_ = std::exchange(pid_, 0);
    output_watch_.close();
    output_read_.reset();
  }
}

void HealthMonitor::run_check() {
  if (!active_ || pid_ > 0) return;
  output_.clear();
  Pipe pipe = make_pipe(true);
  const std::string program = "./" + config_.program;
  auto result = spawn({.argv = {program},
                       .extra_env = env_,
                       .unset_env = unset_,
                       .cwd = dir_,
                       .fds = {{0, -1}, {1, pipe.write.get()}, {2, pipe.write.get()}}});
  if (result.pid < 0) {
    on_error_("cannot run " + describe_spawn_error(program, dir_, result.error));
    interval_timer_.start(config_.interval_ms);
    return;
  }
  pid_ = result.pid;
  output_read_ = std::move(pipe.read);
  output_watch_ = uv::Readable(loop_, output_read_.get(), [this] { read_output(); });
  if (config_.timeout_ms > 0) timeout_timer_.start(config_.timeout_ms);
}

void HealthMonitor::timed_out() {
  if (pid_ <= 0) return;
  output_ += "\n[svkit: " + config_.program + " killed after " +
             std::to_string(config_.timeout_ms) + " ms]\n";
  ::kill(-pid_, SIGKILL);
}

void HealthMonitor::read_output() {
  char buf[4096];
  ssize_t n;
  while (output_read_ && (n = ::read(output_read_.get(), buf, sizeof buf)) > 0) {
    output_.append(buf, size_t(n));
    if (output_.size() > kOutputKept) output_.erase(0, output_.size() - kOutputKept);
  }
}

bool HealthMonitor::reaped(pid_t pid, int wait_status) {
  if (pid > 0 && pid == abandoned_) {
    abandoned_ = 0;
    return true;
  }
  if (pid != pid_ || pid <= 0) return false;
  pid_ = 0;
  timeout_timer_.stop();
  read_output();
  output_watch_.close();
  output_read_.reset();
  if (!active_) return true;
  const bool passed = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
  failures_ = passed ? 0 : failures_ + 1;
  interval_timer_.start(config_.interval_ms);
  on_result_(passed, failures_);
  return true;
}

}  // namespace svkit::supervise
