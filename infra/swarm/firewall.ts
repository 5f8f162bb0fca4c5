// The host firewall of a Swarm on machines the user brings (`vms`): on AWS the security group does this job
// before a packet reaches the machine; on a user's own VMs nothing does. Ports published in host mode (the
// registry, the log store) go through Docker's NAT rules, which ufw never sees: anyone who reaches node1 could
// push images the services then pull, read every log line, or fill its disk. Swarm's own ports (control
// plane, gossip, VXLAN) are the host's and open to the same anyone.

/** Swarm's own ports: the control plane, the nodes' gossip, the overlay's VXLAN. */
export const SWARM_PORTS = [
  { proto: "tcp", port: 2377 },
  { proto: "tcp", port: 7946 },
  { proto: "udp", port: 7946 },
  { proto: "udp", port: 4789 },
] as const;

export const GUARD_CHAIN = "DOCKERCOINS-GUARD";

export interface GuardOptions {
  /** Who may reach the guarded ports: the nodes' private addresses, and the admin's CIDR if any. */
  allow: string[];
  /** TCP ports published in host mode that only `allow` may reach (the registry's, the log store's). */
  publishedPorts: number[];
}

const SOURCE = /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/;

/**
 * A section of the engine's bootstrap (it needs the engine's DOCKER-USER chain): one chain of our own,
 * rewritten whole on every run, that lets `allow` (and the machine itself) through and refuses the rest; the
 * guarded ports jump to it from DOCKER-USER (connections to a published port: Docker's NAT rewrote their
 * destination, so they are matched on the port they were sent to; a container's own connection out to some
 * :5000 is not one) and from INPUT (Swarm's). Idempotent: a re-run rewrites the chain and finds its jumps in place.
 */
export function guardSection(opts: GuardOptions): string {
  for (const source of opts.allow) {
    if (!SOURCE.test(source)) throw new Error(`guard: allowed sources must be IPv4 addresses or CIDRs, got ${JSON.stringify(source)}`);
  }
  for (const port of opts.publishedPorts) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`guard: bad port ${port}`);
  }
  const allow = ["127.0.0.0/8", ...opts.allow];
  const hooks = [
    ...opts.publishedPorts.map((port) => `hook DOCKER-USER -p tcp -m conntrack --ctstate DNAT --ctorigdstport ${port} --ctdir ORIGINAL`),
    ...SWARM_PORTS.map(({ proto, port }) => `hook INPUT -p ${proto} --dport ${port}`),
  ];
  const guarded = [...opts.publishedPorts.map((p) => `${p}/tcp`), ...SWARM_PORTS.map(({ proto, port }) => `${port}/${proto}`)];
  return `# --- 4. firewall: the registry, the log store and Swarm's ports answer the nodes (and the admin) only ---
# As root: a sudo user's PATH has no /usr/sbin, where Debian puts iptables.
$SUDO sh -c 'command -v iptables' >/dev/null 2>&1 || fail "iptables is missing: install it (Docker's packages bring it) and re-run"
$SUDO iptables -w -n -L DOCKER-USER >/dev/null 2>&1 || fail "the engine made no DOCKER-USER chain (iptables off in daemon.json?): its published ports cannot be guarded"
$SUDO iptables -w -N ${GUARD_CHAIN} 2>/dev/null || $SUDO iptables -w -F ${GUARD_CHAIN}
for source in ${allow.join(" ")}; do $SUDO iptables -w -A ${GUARD_CHAIN} -s "$source" -j RETURN; done
# Refused, not dropped: a machine just taken out of the list (its engine still shipping its last lines to the
# log store while it leaves the Swarm) fails at once instead of hanging on every connection.
$SUDO iptables -w -A ${GUARD_CHAIN} -p tcp -j REJECT --reject-with tcp-reset
$SUDO iptables -w -A ${GUARD_CHAIN} -j REJECT
hook() { $SUDO iptables -w -C "$@" -j ${GUARD_CHAIN} 2>/dev/null || $SUDO iptables -w -I "$@" -j ${GUARD_CHAIN}; }
${hooks.join("\n")}
log "ports ${guarded.join(" ")}: from ${opts.allow.join(" ")} and this machine only"`;
}
