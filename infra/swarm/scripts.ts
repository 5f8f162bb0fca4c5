import { createHash } from "node:crypto";

// The shell scripts that turn SSH-reachable machines with a Docker engine (engine.ts) into a Swarm. Pure functions of plain values, so
// SwarmCluster (through @pulumi/command) and the end-to-end test (through ssh) run the very same text,
// and the snapshot tests see every change. Each script is idempotent: re-running it on a node that is
// already in the wanted state changes nothing and succeeds.

/** Single-quote a value for bash. */
export function shq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** SHA-256 of a text, hex: the rollout wait's trigger (services.ts rolloutKey) is the hash of the specs. */
export function scriptHash(script: string): string {
  return createHash("sha256").update(script).digest("hex");
}

/**
 * The command line that runs a rendered script on a remote host whatever its login shell is
 * (remote.Command hands its `create` string to the user's shell).
 */
export function remoteBash(script: string): string {
  return `bash -c ${shq(script)}`;
}

const ADDRESS = /^[A-Za-z0-9.:\[\]-]+$/;
const LABEL_KEY = /^[A-Za-z0-9._-]+$/;
const LABEL_VALUE = /^[A-Za-z0-9._:\/-]*$/;
const JOIN_TOKEN = /^SWMTKN-1-[a-z0-9]+-[a-z0-9]+$/;

export function checkAddress(what: string, value: string): string {
  if (!ADDRESS.test(value)) {
    throw new Error(`${what} must be a host name or IP address (optionally :port), got ${JSON.stringify(value)}`);
  }
  return value;
}

export function script(name: string, body: string): string {
  return [
    "#!/bin/bash",
    `# dockercoins: ${name} (rendered by infra/swarm/scripts.ts)`,
    "set -euo pipefail",
    `log() { echo "[${name}] $*" >&2; }`,
    "fail() { echo \"[" + name + "] ERROR: $*\" >&2; exit 1; }",
    'SUDO=""; if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi',
    body.trim(),
    "",
  ].join("\n");
}

// Shell functions for the engine (engine.ts's two steps, and a join after leaving a dead Swarm): is it up,
// start it, restart it (with or without systemd).
export const ENGINE_FUNCTIONS = `has_systemd() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }
engine_up() { $SUDO docker info >/dev/null 2>&1; }
in_swarm() { [ "$($SUDO docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null)" = active ]; }
# A manager restarting with its tasks on a busy machine can take minutes to answer again.
wait_engine() {
  for _ in $(seq 1 180); do engine_up && return 0; sleep 1; done
  fail "the Docker engine did not answer within 180s (see journalctl -u docker or /var/log/dockerd.log)"
}
start_engine() {
  if has_systemd; then
    $SUDO systemctl enable --now docker >/dev/null 2>&1 || $SUDO systemctl start docker
  else
    # No init system (a container node): run dockerd in its own session so it outlives this shell.
    $SUDO sh -c 'setsid dockerd >>/var/log/dockerd.log 2>&1 </dev/null &'
  fi
  wait_engine
}
restart_engine() {
  if has_systemd; then
    $SUDO systemctl restart docker
  else
    if [ -s /var/run/docker.pid ]; then
      pid=$($SUDO cat /var/run/docker.pid)
      $SUDO kill "$pid" 2>/dev/null || true
      # It stops its containers first: a second dockerd started before it is gone finds the pid file and quits.
      for _ in $(seq 1 240); do $SUDO kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    $SUDO sh -c 'setsid dockerd >>/var/log/dockerd.log 2>&1 </dev/null &'
  fi
  wait_engine
}`;

// Leaving a Swarm stops the engine's network gossip (memberlist, port 7946). When its leave broadcast times out
// ("Could not close DB: timeout waiting for leave broadcast" in the engine's log) the old gossip keeps the port,
// and the next join's network agent fails to bind it: the node is in the new Swarm and runs tasks, but learns
// no service's address (ENOTFOUND). Seen when a lone manager's host was lost and the others followed the new
// Swarm. A restart clears it, so the join then starts a fresh agent.
export const GOSSIP_PORT_HELD = `gossip_port_held() { # a TCP listener on 7946, IPv4 or IPv6
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$2 ~ /:1F0A$/ && $4 == "0A" { held = 1 } END { exit !held }'
}`;

// Shared by the scripts that talk to the local engine: its swarm state in one word.
const SWARM_STATE = `swarm_state() { $SUDO docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }`;

// A busy engine gives up on its leave after 15 s ("context deadline exceeded", seen in CI) and is still in
// the Swarm: asked again until it is out.
const SWARM_LEAVE = `${SWARM_STATE}
swarm_leave() {
  local out
  for attempt in 1 2 3 4; do
    out=$($SUDO docker swarm leave --force 2>&1 >/dev/null) && return 0
    [ "$(swarm_state)" = inactive ] && return 0
    [ "$attempt" -lt 4 ] || { echo "$out" >&2; return 1; }
    log "leaving the swarm: $out; again in 2 s"
    sleep 2
  done
}`;

