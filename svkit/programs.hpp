// The programs of svkit's one binary. Each is the `main` of its folder;
// svkit/main.cpp runs the one named by argv[0] (or by the first argument).
#pragma once

namespace svkit::programs {

int supervise_main(int argc, char** argv);
int svscan_main(int argc, char** argv);
int svctl_main(int argc, char** argv);
int svinit_main(int argc, char** argv);
int reconcile_main(int argc, char** argv);

}  // namespace svkit::programs
