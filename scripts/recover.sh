# Sourced by scripts/up.sh (bash, with the Pulumi environment of scripts/pulumi-env.sh): the two ways a
# stack can be left where a plain `pulumi up` cannot bring it back, and what up.sh does about each.

# An interrupted `pulumi up` (Ctrl-C twice, the process or the machine killed) leaves its lock behind in a
# file backend, and every later command stops on "the stack is currently locked". A lock taken on this
# machine by a process that no longer runs is stale: `pulumi cancel` removes it. A live one is left alone.
# The interrupted operations are finished by the next up itself (Pulumi warns about them); creates it
# cannot know the outcome of are dropped from the state by `pulumi refresh --clear-pending-creates`.
recover_interrupted_up() { # STACK
  local stack=$1 dir lock pid host stale=0
  case "${PULUMI_BACKEND_URL:-}" in file://*) dir=${PULUMI_BACKEND_URL#file://} ;; *) return 0 ;; esac
  for lock in "$dir"/.pulumi/locks/*/*/"$stack"/*.json; do
    [ -f "$lock" ] || continue
    read -r pid host < <(node -e 'const l = require(process.argv[1]); console.log(l.pid, l.hostname)' "$lock")
    if [ "$host" = "$(hostname)" ] && ! kill -0 "$pid" 2>/dev/null; then stale=1; else return 0; fi
  done
  if [ "$stale" = 1 ]; then
    echo "[up] the last pulumi command on stack $stack was interrupted (its process is gone): removing its lock (pulumi cancel)" >&2
    pulumi cancel --yes --stack "$stack" >/dev/null
  fi
  if pulumi stack export --stack "$stack" | node -e '
      const d = JSON.parse(require("fs").readFileSync(0, "utf8")).deployment ?? {};
      process.exit((d.pending_operations ?? []).some((op) => op.type === "creating") ? 0 : 1)'; then
    echo "[up] it was interrupted while creating resources: dropping those from the state (pulumi refresh --clear-pending-creates)" >&2
    pulumi refresh --yes --skip-preview --clear-pending-creates --stack "$stack" >/dev/null
  fi
}

# The first manager's host lost (its machine and its engine state): the docker provider reaches the Swarm
# through it, so `pulumi up --refresh` stops at the refresh of the Swarm's networks and services. Healed in
# three steps: refresh everything but those (the lost host leaves the state), up everything but those (the
# host is made again; it joins the live managers' Swarm, or, alone, forms it again and the others follow),
# then the asked-for up with its refresh (services, registry and images made again where the Swarm lost them).
manager_answers() { # STACK: whether the first manager answers over SSH (yes when there is nothing to ask)
  local ssh
  ssh=$(pulumi stack output sshCommand --stack "$1" 2>/dev/null) || return 0
  [ -n "$ssh" ] || return 0
  # shellcheck disable=SC2086 # the output is a command line: words on purpose
  $ssh -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR true 2>/dev/null
}
heal_lost_manager() { # STACK; sets heal_args, what the asked-for up needs more (pulumi_steps: up.sh's)
  local stack=$1 swarm_level image
  swarm_level=(--exclude "urn:pulumi:$stack::dockercoins::dockercoins:swarm:Services\$**" --exclude "urn:pulumi:$stack::dockercoins::dockercoins:images:Images\$**")
  echo "[up] the first manager does not answer over SSH: its host is lost. Healing in three steps:" >&2
  echo "[up] 1/3 refresh the hosts (not the Swarm's services, which are reached through that manager)" >&2
  pulumi_steps refresh --yes --skip-preview --stack "$stack" "${swarm_level[@]}"
  echo "[up] 2/3 make the lost host again and bring it back into the Swarm" >&2
  pulumi_steps up --yes --skip-preview --stack "$stack" "${swarm_level[@]}" --exclude-dependents
  echo "[up] 3/3 the Swarm's networks, services and registry as declared; the images pushed again (the registry's storage was on the lost host)" >&2
  heal_args=()
  for image in $(pulumi stack --show-urns --stack "$stack" | grep -o 'urn:pulumi:[^ ]*dockercoins:images:Images\$docker:index/image:Image::[^ ]*'); do
    heal_args+=(--replace "$image")
  done
}