const LEAVE_DEAD_SWARM = `${ENGINE_FUNCTIONS}
${GOSSIP_PORT_HELD}
${SWARM_LEAVE}
leave_dead_swarm() {
  swarm_leave
  for _ in $(seq 1 10); do gossip_port_held || return 0; sleep 1; done
  log "the old swarm's network gossip still holds port 7946 10 s after leaving it: restarting the engine, so the join starts a fresh one"
  restart_engine
}`;

// \`docker swarm join --token\` would put the token in a command line: \`ps\` shows it to every local user,
// and sudo logs it (auth.log, the journal). The engine's API takes it in a request body instead, which
// curl reads from standard input (a here-string, written by bash itself: no process has it as an argument).
// Prints the engine's answer ("" on success, its error message otherwise) and fails when the join did.
const SWARM_JOIN = `swarm_join() { # TOKEN ADVERTISE_ADDR MANAGER_ADDR
  local body answer code
  body=$(printf '{"ListenAddr":"0.0.0.0:2377","AdvertiseAddr":"%s","RemoteAddrs":["%s"],"JoinToken":"%s"}' "$2" "$3" "$1")
  answer=$($SUDO curl -sS --unix-socket /var/run/docker.sock -X POST -H 'Content-Type: application/json' \\
    --data-binary @- -w '\\n%{http_code}' http://localhost/swarm/join <<<"$body" 2>&1) || { echo "$answer"; return 1; }
  code=\${answer##*$'\\n'}
  answer=\${answer%$'\\n'*}
  [ "$code" = 200 ] && return 0
  echo "$answer" | sed -n 's/.*"message":"\\(.*\\)"}.*/\\1/p; t; p'
  return 1
}`;

// Find a node's ID from its address as the managers see it (works on every provider, where host
// names may be anything): workers report Status.Addr, managers also ManagerStatus.Addr (ip:2377).
// A host replaced at the same address joins as a new node while its old entry stays Down: every match
// is listed, the Ready one first.
function nodeIdByAddress(address: string): string {
  return `at_address() { [ "$1" = ${shq(address)} ] || [ "\${2%:*}" = ${shq(address)} ]; } # Status.Addr, ManagerStatus.Addr
node_ids_by_address() {
  local id addr maddr state
  for id in $($SUDO docker node ls -q); do
    read -r state addr maddr <<<"$($SUDO docker node inspect -f '{{.Status.State}} {{.Status.Addr}} {{if .ManagerStatus}}{{.ManagerStatus.Addr}}{{else}}-{{end}}' "$id")"
    if at_address "$addr" "$maddr"; then
      if [ "$state" = ready ]; then echo "0 $id"; else echo "1 $id"; fi
    fi
  done | sort | awk '{ print $2 }'
}
node_id_by_address() { node_ids_by_address | awk 'NR == 1'; }`;
}

/**
 * A setup script that names the machines it sets up: a host re-created (a new identity) changes the script,
 * and pulumi-command runs a changed script again on the next \`up\` (every script here is idempotent).
 */
export function forHosts(identities: string[], script: string): string {
  const known = identities.filter(Boolean);
  return known.length ? `# hosts: ${known.join(" ")}\n${script}` : script;
}

/** Runs first on every host: proves SSH works and waits for first-boot provisioning (cloud-init). */
export function waitForSshScript(): string {
  return script(
    "wait-for-ssh",
    `
if command -v cloud-init >/dev/null 2>&1; then
  $SUDO cloud-init status --wait >/dev/null 2>&1 || log "cloud-init reported an error; continuing"
fi
echo "ssh ready on $(hostname)"
`,
  );
}

/** Where Swarm takes overlay subnets from when \`swarm init\` is given no pool. */
export const DOCKER_ADDR_POOL = "10.0.0.0/8";

/** `docker info --format` of the pools a Swarm was formed with ("a b " for several): init and the playground's preview read it alike. */
export const ADDR_POOL_FORMAT = "{{range .Swarm.Cluster.DefaultAddrPool}}{{.}} {{end}}";

/**
 * Makes this host the Swarm's first manager, or confirms it already is one. Standard input holds what
 * liveManagerScript found ("address token", or nothing): a new machine joins that live manager's Swarm as a
 * manager instead of forming a new one.
 */
