// svkit: every svkit program in one static binary, picked by the name it is
// run as (supervise, svscan, svctl, svinit, reconcile: symlinks to this file)
// or by its first argument (`svkit svctl stat`). One binary means one copy of
// libstdc++, fmt, spdlog and libuv on disk, and its code pages shared by
// svscan, every supervise and every svctl in memory.
#include <cstdio>
#include <string>
#include <string_view>

#include "programs.hpp"

namespace {

using Entry = int (*)(int, char**);

struct Program {
  std::string_view name;
  Entry entry;
};

constexpr Program kPrograms[] = {
    {"supervise", svkit::programs::supervise_main}, {"svscan", svkit::programs::svscan_main},
    {"svctl", svkit::programs::svctl_main},         {"svinit", svkit::programs::svinit_main},
    {"reconcile", svkit::programs::reconcile_main},
};

std::string_view base_name(const char* path) {
  const std::string_view whole(path);
  const auto slash = whole.rfind('/');
  return slash == std::string_view::npos ? whole : whole.substr(slash + 1);
}

Entry entry_named(std::string_view name) {
  for (const auto& program : kPrograms) {
    if (program.name == name) return program.entry;
  }
  return nullptr;
}

int usage(const std::string& problem) {
  std::string names;
  for (const auto& program : kPrograms) {
    names += (names.empty() ? "" : ", ") + std::string(program.name);
  }
  std::fprintf(stderr, "svkit: %s (usage: svkit PROGRAM [ARGS...]; PROGRAM: %s)\n", problem.c_str(),
               names.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 1) return usage("no program name");
  if (Entry entry = entry_named(base_name(argv[0]))) return entry(argc, argv);
  if (argc < 2) return usage("which program?");
  Entry entry = entry_named(argv[1]);
  if (!entry) return usage("no program named '" + std::string(argv[1]) + "'");
  return entry(argc - 1, argv + 1);
}
