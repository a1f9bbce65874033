// vfork + execve with explicit fd wiring; an exec failure is returned as an error.
// Every svkit program reaps its own children through one SIGCHLD handler, so
// this stays out of libuv's uv_spawn (whose waitpid per handle would miss the
// orphans an init or subreaper must reap).
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace svkit {

struct SpawnRequest {
  std::vector<std::string> argv{};
  std::vector<std::string> extra_env{};  // "NAME=value", added to (or replacing in) environ
  std::vector<std::string> unset_env{};  // names taken out of environ
  std::string cwd{};                     // empty: inherit
  // Child fd `first` becomes a copy of parent fd `second`; -1 means /dev/null.
  // Parent fds 0-2 not named here are inherited; every other fd is close-on-exec.
  std::vector<std::pair<int, int>> fds{};
  bool new_session = true;  // setsid(): own session and process group
  // Instead of a new session: an own process group in this session, given the
  // terminal when stdin is one (a container's CMD in the foreground).
  bool foreground_group = false;
  bool search_path = false;  // execvp: look argv[0] up in PATH (a container's CMD)
};

struct SpawnResult {
  pid_t pid = -1;
  int error = 0;  // errno of fork or exec when pid < 0
};

SpawnResult spawn(const SpawnRequest& request);

// Why `program` (a path, relative to `cwd` unless absolute) could not start,
// in one line: "run: Permission denied", or for a script whose #! names a
// missing program, "run: #!/command/with-contenv: interpreter not found".
std::string describe_spawn_error(const std::string& program, const std::string& cwd, int error);

}  // namespace svkit