export function swarmInitScript(opts: { advertiseAddr: string; defaultAddrPool?: string }): string {
  const addr = checkAddress("advertiseAddr", opts.advertiseAddr);
  const pool = opts.defaultAddrPool;
  if (pool !== undefined && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(pool)) throw new Error(`defaultAddrPool must be an IPv4 CIDR, got ${JSON.stringify(pool)}`);
  return script(
    "swarm-init",
    `
${SWARM_STATE}
state=$(swarm_state)
if [ "$state" = active ]; then
  if [ "$($SUDO docker info --format '{{.Swarm.ControlAvailable}}')" != true ]; then
    fail "this node is already a worker of another swarm; run 'docker swarm leave' on it first"
  fi
  # Swarm fixes its overlay address pool when it forms: a changed swarmAddressPool cannot reach a live Swarm.
  pool=$($SUDO docker info --format ${shq(ADDR_POOL_FORMAT)})
  [ "\${pool% }" = ${shq(pool ?? DOCKER_ADDR_POOL)} ] ||
    fail "dockercoins:swarmAddressPool is ${pool ?? `unset (Docker's ${DOCKER_ADDR_POOL})`}, but this Swarm was formed with \${pool% }, and a Swarm's address pool is fixed when it forms: set it back, or pulumi destroy and up again (a new Swarm)"
  log "already a swarm manager"
else
  if [ "$state" = pending ] || [ "$state" = error ]; then $SUDO docker swarm leave --force >/dev/null 2>&1 || true; fi
  via=""; token=""
  read -r via token || true
  if [ -n "$via" ]; then
    [[ "$token" =~ ^SWMTKN-1-[a-z0-9]+-[a-z0-9]+$ ]] || fail "no manager join token for the live manager $via"
    # Docker gives up waiting after 20 s while the join goes on (a Raft that just elected a leader, a busy
    # machine): wait for it.
${SWARM_JOIN}
    # A manager that lost its leader a moment ago answers "CA signer is stopped" (or is unavailable) until the
    # others have elected one: asked again, for about a minute.
    for attempt in 1 2 3 4 5 6 7 8; do
      out=$(swarm_join "$token" ${shq(addr)} "$via:2377") && break
      case "$out" in
        *"Timeout was reached before node joined"*) log "the join goes on in the background: waiting for it"; break ;;
        *"CA signer is stopped"*|*"code = Unavailable"*|*"code = DeadlineExceeded"*|*"code = Aborted"*)
          [ "$attempt" -lt 8 ] || fail "joining the live swarm through $via failed: $out"
          log "join attempt $attempt through $via: $out (the managers are electing a leader): again in $((attempt * 2)) s"
          $SUDO docker swarm leave --force >/dev/null 2>&1 || true
          sleep $((attempt * 2)) ;;
        *) fail "joining the live swarm through $via failed: $out" ;;
      esac
    done
    for _ in $(seq 1 120); do
      [ "$($SUDO docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')" = "active true" ] && break
      sleep 1
    done
    [ "$($SUDO docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')" = "active true" ] ||
      fail "joined through $via, but this node is no manager of a live swarm after 120 s: $($SUDO docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.Error}}')"
    log "this host is new: joined the live swarm as a manager through $via (the swarm kept its quorum)"
    $SUDO docker info --format '{{.Swarm.NodeID}}'
    exit 0
  fi
  $SUDO docker swarm init --advertise-addr ${shq(addr)}${pool ? ` --default-addr-pool ${shq(pool)}` : ""} >/dev/null
  log "swarm initialised, advertising ${addr}"
fi
$SUDO docker info --format '{{.Swarm.NodeID}}'
`,
  );
}

/** Prints the join token for `role` (and nothing else) on stdout; run it on a manager. */
export function joinTokenScript(role: "manager" | "worker"): string {
  if (role !== "manager" && role !== "worker") throw new Error(`role must be manager or worker, got ${JSON.stringify(role)}`);
  return script("join-token", `$SUDO docker swarm join-token -q ${role}`);
}

/** A join token as the join script wants it on standard input; anything else is refused here, unprinted. */
export function checkJoinToken(token: string): string {
  const t = token.trim();
  if (!JOIN_TOKEN.test(t)) throw new Error("token must be a Swarm join token (SWMTKN-1-...), got something else");
  return `${t}\n`;
}

/**
 * Joins this host to the Swarm whose manager is at managerAddr, unless it already belongs to it. The join
 * token comes on standard input (checkJoinToken), so it is in no command line, process list or error.
 *
 * managerNodeId, the first manager's Swarm node ID, tells the declared Swarm from a dead one at the same
 * address: when a lone manager's host is lost, \`swarm init\` forms a new Swarm there, and the other nodes,
 * still members of the old one, must leave it and join the new one. A node of the same Swarm learns a new
 * manager's ID within seconds (heartbeats), so it is given 20 s before it counts as another Swarm.
 */
export function swarmJoinScript(opts: { managerAddr: string; advertiseAddr: string; managerNodeId: string }): string {
  const manager = checkAddress("managerAddr", opts.managerAddr);
  const addr = checkAddress("advertiseAddr", opts.advertiseAddr);
  const managerEndpoint = manager.includes(":") ? manager : `${manager}:2377`;
  const managerId = opts.managerNodeId;
  if (!/^[a-z0-9]{25}$/.test(managerId)) throw new Error(`managerNodeId must be a Swarm node ID, got ${JSON.stringify(managerId)}`);
  return script(
    "swarm-join",
    `
