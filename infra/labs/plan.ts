// A class: one stack of this program per student, `<prefix>-01` ... `<prefix>-NN`, each with its own config
// derived from one settings file. Pure functions: what each student's stack is, before anything runs.
import { ConfigError, KNOWN_KEYS, type ConfigKey } from "../config";

export const LAB_TARGETS = ["local", "vms", "aws"] as const;
export type LabTarget = (typeof LAB_TARGETS)[number];

/** One machine of a vms pool, as `dockercoins:vmHosts` takes it. */
export interface PoolMachine {
  address: string;
  user: string;
  port?: number;
  privateAddress?: string;
}

export interface LabSettings {
  target: LabTarget;
  students: number;
  /** Swarm nodes per student. */
  nodes: number;
  prefix: string;
  /** Config every student's stack gets (the settings file), dockercoins keys without the namespace. */
  config: Partial<Record<ConfigKey, string>>;
  /** vms: the machines, split into one group of `nodes` per student. */
  pool?: PoolMachine[];
}

export interface Student {
  /** 1-based. */
  index: number;
  stack: string;
  config: Partial<Record<ConfigKey, string>>;
}

/** Keys `labs` sets per student: a settings file naming one is refused. */
export const LAB_KEYS: readonly ConfigKey[] = [
  "target", "nodeCount", "vmHosts", "webuiPort", "logsPort", "localSshBasePort", "localRegistryPort", "localSubnet",
  "sshPrivateKey", "sshPublicKey", "loginPassword",
];

export const MAX_STUDENTS = 99;

export function studentStack(prefix: string, index: number): string {
  return `${prefix}-${String(index).padStart(2, "0")}`;
}

/** The students a prefix names among existing stacks (for status, cards and destroy), in order. */
export function studentsAmong(prefix: string, stackNames: string[]): { index: number; stack: string }[] {
  const re = new RegExp(`^${prefix.replace(/[.-]/g, "\\$&")}-(\\d{2})$`);
  return stackNames
    .map((stack) => ({ stack, m: re.exec(stack) }))
    .filter((s) => s.m !== null)
    .map((s) => ({ index: Number(s.m![1]), stack: s.stack }))
    .sort((a, b) => a.index - b.index);
}

/**
 * The local target's per-student addresses, side by side on one machine: student i gets 10.214.i.0/24, webui
 * on 8100+i, its nodes' SSH on 23000+10i.., its registry on 15100+i (the dev playground keeps 10.213.0.0/24,
 * 8000, 22001.., 15000).
 */
export function localAddresses(index: number): Partial<Record<ConfigKey, string>> {
  return {
    localSubnet: `10.214.${index}.0/24`,
    webuiPort: String(8100 + index),
    localSshBasePort: String(23000 + 10 * index),
    localRegistryPort: String(15100 + index),
    logsPort: String(9500 + index),
  };
}

/**
 * A student's password (vms, aws): four groups of four letters and digits, read off a card without doubt
 * (no 0/o, 1/l), 80 bits from the given random bytes.
 */
export function studentPassword(random: Uint8Array): string {
  const letters = "abcdefghijkmnpqrstuvwxyz23456789"; // 32: five bits a byte, no bias
  if (random.length < 16) throw new Error("studentPassword needs 16 random bytes");
  const chars = Array.from(random.slice(0, 16), (b) => letters[b % 32]);
  return [0, 4, 8, 12].map((i) => chars.slice(i, i + 4).join("")).join("-");
}

/** Every student's stack and config. Throws a ConfigError-like message for what cannot make a class. */
export function planStudents(s: LabSettings): Student[] {
  if (s.target === "vms") {
    const needed = s.students * s.nodes;
    const have = s.pool?.length ?? 0;
    if (have < needed) {
      throw new Error(`--pool has ${have} machines; ${s.students} students x ${s.nodes} nodes need ${needed}`);
    }
  }
  return Array.from({ length: s.students }, (_, i) => {
    const index = i + 1;
    const config: Partial<Record<ConfigKey, string>> = {
      // The playground's defaults where the settings say nothing: dnsrr works without IPVS in the kernel.
      ...(s.target === "local" ? { endpointMode: "dnsrr", localPreloadImages: "registry:2,redis:7-bookworm" } : {}),
      ...s.config,
      target: s.target,
      nodeCount: String(s.nodes),
    };
    if (s.target === "local") Object.assign(config, localAddresses(index));
    if (s.target === "vms") config.vmHosts = JSON.stringify(s.pool!.slice(i * s.nodes, index * s.nodes));
    return { index, stack: studentStack(s.prefix, index), config };
  });
}

/** A settings file: `key=value` or `key: value` lines of dockercoins config, `#` comments. */
export function parseSettingsFile(text: string, file: string): Partial<Record<ConfigKey, string>> {
  const config: Partial<Record<ConfigKey, string>> = {};
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = /^(?:dockercoins:)?([A-Za-z]+)\s*[=:]\s*(.*)$/.exec(line);
    if (!m) throw new Error(`${file}:${i + 1}: expected key=value, got ${JSON.stringify(line)}`);
    const key = m[1] as ConfigKey;
    if (!KNOWN_KEYS.includes(key)) throw new ConfigError(key, m[2], `one of the program's keys (${file}:${i + 1}; see infra/README.md)`);
    if (LAB_KEYS.includes(key)) throw new ConfigError(key, m[2], `not set in a settings file (${file}:${i + 1}): labs sets it per student (--target, --nodes, --pool, --key)`);
    config[key] = m[2].replace(/^"(.*)"$/, "$1");
  });
  return config;
}

/**
 * A vms pool: the JSON list `dockercoins:vmHosts` takes, or one machine a line, `user@address[:port]
 * [privateAddress]`, `#` comments.
 */
export function parsePool(text: string, file: string): PoolMachine[] {
  if (text.trim().startsWith("[")) return JSON.parse(text) as PoolMachine[];
  const pool: PoolMachine[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const m = /^([^@\s]+)@([^:\s]+)(?::(\d+))?(?:\s+(\S+))?$/.exec(line);
    if (!m) throw new Error(`${file}:${i + 1}: expected user@address[:port] [privateAddress], got ${JSON.stringify(line)}`);
    pool.push({ user: m[1], address: m[2], ...(m[3] ? { port: Number(m[3]) } : {}), ...(m[4] ? { privateAddress: m[4] } : {}) });
  });
  return pool;
}
