#!/usr/bin/env bash
# Install the SARIF Multitool (npm package @microsoft/sarif-multitool) that the SARIF tests validate with.
#
# The tools go into an npm prefix folder: $NETPOLSCAN_TOOLS, default ~/.cache/netpolscan-tools.
# The package also ships the official SARIF 2.1.0 JSON schema the tests read (no copy is committed).
# Idempotent: when the pinned version and its platform binary are already there, npm is not called.
#
# Usage: .ci/install-sarif-tools.sh           (SARIF_MULTITOOL_VERSION=x.y.z to pick another version)
set -euo pipefail

tools_dir="${NETPOLSCAN_TOOLS:-$HOME/.cache/netpolscan-tools}"
version="${SARIF_MULTITOOL_VERSION:-5.7.0}"

case "$(uname -s)" in
  Linux) platform=linux; binary=Sarif.Multitool ;;
  Darwin) platform=darwin; binary=Sarif.Multitool ;;
  MINGW* | MSYS* | CYGWIN*) platform=win32; binary=Sarif.Multitool.exe ;;
  *) echo "install-sarif-tools: unsupported platform $(uname -s)" >&2; exit 1 ;;
esac

package_dir="$tools_dir/node_modules/@microsoft/sarif-multitool"
platform_dir="$tools_dir/node_modules/@microsoft/sarif-multitool-$platform"
binary_path="$platform_dir/$binary"

installed_version() {
  # Prints the installed version of the npm package whose package.json is $1, or nothing.
  [[ -f "$1" ]] || return 0
  node -e 'try { process.stdout.write(require(process.argv[1]).version || "") } catch (e) {}' "$1"
}

if [[ "$(installed_version "$package_dir/package.json")" == "$version" \
      && "$(installed_version "$platform_dir/package.json")" == "$version" \
      && -f "$binary_path" && -f "$platform_dir/sarif-2.1.0.json" ]]; then
  echo "install-sarif-tools: @microsoft/sarif-multitool $version already in $tools_dir"
else
  command -v npm >/dev/null || { echo "install-sarif-tools: npm is required (install Node.js)" >&2; exit 1; }
  mkdir -p "$tools_dir"
  echo "install-sarif-tools: installing @microsoft/sarif-multitool@$version into $tools_dir"
  # The binary comes from a platform-specific optional dependency: make sure optional deps are included.
  npm install --prefix "$tools_dir" --no-audit --no-fund --save-exact --include=optional \
    "@microsoft/sarif-multitool@$version"
fi

if [[ ! -f "$binary_path" ]]; then
  echo "install-sarif-tools: $binary_path is missing after install" >&2
  exit 1
fi
# The package's postinstall script does this, but not when npm runs with --ignore-scripts.
[[ "$platform" == win32 ]] || chmod u+x "$binary_path"

# Smoke test; no globalization data needed (minimal CI images lack libicu).
if ! smoke="$(DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 "$binary_path" --version 2>&1)"; then
  echo "install-sarif-tools: $binary_path does not run:" >&2
  echo "$smoke" >&2
  exit 1
fi
echo "install-sarif-tools: ready: $binary_path"