IFS= read -r token || true
[[ "$token" =~ ^SWMTKN-1-[a-z0-9]+-[a-z0-9]+$ ]] || fail "no join token on standard input"
${LEAVE_DEAD_SWARM}
state=$(swarm_state)
if [ "$state" = active ]; then
  # Managers as this node knows them, "ID@address:port" each.
  for _ in $(seq 1 20); do
    managers=$($SUDO docker info --format '{{range .Swarm.RemoteManagers}}{{.NodeID}}@{{.Addr}} {{end}}')
    case " $managers " in
      *" ${managerId}@"*) log "already in the swarm of ${managerEndpoint}"; $SUDO docker info --format '{{.Swarm.NodeID}}'; exit 0 ;;
    esac
    sleep 1
  done
  # A worker that knows no manager at all was cut off from its Swarm (its only manager gone, e.g. just after
  # a demotion): as left behind as one that still names the old manager.
  [ -z "\${managers// /}" ] && [ "$($SUDO docker info --format '{{.Swarm.ControlAvailable}}')" != true ] && managers="(none) @${managerEndpoint}"
  case " $managers " in
    *"@${managerEndpoint} "*)
      log "leaving the swarm of ${managerEndpoint} as it was (managers: $managers): the declared one, manager ${managerId}, was formed again after its host was lost"
      leave_dead_swarm
      state=$(swarm_state) ;;
    *) fail "this node is in another swarm (managers: $managers); run 'docker swarm leave --force' on it first" ;;
  esac
fi
if [ "$state" = pending ] || [ "$state" = error ]; then $SUDO docker swarm leave --force >/dev/null 2>&1 || true; fi
${SWARM_JOIN}
out=""
for attempt in 1 2 3 4 5 6; do
  if out=$(swarm_join "$token" ${shq(addr)} ${shq(managerEndpoint)}); then
    log "joined the swarm of ${managerEndpoint}"
    $SUDO docker info --format '{{.Swarm.NodeID}}'
    exit 0
  fi
  case "$out" in
    *"not yet valid"*|*"has expired"*)
      fail "join rejected by TLS ($out): this node's clock ($(date -u +%FT%TZ)) and the manager's differ; fix time sync (NTP) on both" ;;
    *"already part of a swarm"*) $SUDO docker info --format '{{.Swarm.NodeID}}'; exit 0 ;;
  esac
  log "join attempt $attempt failed: $out"
  sleep $((attempt * 2))
done
fail "could not join the swarm of ${managerEndpoint}: $out"
`,
  );
}

/**
 * Gives the node whose advertise address is nodeAddress its role and labels; run it on a manager. Labels
 * of ours (`dockercoins.*`) that are no longer wanted are removed, others are left alone, so a config change
 * (webuiReplicas, managerCount) is applied to the live node in place: promote, demote, relabel.
 */
export function labelNodeScript(opts: { nodeAddress: string; labels: Record<string, string>; role?: "manager" | "worker" }): string {
  const address = checkAddress("nodeAddress", opts.nodeAddress);
  const entries = Object.entries(opts.labels).sort(([a], [b]) => a.localeCompare(b));
  for (const [k, v] of entries) {
    if (!LABEL_KEY.test(k) || !LABEL_VALUE.test(v)) throw new Error(`invalid node label ${JSON.stringify(k)}=${JSON.stringify(v)}`);
  }
  if (opts.role !== undefined && opts.role !== "manager" && opts.role !== "worker") throw new Error(`role must be manager or worker, got ${opts.role}`);
  const adds = entries.map(([k, v]) => `--label-add ${shq(`${k}=${v}`)}`).join(" ");
  const wanted = entries.map(([k]) => k).join(" ");
  return script(
    "label-node",
    `
${nodeIdByAddress(address)}
id=""
for _ in $(seq 1 30); do
  id=$(node_id_by_address)
  [ -n "$id" ] && break
  sleep 1
done
[ -n "$id" ] || fail "no swarm node with address ${address}"
${removeStaleEntries(address, opts.labels["dockercoins.node"])}
removes=()
for key in $($SUDO docker node inspect -f '{{range $k, $v := .Spec.Labels}}{{$k}} {{end}}' "$id"); do
  case "$key" in dockercoins.*) case " ${wanted} " in *" $key "*) ;; *) removes+=(--label-rm "$key") ;; esac ;; esac
