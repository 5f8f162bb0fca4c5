#!/bin/bash
# Starts a playground node: fix up cgroups for a nested engine, start dockerd, then run sshd in the
# foreground. Env: SSH_AUTHORIZED_KEY (an OpenSSH public key line, required), DOCKERD_ARGS (extra
# dockerd flags, optional).
set -euo pipefail

log() { echo "[node-entrypoint] $*" >&2; }

# shellcheck source=infra/node-image/nested-engine.sh
source /usr/local/lib/nested-engine.sh
prepare_nested_engine

# SSH: per-node host keys, key-only root login.
ssh-keygen -A >/dev/null
if [ -z "${SSH_AUTHORIZED_KEY:-}" ]; then
  log "SSH_AUTHORIZED_KEY is empty: nobody will be able to log in"
fi
umask 077
printf '%s\n' "${SSH_AUTHORIZED_KEY:-}" >/root/.ssh/authorized_keys
umask 022
mkdir -p /run/sshd

# dockerd in its own session so that the bootstrap script can restart it like a service. A machine
# without Docker (the e2e's stand-in for a user's VM) gets it from the bootstrap, which starts it itself.
if command -v dockerd >/dev/null; then
  # shellcheck disable=SC2086
  setsid dockerd ${DOCKERD_ARGS:-} >/var/log/dockerd.log 2>&1 </dev/null &
fi

log "node $(hostname) up; sshd in the foreground"
# AcceptEnv: pulumi-command hands a command's previous output to its delete script in these variables.
exec /usr/sbin/sshd -D -e -o PasswordAuthentication=no -o PermitRootLogin=prohibit-password -o "AcceptEnv=PULUMI_COMMAND_*"
