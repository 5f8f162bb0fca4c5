import { ENGINE_FUNCTIONS, checkAddress, script } from "./scripts";
import { guardSection, type GuardOptions } from "./firewall";

// The Docker engine on every host, in two steps (rendered like scripts.ts, idempotent like them):
// - bootstrapDockerScript, on every host at once: install Docker, write daemon.json and start the engine on
//   a host that is not in a Swarm yet (a fresh or re-created machine);
// - engineConfigScript, one host after the other: a live Swarm node whose daemon.json must change (a new
//   registry mirror, a registry moved) restarts its engine and is back in the Swarm before the next node's
//   turn. Swarm mode has no live-restore: restarting every engine at once would stop every manager and task.

/** Default tolerance for clock skew: Swarm's mTLS certificates are rejected when clocks disagree. */
export const MAX_CLOCK_SKEW_S = 5;

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

export interface EngineConfigOptions {
  /** Registries the engine may use over plain HTTP, e.g. ["10.0.0.11:5000"] for the Swarm's own registry. */
  insecureRegistries: string[];
  /** Docker Hub mirrors (daemon.json `registry-mirrors`), e.g. ["http://10.0.0.5:5000"]; an http one is also insecure. */
  registryMirrors?: string[];
}

export interface BootstrapDockerOptions extends EngineConfigOptions {
  /** Fail when the clock is further than this from NTP time. */
  maxClockSkewS?: number;
  /** Machines nothing else guards (`vms`): their published and Swarm ports answer these sources only. */
  guard?: GuardOptions;
}

/** daemon.json for these options, and the registries it trusts over plain HTTP. */
export function daemonJson(opts: EngineConfigOptions): { json: string; registries: string[] } {
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
  const json = JSON.stringify(
    { "insecure-registries": registries, ...(mirrors.length ? { "registry-mirrors": mirrors.map((m) => m.url) } : {}) },
    null,
    2,
  );
  return { json, registries };
}

/** Writes the wanted daemon.json to "$want" (a temporary file removed on exit). */
function wantedDaemonJson(json: string): string {
  return `want=$(mktemp)
trap 'rm -f "$want"' EXIT
cat >"$want" <<'DAEMON_JSON'
${json}
DAEMON_JSON
$SUDO mkdir -p /etc/docker`;
}

/**
 * Installs Docker if missing (Debian/Ubuntu, RHEL family, Amazon Linux), writes /etc/docker/daemon.json and
 * (re)starts the engine when the host is not in a Swarm yet, starts a stopped engine, and checks the clock.
 * A live Swarm node's changed daemon.json is left to engineConfigScript, which restarts one node at a time.
 */
export function bootstrapDockerScript(opts: BootstrapDockerOptions): string {
  const { json, registries } = daemonJson(opts);
  const maxSkew = opts.maxClockSkewS ?? MAX_CLOCK_SKEW_S;
  if (!(maxSkew > 0)) throw new Error(`maxClockSkewS must be > 0, got ${maxSkew}`);
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
# The Swarm join talks to the engine's API with curl (the join token in a request body, in no command line).
# Cloud images and the RHEL family have it; a minimal Debian may not.
if ! command -v curl >/dev/null 2>&1; then
  . /etc/os-release
  [ "$(docker_install_method)" = apt ] || fail "curl is missing: install it (the Swarm join needs it) and re-run"
  log "installing curl with apt"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq curl >/dev/null
fi
${ENGINE_FUNCTIONS}

# --- 2. daemon.json, on a host not in a Swarm yet (a live node's is changed by the rolling step) ---
${wantedDaemonJson(json)}
if ! $SUDO cmp -s "$want" /etc/docker/daemon.json; then
  if engine_up && in_swarm; then
    log "daemon.json to change: left to the rolling engine update (one node at a time)"
  else
    $SUDO install -m 644 "$want" /etc/docker/daemon.json
    if engine_up; then
      log "daemon.json changed: restarting the engine"
      restart_engine
    else
      start_engine
    fi
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
${opts.guard ? `\n${guardSection(opts.guard)}\n` : ""}
echo "docker $($SUDO docker version --format '{{.Server.Version}}') ready on $(hostname), insecure registries: ${registries.join(" ") || "none"}"
`,
  );
}

/**
 * One node's turn in a rolling engine update (SwarmCluster runs these one host after the other): when its
 * daemon.json must change, write it, restart the engine, and return only once the node is back in its Swarm
 * (and, for a manager, the Swarm answers it again), so at most one node is ever away. Otherwise nothing.
 */
export function engineConfigScript(opts: EngineConfigOptions & { backTimeoutS?: number }): string {
  const { json } = daemonJson(opts);
  const timeout = opts.backTimeoutS ?? 180;
  return script(
    "engine-config",
    `
${ENGINE_FUNCTIONS}
${wantedDaemonJson(json)}
if $SUDO cmp -s "$want" /etc/docker/daemon.json; then
  echo "engine configuration current on $(hostname)"
  exit 0
fi
was_in_swarm=no
engine_up && in_swarm && was_in_swarm=yes
manager=$($SUDO docker info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null || echo false)
$SUDO install -m 644 "$want" /etc/docker/daemon.json
t0=$SECONDS
if engine_up; then restart_engine; else start_engine; fi
if [ "$was_in_swarm" = yes ]; then
  for _ in $(seq 1 ${timeout}); do
    if in_swarm && { [ "$manager" != true ] || $SUDO docker node ls -q >/dev/null 2>&1; }; then break; fi
    sleep 1
  done
  in_swarm || fail "$(hostname) not back in its Swarm ${timeout}s after its engine restarted"
fi
echo "engine on $(hostname) restarted with the new daemon.json$([ "$was_in_swarm" = yes ] && echo ", back in its Swarm") after $((SECONDS - t0))s"
`,
  );
}