done
# Safe to ask again: Raft timed a membership change out on a busy machine (DeadlineExceeded), or the node's
# object changed between the CLI's read and its write ("update out of sequence": another node's promotion
# moving through Raft, this node's own status).
for attempt in 1 2 3 4 5; do
  out=$($SUDO docker node update ${opts.role ? `--role ${opts.role} ` : ""}${adds} \${removes[@]+"\${removes[@]}"} "$id" 2>&1) && break
  case "$out" in
    *DeadlineExceeded*|*"context deadline exceeded"*) why="timed out in Raft" ;;
    *"update out of sequence"*) why="raced another change of the node" ;;
    *) fail "updating node ${address} ($id): $out" ;;
  esac
  [ "$attempt" -lt 5 ] || fail "updating node ${address} ($id): $out (5 attempts)"
  log "updating node ${address} $why (attempt $attempt): again"
  sleep $((attempt * 3))
done
${
  opts.role === "manager"
    ? `# A promoted node is a manager once Raft has it: wait, so the next change never runs on a shaky quorum.
for _ in $(seq 1 60); do
  [ "$($SUDO docker node inspect -f '{{if .ManagerStatus}}{{.ManagerStatus.Reachability}}{{end}}' "$id")" = reachable ] && break
  sleep 1
done
[ "$($SUDO docker node inspect -f '{{if .ManagerStatus}}{{.ManagerStatus.Reachability}}{{end}}' "$id")" = reachable ] || fail "node ${address} did not become a reachable manager within 60s"
`
    : ""
}log "node ${address} ($id)${opts.role ? ` ${opts.role}` : ""}, labelled: ${entries.map(([k, v]) => `${k}=${v}`).join(" ") || "none"}\${removes[*]:+, removed: \${removes[*]}}"
`,
  );
}

/**
 * A host replaced by a new machine (a new EC2 instance, a VM re-installed, a node container whose engine
 * state was lost) joins as a new node, and its old entry stays Down for good: remove every entry not Ready at
 * the same address or with the same node name label (demoted first if it was a manager), so \`docker node
 * ls\` shows the cluster as declared. \`$id\` is the live node's.
 */
function removeStaleEntries(address: string, nodeName: string | undefined): string {
  // Runs after nodeIdByAddress(address), whose at_address it uses.
  return `for other in $($SUDO docker node ls -q); do
  [ "$other" = "$id" ] && continue
  read -r state addr maddr name <<<"$($SUDO docker node inspect -f '{{.Status.State}} {{.Status.Addr}} {{if .ManagerStatus}}{{.ManagerStatus.Addr}}{{else}}-{{end}} {{index .Spec.Labels "dockercoins.node"}}' "$other")"
  # Not only Down: a manager lost seconds ago is still "unknown" to the Swarm, and no second live node can
  # have this node's address or name.
  [ "$state" = ready ] && continue
  if at_address "$addr" "$maddr"${nodeName ? ` || [ "$name" = ${shq(nodeName)} ]` : ""}; then
    [ "$maddr" = - ] || $SUDO docker node demote "$other" >/dev/null
    $SUDO docker node rm --force "$other" >/dev/null
    log "removed the stale entry $other of ${nodeName ?? address} ($state: its host was replaced)"
  fi
done`;
}

/**
 * Destroy time, on a manager: drain the node at nodeAddress (its tasks move elsewhere), demote it if it
 * is a manager, then remove it from the Swarm. Succeeds if the node is already gone.
 */
export function drainAndRemoveNodeScript(opts: { nodeAddress: string; drainTimeoutS?: number }): string {
  const address = checkAddress("nodeAddress", opts.nodeAddress);
  const timeout = opts.drainTimeoutS ?? 60;
  return script(
    "drain-and-remove-node",
    `
${SWARM_STATE}
[ "$(swarm_state)" = active ] || { log "this manager is no longer in a swarm; nothing to remove"; exit 0; }
${nodeIdByAddress(address)}
ids=$(node_ids_by_address)
[ -n "$ids" ] || { log "node ${address} is not in the swarm; nothing to do"; exit 0; }
for id in $ids; do
  # A Down entry (its host gone) has nothing to drain.
  if [ "$($SUDO docker node inspect -f '{{.Status.State}}' "$id")" = ready ]; then
    $SUDO docker node update --availability drain "$id" >/dev/null
    for _ in $(seq 1 ${timeout}); do
      running=$($SUDO docker node ps "$id" --filter desired-state=running -q | wc -l)
      [ "$running" -eq 0 ] && break
      sleep 1
    done
  fi
  if [ "$($SUDO docker node inspect -f '{{.Spec.Role}}' "$id")" = manager ]; then
    $SUDO docker node demote "$id" >/dev/null
  fi
  $SUDO docker node rm --force "$id" >/dev/null
  log "node ${address} ($id) drained and removed"
