#!/usr/bin/env bash
# Dependencies point one way: libraries under crates/ never depend on a service under
# services/ (only the crates whose job is to mount services may), and no service depends on
# another. Reads `cargo metadata`, so dev- and build-dependencies count too.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --no-deps | python3 -c '
import json, os, sys

# The crates that assemble services: the server, the binary, and the test helpers.
MOUNTERS = {"tokenwatch-server", "tokenwatch", "tokenwatch-test-utils"}

meta = json.load(sys.stdin)
root = meta["workspace_root"]
place = {}
for package in meta["packages"]:
    relative = os.path.relpath(os.path.dirname(package["manifest_path"]), root)
    place[package["name"]] = relative.split(os.sep)[0]
problems = []
for package in meta["packages"]:
    name, where = package["name"], place[package["name"]]
    for dependency in package["dependencies"]:
        target = dependency["name"]
        if place.get(target) != "services":
            continue
        if where == "services":
            problems.append(f"service {name} depends on service {target}")
        elif where == "crates" and name not in MOUNTERS:
            problems.append(f"library {name} depends on service {target}")
for problem in sorted(set(problems)):
    print(f"deps: {problem}", file=sys.stderr)
if problems:
    print("deps: move what both need into a library crate under crates/", file=sys.stderr)
    sys.exit(1)
print("deps: libraries and services point one way")
'
