#!/usr/bin/env bash
# Runs every Kavach test against the real things: SQLite files, a headless
# Chromium, poppler's pdftoppm to read printed slips back, versitygw for S3.
# Installs what is missing (Debian packages, versitygw with go install),
# idempotently, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ]; then
	echo "test.sh: installing ${need[*]} from Debian's packages (needed by the browser and slip tests)"
	if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The vault's S3 tests run against versitygw, a real S3 server, built from
# source with go install into .cache/bin (kept between runs).
versitygw="$PWD/.cache/bin/versitygw"
built=$(go version -m "$versitygw" 2>/dev/null || true)
if ! grep -q 'github.com/versity/versitygw[[:space:]]*v1\.8\.0' <<<"$built"; then
	echo "test.sh: installing versitygw v1.8.0 into .cache/bin with go install (needed by the vault's S3 tests; takes a few minutes once)"
	GOBIN="$PWD/.cache/bin" go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi
export KAVACH_VERSITYGW="$versitygw"

echo "test.sh: gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt: these files are not formatted:"
	echo "$unformatted"
	exit 1
fi
go vet ./...

echo "test.sh: go test"
# CI=true makes tests that need chromium, pdftoppm or versitygw fail rather
# than skip.
export CI="${CI:-true}"
go test -count=1 -timeout 20m ./...
