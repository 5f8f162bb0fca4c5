#!/usr/bin/env bash
# CI only: open SSH (22/tcp) on the stack's security group to this runner's public address for the length
# of one job, then close it. GitHub-hosted runners get a new address on every job, so the admin's /32
# (dockercoins:awsAdminCidr) cannot admit them, and a wide CIDR would admit half the internet.
#   scripts/ci-ssh-access.sh open    before the pulumi step
#   scripts/ci-ssh-access.sh close   after it, always (also when the job failed or was cancelled)
# Needs the AWS CLI with credentials for the stack's region and PULUMI_STACK (org/project/stack or stack).
# The group is found by the tags the program gives it (Project=dockercoins, Stack=<stack>). A stack that was
# never deployed has none yet: its first `pulumi up` runs where awsAdminCidr admits (the admin's machine).
set -euo pipefail

action=${1:-}
[[ "$action" == open || "$action" == close ]] || { echo "usage: $0 open|close" >&2; exit 2; }
stack=${PULUMI_STACK:?PULUMI_STACK is not set (the stack the job previews or updates)}
stack=${stack##*/}
# What `open` added, so that `close` revokes that rule and nothing else.
opened=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/dockercoins-ssh-rule-$stack

sg=$(aws ec2 describe-security-groups \
  --filters Name=tag:Project,Values=dockercoins "Name=tag:Stack,Values=$stack" \
  --query 'SecurityGroups[0].GroupId' --output text)
if [[ -z "$sg" || "$sg" == None ]]; then
  echo "::warning::no security group tagged Project=dockercoins, Stack=$stack: nothing to $action" \
    "(a stack's first pulumi up runs where dockercoins:awsAdminCidr admits)"
  exit 0
fi

if [[ "$action" == close ]]; then
  if [[ ! -s "$opened" ]]; then echo "no SSH rule was opened for this job"; exit 0; fi
  rule=$(cat "$opened")
  aws ec2 revoke-security-group-ingress --group-id "$sg" --security-group-rule-ids "$rule" >/dev/null
  rm -f "$opened"
  echo "closed SSH to this runner on $sg ($rule)"
  exit 0
fi

ip=$(curl -fsS --max-time 10 https://checkip.amazonaws.com | tr -d '[:space:]')
[[ "$ip" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || { echo "could not learn this runner's public IPv4 address (got '$ip')" >&2; exit 1; }
permission="IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=$ip/32,Description=CI runner job ${GITHUB_RUN_ID:-local}}]"
if out=$(aws ec2 authorize-security-group-ingress --group-id "$sg" --ip-permissions "$permission" \
  --query 'SecurityGroupRules[0].SecurityGroupRuleId' --output text 2>&1); then
  echo "$out" >"$opened"
  echo "opened SSH from $ip/32 on $sg ($out) for this job"
elif [[ "$out" == *InvalidPermission.Duplicate* ]]; then
  # Another job (or the admin's rule) admits this address already; leave its rule to its owner.
  echo "SSH from $ip/32 is already allowed on $sg"
else
  echo "$out" >&2
  exit 1
fi
