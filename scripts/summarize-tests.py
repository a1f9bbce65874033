#!/usr/bin/env python3
"""Prints one closing line, 'N passed, N failed, N skipped', counted over every
GoogleTest case in a meson test log (BUILD/meson-logs/testlog.json)."""
import json
import re
import sys

passed = failed = skipped = 0
with open(sys.argv[1]) as log:
    for line in log:
        result = json.loads(line)
        out = result.get("stdout", "")
        passed += len(re.findall(r"^\[       OK \] ", out, re.M))
        failed += len(re.findall(r"^\[  FAILED  \] \S+\.\S+ \(", out, re.M))
        skipped += len(re.findall(r"^\[  SKIPPED \] \S+\.\S+ \(", out, re.M))
        if result.get("result") not in ("OK", "SKIP") and "[==========]" not in out:
            failed += 1  # a test binary that died before gtest's summary
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
