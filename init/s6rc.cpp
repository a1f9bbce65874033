#include "s6rc.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "../lib/dependencies.hpp"
#include "../lib/files.hpp"
#include "../lib/log.hpp"

namespace svkit::init {

namespace fs = std::filesystem;

namespace {

enum class Type { longrun, oneshot, bundle };

struct Definition {
  std::string path{};
  Type type = Type::longrun;
  std::vector<std::string> dependencies{};
  std::vector<std::string> contents{};  // a bundle's
  std::string producer_for{}, consumer_for{};
};

std::string first_word(const std::string& path) {
  auto text = read_small_file(path, kConfigFileCap);
  if (!text) return {};
  const auto first = text->find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return text->substr(first, text->find_first_of(" \t\r\n", first) - first);
}

std::map<std::string, Definition> read_definitions(const std::vector<std::string>& sources) {
  std::map<std::string, Definition> defs;
  for (const auto& source : sources) {
    for (const auto& name : safe_folder_names(source)) {
      const std::string dir = source + "/" + name;
      if (!is_directory(dir)) continue;
      const std::string type = first_word(dir + "/type");
      Definition def{.path = dir};
      if (type == "oneshot") {
        def.type = Type::oneshot;
      } else if (type == "bundle") {
        def.type = Type::bundle;
        def.contents = safe_folder_names(dir + "/contents.d");
      } else if (type != "longrun") {
        spdlog::error("s6-rc service {}: type \"{}\" is not longrun, oneshot or bundle; skipped",
                      dir, type);
        continue;
      }
      def.dependencies = read_dependencies(dir);
      def.producer_for = first_word(dir + "/producer-for");
      def.consumer_for = first_word(dir + "/consumer-for");
      if (!defs.emplace(name, std::move(def)).second) {
        spdlog::error("s6-rc service {}: {} is defined twice; the first one is kept", dir, name);
      }
    }
  }
  return defs;
}

// Files of s6-rc's source format that svkit expresses otherwise.
constexpr const char* kTranslated[] = {"dependencies.d", "contents.d",    "producer-for",
                                       "consumer-for",   "pipeline-name", "flag-essential"};

}  // namespace

S6rcImport import_s6rc(const std::vector<std::string>& sources, const std::string& scandir,
                       const std::vector<std::string>& legacy_services) {
  S6rcImport result;
  auto defs = read_definitions(sources);
  if (defs.empty()) return result;
  // s6-overlay's own bundles, when the image only adds to them.
  for (const char* bundle : {"user", "user2"}) {
    defs.try_emplace(bundle, Definition{.type = Type::bundle});
  }

  // A consumer is its producer's log/: its name stands for the producer.
  std::map<std::string, std::string> logger_of;
  for (const auto& [name, def] : defs) {
    auto producer = defs.find(def.consumer_for);
    if (producer != defs.end() && producer->second.producer_for == name) {
      logger_of[name] = def.consumer_for;
    }
  }

  // What a name means as a dependency: the services it stands for.
  std::function<void(const std::string&, std::set<std::string>&, std::set<std::string>&)> expand =
      [&](const std::string& name, std::set<std::string>& out, std::set<std::string>& seen) {
        if (!seen.insert(name).second) return;
        if (name == "base" || name == "legacy-cont-init") return;  // met before svscan starts
        if (name == "legacy-services") {
          out.insert(legacy_services.begin(), legacy_services.end());
          return;
        }
        auto def = defs.find(name);
        if (def != defs.end() && def->second.type == Type::bundle) {
          for (const auto& member : def->second.contents) expand(member, out, seen);
          return;
        }
        auto logger = logger_of.find(name);
        // A service, or a name that does not exist (supervise says so).
        out.insert(logger != logger_of.end() ? logger->second : name);
      };
  auto expanded = [&](const std::string& name) {
    std::set<std::string> out, seen;
    expand(name, out, seen);
    return out;
  };

  // What starts: user and user2, and everything they depend on.
  const auto user = expanded("user");
  std::set<std::string> started = user;
  for (const auto& name : expanded("user2")) started.insert(name);
  std::vector<std::string> todo(started.begin(), started.end());
  while (!todo.empty()) {
    const std::string name = todo.back();
    todo.pop_back();
    auto def = defs.find(name);
    if (def == defs.end()) continue;
    for (const auto& dep : def->second.dependencies) {
      for (const auto& service : expanded(dep)) {
        if (started.insert(service).second) todo.push_back(service);
      }
    }
  }
  const auto user2 = expanded("user2");

  for (auto& [name, def] : defs) {
    if (def.type == Type::bundle) {
      ++result.bundles;
      continue;
    }
    if (logger_of.contains(name)) continue;
    if (!def.consumer_for.empty()) {
      spdlog::error("s6-rc service {}: consumer-for {} has no matching producer-for; run alone",
                    def.path, def.consumer_for);
    }
    const bool starts = started.contains(name);
    if (def.type == Type::oneshot && !starts) {
      spdlog::info("s6-rc oneshot {} is in no started bundle; not imported", name);
      continue;
    }
    if (is_directory(scandir + "/" + name)) {
      spdlog::error("s6-rc service {}: {} already exists (services.d); skipped", def.path, name);
      continue;
    }
    const fs::path staging = fs::path(scandir) / ("." + name);
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    if (auto failure = copy_tree(def.path, staging.string())) {
      spdlog::error("cannot import s6-rc service {}: {}", def.path, failure->line);
      fs::remove_all(staging, ignored);
      continue;
    }
    for (const char* file : kTranslated) fs::remove_all(staging / file, ignored);
    std::set<std::string> deps;
    for (const auto& dep : def.dependencies) {
      for (const auto& service : expanded(dep)) deps.insert(service);
    }
    if (user2.contains(name)) {
      deps.insert(user.begin(), user.end());
      deps.insert(legacy_services.begin(), legacy_services.end());
    }
    deps.erase(name);
    bool ok = true;
    if (!deps.empty()) ok = !make_dirs((staging / "dependencies.d").string());
    for (const auto& dep : deps) {
      ok = ok &&
           !write_file_atomic((staging / "dependencies.d" / dep).string(), "", Durability::runtime);
    }
    if (!def.producer_for.empty()) {
      auto consumer = defs.find(def.producer_for);
      if (consumer != defs.end() && consumer->second.consumer_for == name) {
        ok = ok && !copy_tree(consumer->second.path, (staging / "log").string());
        for (const char* file : kTranslated) fs::remove_all(staging / "log" / file, ignored);
      } else {
        spdlog::error("s6-rc service {}: producer-for {} has no matching consumer-for", def.path,
                      def.producer_for);
      }
    }
    if (def.type == Type::longrun && !starts) {
      ok = ok && !write_file_atomic((staging / "down").string(), "", Durability::runtime);
    }
    std::error_code ec;
    if (ok) fs::rename(staging, fs::path(scandir) / name, ec);
    if (!ok || ec) {
      spdlog::error("cannot import s6-rc service {} into {}", def.path, scandir);
      fs::remove_all(staging, ignored);
      continue;
    }
    ++(def.type == Type::oneshot ? result.oneshots : result.longruns);
  }
  result.started.assign(started.begin(), started.end());
  return result;
}

}  // namespace svkit::init
