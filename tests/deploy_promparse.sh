#!/bin/sh
# Parses the metrics registry's rendering with the Prometheus Python client's
# own text-format parser (Debian python3-prometheus-client; installed by
# deploy/install-deps.sh --test). Skips (77) when no python3 has it.
# usage: deploy_promparse.sh PATH/TO/test_metrics
set -eu
bin=$1
py=
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import prometheus_client.parser' 2>/dev/null; then py=$p; break; fi
done
if [ -z "$py" ]; then
	echo "SKIP: no python3 with prometheus_client (apt-get install python3-prometheus-client)"
	exit 77
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$bin" "$tmp"
exec "$py" "$(dirname "$0")/deploy_promparse.py" "$tmp"
