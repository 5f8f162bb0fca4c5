import { createHash } from "node:crypto";

// The shell scripts that turn SSH-reachable machines into a Swarm. Pure functions of plain values, so
// SwarmCluster (through @pulumi/command) and the end-to-end test (through ssh) run the very same text,
// and the snapshot tests see every change. Each script is idempotent: re-running it on a node that is
// already in the wanted state changes nothing and succeeds.

/** Default tolerance for clock skew: Swarm's mTLS certificates are rejected when clocks disagree. */
export const MAX_CLOCK_SKEW_S = 5;

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

function checkAddress(what: string, value: string): string {
  if (!ADDRESS.test(value)) {
    throw new Error(`${what} must be a host name or IP address (optionally :port), got ${JSON.stringify(value)}`);
  }
  return value;
}

function script(name: string, body: string): string {
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

// Shared by the scripts that talk to the local engine: its swarm state in one word.
const SWARM_STATE = `swarm_state() { $SUDO docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }`;

// Find a node's ID from its address as the managers see it (works on every provider, where host
// names may be anything): workers report Status.Addr, managers also ManagerStatus.Addr (ip:2377).
function nodeIdByAddress(address: string): string {
  return `node_id_by_address() {
  local id addr maddr
  for id in $($SUDO docker node ls -q); do
    addr=$($SUDO docker node inspect -f '{{.Status.Addr}}' "$id")
    maddr=$($SUDO docker node inspect -f '{{if .ManagerStatus}}{{.ManagerStatus.Addr}}{{end}}' "$id")
    if [ "$addr" = ${shq(address)} ] || [ "\${maddr%:*}" = ${shq(address)} ]; then echo "$id"; return 0; fi
  done
  return 0
}`;
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

/**
 * How Docker is installed, from /etc/os-release's ID first and ID_LIKE only after: RHEL, Rocky, Alma and
 * CentOS Stream all list `fedora` in ID_LIKE, yet Fedora's `docker` package is not theirs. Prints one of
 * apt, dnf-docker (Fedora, Amazon Linux 2023), yum-docker (Amazon Linux 2), docker-ce-repo, unknown.
 */
export const DOCKER_INSTALL_METHOD = `docker_install_method() {
  case "\${ID:-}" in
    debian|ubuntu|raspbian|linuxmint|pop) echo apt; return ;;
    fedora) echo dnf-docker; return ;;
    amzn) case "\${VERSION_ID:-}" in 2) echo yum-docker ;; *) echo dnf-docker ;; esac; return ;;
    rhel|centos|rocky|almalinux|ol) echo docker-ce-repo; return ;;
  esac
  case " \${ID_LIKE:-} " in
    *" debian "*|*" ubuntu "*) echo apt ;;
    *" rhel "*|*" centos "*) echo docker-ce-repo ;;
    *" fedora "*) echo dnf-docker ;;
    *) echo unknown ;;
  esac
}`;

export interface BootstrapDockerOptions {
  /** Registries the engine may use over plain HTTP, e.g. ["10.0.0.11:5000"] for the Swarm's own registry. */
  insecureRegistries: string[];
  /** Docker Hub mirrors (daemon.json `registry-mirrors`), e.g. ["http://10.0.0.5:5000"]; an http one is also insecure. */
  registryMirrors?: string[];
  /** Fail when the clock is further than this from NTP time. */
  maxClockSkewS?: number;
}

/**
 * Installs Docker if missing (Debian/Ubuntu, RHEL family, Amazon Linux), writes /etc/docker/daemon.json
 * and restarts the engine only when that file changed, starts the engine, and checks the clock.
 */
export function bootstrapDockerScript(opts: BootstrapDockerOptions): string {
  const mirrors = (opts.registryMirrors ?? []).map((m) => {
    const url = /^(https?):\/\/([A-Za-z0-9.-]+(?::\d{1,5})?)\/?$/.exec(m);
    if (!url) throw new Error(`registry mirror must be an http(s)://host[:port] URL, got ${JSON.stringify(m)}`);
    return { url: `${url[1]}://${url[2]}`, host: url[2], insecure: url[1] === "http" };
  });
  // An http mirror is listed with its scheme: dockerd strips it, and BuildKit (image builds on the node)
  // reads it as "plain HTTP"; listed bare, BuildKit tries HTTPS and fails.
  const registries = [
    ...new Set([
      ...opts.insecureRegistries.map((r) => checkAddress("insecure registry", r)),
      ...mirrors.filter((m) => m.insecure).map((m) => m.url),
    ]),
  ].sort();
  const maxSkew = opts.maxClockSkewS ?? MAX_CLOCK_SKEW_S;
  if (!(maxSkew > 0)) throw new Error(`maxClockSkewS must be > 0, got ${maxSkew}`);
  const daemonJson = JSON.stringify(
    { "insecure-registries": registries, ...(mirrors.length ? { "registry-mirrors": mirrors.map((m) => m.url) } : {}) },
    null,
    2,
  );
  return script(
    "bootstrap-docker",
    `
# --- 1. Docker engine ---
${DOCKER_INSTALL_METHOD}
if ! command -v dockerd >/dev/null 2>&1; then
  . /etc/os-release
  case "$(docker_install_method)" in
    apt)
      log "installing docker.io with apt"
      # A fresh cloud VM runs unattended-upgrades at first boot: wait for its lock instead of failing.
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq docker.io >/dev/null
      ;;
    dnf-docker)
      log "installing docker with dnf"
      $SUDO dnf install -y -q docker
      ;;
    yum-docker)
      log "installing docker with yum"
      $SUDO yum install -y -q docker
      ;;
    docker-ce-repo)
      log "installing docker-ce from Docker's repository"
      repo=centos; [ "\${ID}" = rhel ] && repo=rhel
      $SUDO dnf install -y -q dnf-plugins-core
      $SUDO dnf config-manager --add-repo "https://download.docker.com/linux/\${repo}/docker-ce.repo"
      $SUDO dnf install -y -q docker-ce docker-ce-cli containerd.io
      ;;
    *) fail "cannot install Docker on \${PRETTY_NAME:-this OS}: install it by hand (docker.io or docker-ce) and re-run" ;;
  esac
fi

has_systemd() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }
engine_up() { $SUDO docker info >/dev/null 2>&1; }
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
    $SUDO sh -c 'setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &'
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
}

# --- 2. daemon.json: restart only when it changed ---
want=$(mktemp)
trap 'rm -f "$want"' EXIT
cat >"$want" <<'DAEMON_JSON'
${daemonJson}
DAEMON_JSON
$SUDO mkdir -p /etc/docker
if ! $SUDO cmp -s "$want" /etc/docker/daemon.json; then
  $SUDO install -m 644 "$want" /etc/docker/daemon.json
  if engine_up; then
    log "daemon.json changed: restarting the engine"
    restart_engine
  else
    start_engine
  fi
elif ! engine_up; then
  log "starting the engine"
  start_engine
fi

# --- 3. clock: Swarm joins fail (TLS "certificate not yet valid") when node clocks disagree ---
max_skew=${maxSkew}
if command -v chronyc >/dev/null 2>&1 && offset=$(chronyc -n tracking 2>/dev/null | awk '/^System time/ {print $4}') && [ -n "$offset" ]; then
  if awk -v o="$offset" -v m="$max_skew" 'BEGIN { exit !(o > m || o < -m) }'; then
    fail "clock is \${offset}s away from NTP time (chrony), more than \${max_skew}s: Swarm joins fail on clock skew; fix time sync first"
  fi
elif command -v timedatectl >/dev/null 2>&1 && has_systemd; then
  synced=no
  for _ in $(seq 1 30); do
    synced=$(timedatectl show -p NTPSynchronized --value 2>/dev/null || echo unknown)
    [ "$synced" = yes ] && break
    sleep 1
  done
  [ "$synced" = yes ] || log "WARNING: clock not NTP-synchronized (timedatectl: $synced); Swarm joins fail if node clocks differ by more than a few seconds"
fi

echo "docker $($SUDO docker version --format '{{.Server.Version}}') ready on $(hostname), insecure registries: ${registries.join(" ") || "none"}"
`,
  );
}

/** Makes this host the Swarm's first manager, or confirms it already is one. */
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
  log "already a swarm manager"
else
  if [ "$state" = pending ] || [ "$state" = error ]; then $SUDO docker swarm leave --force >/dev/null 2>&1 || true; fi
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
 */
export function swarmJoinScript(opts: { managerAddr: string; advertiseAddr: string }): string {
  const manager = checkAddress("managerAddr", opts.managerAddr);
  const addr = checkAddress("advertiseAddr", opts.advertiseAddr);
  const managerEndpoint = manager.includes(":") ? manager : `${manager}:2377`;
  return script(
    "swarm-join",
    `
IFS= read -r token || true
[[ "$token" =~ ^SWMTKN-1-[a-z0-9]+-[a-z0-9]+$ ]] || fail "no join token on standard input"
${SWARM_STATE}
state=$(swarm_state)
if [ "$state" = active ]; then
  managers=$($SUDO docker info --format '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}')
  case " $managers " in
    *" ${managerEndpoint} "*) log "already in the swarm of ${managerEndpoint}"; $SUDO docker info --format '{{.Swarm.NodeID}}'; exit 0 ;;
  esac
  fail "this node is in another swarm (managers: $managers); run 'docker swarm leave --force' on it first"
fi
if [ "$state" = pending ] || [ "$state" = error ]; then $SUDO docker swarm leave --force >/dev/null 2>&1 || true; fi
out=""
for attempt in 1 2 3 4 5 6; do
  if out=$($SUDO docker swarm join --advertise-addr ${shq(addr)} --token "$token" ${shq(managerEndpoint)} 2>&1); then
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
removes=()
for key in $($SUDO docker node inspect -f '{{range $k, $v := .Spec.Labels}}{{$k}} {{end}}' "$id"); do
  case "$key" in dockercoins.*) case " ${wanted} " in *" $key "*) ;; *) removes+=(--label-rm "$key") ;; esac ;; esac
done
$SUDO docker node update ${opts.role ? `--role ${opts.role} ` : ""}${adds} \${removes[@]+"\${removes[@]}"} "$id" >/dev/null
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
id=$(node_id_by_address)
[ -n "$id" ] || { log "node ${address} is not in the swarm; nothing to do"; exit 0; }
$SUDO docker node update --availability drain "$id" >/dev/null
for _ in $(seq 1 ${timeout}); do
  running=$($SUDO docker node ps "$id" --filter desired-state=running -q | wc -l)
  [ "$running" -eq 0 ] && break
  sleep 1
done
if [ "$($SUDO docker node inspect -f '{{.Spec.Role}}' "$id")" = manager ]; then
  $SUDO docker node demote "$id" >/dev/null
fi
$SUDO docker node rm --force "$id" >/dev/null
log "node ${address} ($id) drained and removed"
`,
  );
}

/** Destroy time, on the node itself: leave the Swarm if in one. */
export function leaveSwarmScript(): string {
  return script(
    "leave-swarm",
    `
${SWARM_STATE}
case "$(swarm_state)" in
  inactive) log "not in a swarm"; exit 0 ;;
  unknown) log "no Docker engine answering: nothing to leave"; exit 0 ;;
esac
$SUDO docker swarm leave --force >/dev/null
log "left the swarm"
`,
  );
}

/**
 * On a manager, after `pulumi up` changed services: waits until Swarm has finished rolling each one out
 * (UpdateStatus completed, or no update at all) and runs all its tasks, and fails if Swarm paused or rolled
 * back the update. The docker provider does not wait for this itself: during a start-first rolling update
 * every slot already has a running task, which it takes for "converged", and it cannot wait for a global
 * service at all.
 */
export function waitForRolloutScript(opts: { services: string[]; timeoutS?: number }): string {
  const names = opts.services.map((s) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(s)) throw new Error(`invalid service name ${JSON.stringify(s)}`);
    return s;
  });
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
