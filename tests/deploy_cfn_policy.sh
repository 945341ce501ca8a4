#!/bin/sh
# Least-privilege checks of the CloudFormation template's IAM role: see
# tests/deploy_cfn_policy.py. Skips (77) when no python3 has PyYAML
# (Debian package python3-yaml). Run from the source root.
set -eu
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import yaml' 2>/dev/null; then
		exec "$p" "$(dirname "$0")/deploy_cfn_policy.py"
	fi
done
echo "SKIP: no python3 with PyYAML (apt-get install python3-yaml)"
exit 77
