#!/usr/bin/env bash
# Installs a Debian package the tests need, once: does nothing when CHECK (a command) succeeds.
#   scripts/install-debian.sh PACKAGE WHY CHECK...
# Used by `make test` for chromium (Playwright drives /usr/bin/chromium through executable_path;
# Playwright's own browser download does not work here) and for Java 17 (pyspark from PyPI runs
# Spark in a JVM, found through JAVA_HOME or `java` on PATH).
set -euo pipefail
package=$1 why=$2
shift 2
if "$@" >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-debian: $why needs Debian's $package; run 'sudo apt-get install $package' and retry" >&2
    exit 1
fi
echo "install-debian: installing Debian's $package for $why (first run only)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "$package" >/dev/null
"$@"
