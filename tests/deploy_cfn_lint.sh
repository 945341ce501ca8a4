#!/bin/sh
# deploy/cloudformation/envbot.yaml through cfn-lint, once with the defaults
# (role only) and once with every option set (stacks, service role, ECR, EC2
# tag, host with SSH, spoke roles), and envbot-spoke.yaml (the role in each
# other account). Skips (77) when cfn-lint is not installed (it is a PyPI
# package, not a Debian one; CI machines have it on the pyenv python3).
# The policy semantics are checked by deploy_cfn_policy.py (no cfn-lint needed).
set -u
t=deploy/cloudformation/envbot.yaml
command -v cfn-lint >/dev/null 2>&1 || { echo "SKIP: cfn-lint not installed"; exit 77; }
fail=0
echo "cfn-lint $t (defaults)"
cfn-lint "$t" || fail=1
echo "cfn-lint $t (every option)"
cfn-lint "$t" --parameters StackNames=ChatAppMasterStack,qa-stack \
	CfnServiceRoleArn=arn:aws:iam::123456789012:role/cfn-service-role \
	TemplateBucket=example-bucket EcrRepositoryNames=chat-chat-http,team/api \
	Ec2TagKey=AutoStopStart Ec2TagValue=Yes \
	TrustedPrincipalArn=arn:aws:iam::123456789012:user/envbot CreateHost=true \
	VpcId=vpc-0123456789abcdef0 SubnetId=subnet-0123456789abcdef0 \
	ReleaseS3Uri=s3://example-bucket/envbot-arm64.tar.gz \
	ConfigS3Uri=s3://example-bucket/envbot.cfg KeyName=admin SshCidr=10.0.0.0/8 \
	SpokeRoleArns=arn:aws:iam::222222222222:role/envbot-spoke,arn:aws:iam::333333333333:role/envbot-spoke || fail=1
s=deploy/cloudformation/envbot-spoke.yaml
echo "cfn-lint $s"
cfn-lint "$s" --parameters HubRoleArn=arn:aws:iam::123456789012:role/envbot \
	ExternalId=envbot-test || fail=1
# The lint must not be vacuous: a template with a wrong resource type fails.
tmp=$(mktemp --suffix=.yaml)
trap 'rm -f "$tmp"' EXIT
sed 's/Type: AWS::IAM::InstanceProfile/Type: AWS::IAM::InstanceProfil/' "$t" >"$tmp"
if cfn-lint "$tmp" >/dev/null 2>&1; then
	echo "FAIL: cfn-lint accepted a broken copy"
	fail=1
fi
[ $fail -eq 0 ] && echo "cfn-lint: ok"
exit $fail