done
`,
  );
}

/** Destroy time, on the node itself: leave the Swarm if in one. */
export function leaveSwarmScript(): string {
  return script(
    "leave-swarm",
    `
${SWARM_LEAVE}
case "$(swarm_state)" in
  inactive) log "not in a swarm"; exit 0 ;;
  unknown) log "no Docker engine answering: nothing to leave"; exit 0 ;;
esac
swarm_leave || fail "could not leave the swarm"
log "left the swarm"
`,
  );
}

// The ssh client of the scripts that run on the machine running Pulumi: the private key comes in the
// environment (SSH_KEY, a secret) and goes to a file only this user reads, never on a command line. The
// hosts' learned keys come in KNOWN_HOSTS (known_hosts lines): a host that offers another key is refused.
const SSH_CLIENT = `key=$(mktemp)
known=$(mktemp)
trap 'rm -f "$key" "$known"' EXIT
printf '%s\\n' "$SSH_KEY" >"$key"
if [ -n "\${KNOWN_HOSTS:-}" ]; then
  printf '%s\\n' "$KNOWN_HOSTS" >"$known"
  host_keys=(-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$known")
else
  host_keys=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null)
fi
on_host() { # on_host USER HOST PORT COMMAND
  ssh -i "$key" -o IdentitiesOnly=yes -o BatchMode=yes "\${host_keys[@]}" \\
    -o LogLevel=ERROR -o ConnectTimeout=10 -o ConnectionAttempts=3 -p "$3" "$1@$2" "$4"
}`;

/**
 * Destroy time, on the machine running Pulumi: the node leaves the Swarm (leaveSwarmScript over ssh), or,
 * when its host is already gone (refused, timed out, no route, unknown name), the node is skipped with one
 * line saying so: the manager has removed its entry already, and nothing is left to leave. A remote.Command
 * would retry the dial for minutes and then fail the whole destroy. SSH_HOST, SSH_PORT, SSH_USER and NODE
 * say where.
 */
export function leaveOrSkipScript(): string {
  return script(
    "leave-swarm",
    `
${SSH_CLIENT}
rc=0
out=$(on_host "$SSH_USER" "$SSH_HOST" "$SSH_PORT" ${shq(remoteBash(leaveSwarmScript()))} 2>&1) || rc=$?
if [ "$rc" -eq 255 ]; then
  case "$out" in
    *"Connection refused"*|*"timed out"*|*"No route to host"*|*"Could not resolve"*|*"Network is unreachable"*|*"Connection closed"*|*"Connection reset"*)
      reason=$(printf '%s' "$out" | tr -d '\\r' | tr '\\n' ' ')
      log "skipped $NODE ($SSH_HOST:$SSH_PORT): its host is gone (\${reason% }); its entry was removed from the Swarm"
      exit 0 ;;
  esac
fi
[ -z "$out" ] || echo "$out"
[ "$rc" -eq 0 ] || fail "$NODE ($SSH_HOST:$SSH_PORT): leaving the Swarm failed (ssh exit $rc)"
`,
  );
}

/** On a node: its manager join token if it is a manager of a Swarm with a leader; nothing otherwise. */
export function managerTokenScript(): string {
  return script(
    "manager-token",
    `
[ "$($SUDO docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null || true)" = "active true" ] || exit 0
# A manager answers for its Swarm once the Swarm has a leader. The lost first manager was the leader: the
# others elect a new one within seconds (more on a busy machine; each question meanwhile waits 20 s for an
# answer). Asked before that, this manager would look dead and the first manager would form a second Swarm
# beside the live one.
deadline=$((SECONDS + \${LEADER_WAIT_S:-90})) said=""
until nodes=$($SUDO docker node ls -q 2>&1); do
  [ -n "$said" ] || { log "waiting for the swarm to elect a leader (\${nodes##*desc = })"; said=1; }
  [ "$SECONDS" -lt "$deadline" ] || { log "the swarm has no leader after \${LEADER_WAIT_S:-90} s: not a live manager"; exit 0; }
  sleep 2
