#!/usr/bin/env bash
# Installs Debian's Java 17 runtime for the Spark tests (pyspark from PyPI runs Spark in a JVM,
# which it finds through JAVA_HOME or `java` on PATH). Does nothing when `java -version` works.
set -euo pipefail
if java -version >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-java: no working java; run 'sudo apt-get install openjdk-17-jre-headless' and retry" >&2
    exit 1
fi
echo "install-java: installing Debian's openjdk-17-jre-headless (first run only)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq openjdk-17-jre-headless >/dev/null
java -version
