// The termination message (Kubernetes' terminationMessagePath): why the
// container ended, at most 4096 bytes, written as svinit exits. For a service
// that ended it, its state, halt intent and the last lines of its newest
// evidence file — what `kubectl describe pod` then shows.
#pragma once

#include <cstddef>
#include <string>

namespace svkit::init {

constexpr size_t kTerminationMessageCap = 4096;

// `service_dir` empty when no service ended the container.
std::string termination_message(int exit_code, const std::string& why,
                                const std::string& service_dir);

// Writes it to `path`; a missing file is skipped quietly unless `create`.
void write_termination_message(const std::string& path, bool create, const std::string& message);

}  // namespace svkit::init