done
# The lost first manager (SELF, its address) is still a Raft member. Its new machine joining first would
# make four members of which two answer, below the quorum of three until it has caught up (seen: the join
# pending for 2 minutes, the leader's store stuck). Removed first, the join keeps the quorum. Raft may not
# have marked it unreachable yet (seen: a heal started seconds after the loss), so its Swarm port is tried
# too: the new machine is not in the Swarm yet, nothing answers there. A live first manager does.
swarm_port_closed() { ! timeout 3 bash -c ">/dev/tcp/$1/$2" 2>/dev/null; }
# COMMAND asked up to N times, S s apart, until it succeeds; its last answer in $err.
ask_again() { # N S COMMAND...
  local n=$1 s=$2 i
  shift 2
  for i in $(seq 1 "$n"); do err=$("$@" 2>&1) && return 0; [ "$i" -eq "$n" ] || sleep "$s"; done
  return 1
}
if [ -n "\${SELF:-}" ]; then
  for id in $nodes; do
    info=$($SUDO docker node inspect -f '{{if .ManagerStatus}}{{.ManagerStatus.Reachability}} {{.ManagerStatus.Addr}}{{end}}' "$id" 2>/dev/null) || continue
    read -r reachability addr <<<"$info"
    [ "\${addr%:*}" = "$SELF" ] || continue
    if [ "$reachability" != unreachable ] && ! swarm_port_closed "$SELF" "\${addr##*:}"; then
      log "the first manager $SELF ($id) is $reachability and answers on its Swarm port: kept"
      continue
    fi
    # The demotion races Swarm's own updates of the node, marking it down (seen: "update out of sequence"),
    # and leaves Raft a moment later: each is asked again until it has gone through (20 s, a minute).
    removed=false
    ask_again 20 1 $SUDO docker node demote "$id" && ask_again 120 0.5 $SUDO docker node rm --force "$id" && removed=true
    if $removed; then
      log "removed the lost manager $SELF ($id) before its new machine joins"
    else
      log "could not remove the lost manager $SELF ($id): $(printf '%s' "$err" | tr '\\n' ' '); the join goes on"
    fi
  done
fi
$SUDO docker swarm join-token -q manager 2>/dev/null || true
`,
  );
}

/**
 * On the machine running Pulumi, before the first manager's init: finds a live manager of the Swarm among
 * the other managers (PEERS: "user|sshHost|sshPort|address" each, in order) and prints "address token" of
 * the first one, or nothing. SELF_ADDRESS, the first manager's address: its lost machine's entry is removed
 * from that Swarm first. A first manager whose host was lost comes back as a new, empty machine; while
 * the other managers keep Raft's quorum (managerCount 3 or 5), it must join their Swarm, not form a new one.
 */
export function liveManagerScript(): string {
  return script(
    "live-manager",
    `
${SSH_CLIENT}
[[ "\${SELF_ADDRESS:-}" =~ ^[A-Za-z0-9.:-]*$ ]] || fail "SELF_ADDRESS is not an address: $SELF_ADDRESS"
for peer in $PEERS; do
  IFS='|' read -r user host port address <<<"$peer"
  # Its own lines pass on; ssh's (a peer that is down) do not.
  token=$(on_host "$user" "$host" "$port" "SELF=\${SELF_ADDRESS:-} "${shq(remoteBash(managerTokenScript()))} \\
    2> >(grep --line-buffered '^\\[manager-token\\]' >&2 || true) || true)
  if [[ "$token" =~ ^SWMTKN-1-[a-z0-9]+-[a-z0-9]+$ ]]; then
    log "$address is a live manager of the swarm"
    echo "$address $token"
    exit 0
  fi
  log "$address: no live manager there"
done
log "no other manager is live: the first manager forms the swarm"
`,
  );
}

/** Swarm service names, checked before they go into a script. */
function checkServiceNames(services: string[]): string[] {
  for (const s of services) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(s)) throw new Error(`invalid service name ${JSON.stringify(s)}`);
  }
  return services;
}

/**
 * On a manager, after `pulumi up` changed services: waits until Swarm has finished rolling each one out
 * (UpdateStatus completed, or no update at all) and runs all its tasks, and fails if Swarm paused or rolled
 * back the update. The docker provider does not wait for this itself: during a start-first rolling update
 * every slot already has a running task, which it takes for "converged", and it cannot wait for a global
 * service at all.
 */
export function waitForRolloutScript(opts: { services: string[]; timeoutS?: number }): string {
  const names = checkServiceNames(opts.services);
  const timeout = opts.timeoutS ?? 600;
  return script(
    "wait-for-rollout",
    `
deadline=$((SECONDS + ${timeout}))
for svc in ${names.join(" ")}; do
  t0=$SECONDS
  while :; do
    state=$($SUDO docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$svc")
    case "$state" in
      paused|rollback_paused|rollback_completed)
        fail "$svc: update $state: $($SUDO docker service inspect -f '{{.UpdateStatus.Message}}' "$svc")" ;;
    esac
    if [ -z "$state" ] || [ "$state" = completed ]; then
      # Running/desired tasks, e.g. "5/5" (docker service ls may add " (max 1 per node)").
      replicas=$($SUDO docker service ls --filter "name=$svc" --format '{{.Name}} {{.Replicas}}' | awk -v s="$svc" '$1 == s { print $2 }')
      [ -n "$replicas" ] && [ "\${replicas%/*}" = "\${replicas#*/}" ] && break
      state="starting tasks ($replicas)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || fail "$svc: still $state after ${timeout}s"
    sleep 1
  done
  echo "$svc rolled out$([ "$SECONDS" -gt "$t0" ] && echo " in $((SECONDS - t0))s")"
