#!/bin/sh
# Static checks of deploy/Dockerfile and deploy/docker-compose.yml (no Docker
# engine runs in CI): see tests/deploy_docker_files.py. Skips (77) when no
# python3 has PyYAML (Debian package python3-yaml).
# usage: deploy_docker_files.sh [PATH/TO/envbot]   (run from the source root)
set -eu
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import yaml' 2>/dev/null; then
		exec "$p" "$(dirname "$0")/deploy_docker_files.py" "$@"
	fi
done
echo "SKIP: no python3 with PyYAML (apt-get install python3-yaml)"
exit 77