done
`,
  );
}

/**
 * On a manager, after a host came back as a new node: Swarm does not move running tasks onto it, so a
 * replicated service with at least as many tasks as there are nodes, but none on some Ready node, is updated
 * with --force: a rolling restart, as its update config says (start-first: its task count never drops),
 * which spreads its tasks over every node again. Detached: the up does not wait for it.
 */
export function spreadTasksScript(opts: { services: string[] }): string {
  const names = checkServiceNames(opts.services);
  return script(
    "spread-tasks",
    `
ready=$($SUDO docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}}' | awk '$2 == "Ready" && $3 == "Active" { print $1 }' | sort -u)
for svc in ${names.join(" ")}; do
  replicas=$($SUDO docker service inspect -f '{{if .Spec.Mode.Replicated}}{{.Spec.Mode.Replicated.Replicas}}{{else}}0{{end}}' "$svc")
  [ "$replicas" -ge "$(wc -l <<<"$ready")" ] || continue
  busy=$($SUDO docker service ps "$svc" --filter desired-state=running --format '{{.Node}}' | sort -u)
  idle=$(comm -23 <(echo "$ready") <(echo "$busy") | tr '\n' ' ')
  [ -n "\${idle% }" ] || continue
  $SUDO docker service update --force --detach "$svc" >/dev/null
  log "$svc: $replicas tasks, none on \${idle% }: rolling them over every node again"
done
`,
  );
}

/**
 * On a manager, after a host came (back) into the Swarm: every node pulls the images of `services` now, in
 * the background, rather than when a task first lands there (a scale onto a node without them waited 7-8 s
 * for the pull while the others ran theirs in 3). One global job per image, removed once it has run everywhere.
 */
export function warmImagesScript(opts: { services: string[] }): string {
  const names = checkServiceNames(opts.services);
  return script(
    "warm-images",
    `
images=$(for svc in ${names.join(" ")}; do $SUDO docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$svc" 2>/dev/null || true; done | sort -u)
[ -n "$images" ] || exit 0
log "every node pulls $(wc -w <<<"$images") image(s) in the background"
# Detached: the up does not wait. A job's tasks end Complete (or Failed/Rejected where a node cannot pull).
SUDO="$SUDO" IMAGES="$images" setsid bash -c '
  n=0
  for image in $IMAGES; do
    n=$((n + 1)); job=dockercoins-warm-images-$n
    $SUDO docker service rm "$job" >/dev/null 2>&1 || true
    $SUDO docker service create --detach --quiet --name "$job" --mode global-job --restart-condition none \\
      --no-healthcheck --entrypoint true "$image" >/dev/null || continue
    for _ in $(seq 1 300); do
      sleep 1
      states=$($SUDO docker service ps --format "{{.CurrentState}}" "$job" 2>/dev/null) || break
      [ -n "$states" ] && ! grep -qvE "^(Complete|Failed|Rejected|Shutdown)" <<<"$states" && break
    done
    $SUDO docker service rm "$job" >/dev/null 2>&1 || true
  done' </dev/null >/dev/null 2>&1 &
`,
  );
}

const IMAGE_REF = /^[a-z0-9][a-z0-9._\/:@-]*$/;

/**
 * On a manager: prints the image pinned by digest (`redis@sha256:...`), pulling it first where a registry
 * (or mirror) answers; where none does, the reference as given. Swarm resolves a tag to a digest itself when
 * it can, and the docker provider then reads the service back with that digest: a diff on every preview.
 * A digest given up front is kept as it is.
 */
export function pinImageScript(image: string): string {
  if (!IMAGE_REF.test(image)) throw new Error(`invalid image reference ${JSON.stringify(image)}`);
  const repo = image.includes("@") ? image : image.replace(/:[^:/]+$/, "");
  return script(
    "pin-image",
    `
img=${shq(image)}
case "$img" in *@sha256:*) echo "$img"; exit 0 ;; esac
$SUDO docker pull -q "$img" >/dev/null 2>&1 || log "cannot pull $img here: using it by tag"
digest=$($SUDO docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$img" 2>/dev/null |
  awk -v p=${shq(`${repo.replace(/^docker\.io\/(library\/)?/, "")}@`)} 'index($0, p) == 1 { print; exit }' || true)
echo "\${digest:-$img}"
`,
  );
}
