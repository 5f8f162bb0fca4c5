// Entry point (Pulumi.yaml `main`): read the stack's config once, build the chosen target, export what a
// user needs. Everything below takes plain values; nothing else reads config.
import * as pulumi from "@pulumi/pulumi";
import * as os from "os";
import * as path from "path";
import { readConfig } from "./config";
import { refusePublicPassphrase } from "./passphrase";
import { STACKS } from "./stacks";

// Pulumi runs this program, and starts its providers, in the folder of `main` (infra/), not where
// Pulumi.yaml is. Paths the providers read (build contexts) are given relative to that working directory
// ("../app"): they resolve there and stay the same on every machine, so a checkout elsewhere shows no diff.
const projectRoot = path.resolve(__dirname, "..");
const projectDir = path.relative(process.cwd(), projectRoot) || ".";

const cfg = readConfig();
const stack = pulumi.getStack();
refusePublicPassphrase(cfg.target, stack, path.join(projectRoot, `Pulumi.${stack}.yaml`));
const out = STACKS[cfg.target](cfg, {
  stack,
  projectDir,
  // Per-stack files on this machine (the SSH key the Docker provider's ssh transport needs), git-ignored.
  stateDir: path.join(projectRoot, ".pulumi-state", "dockercoins", stack),
  providerPath: (file) => path.relative(process.cwd(), file),
  homeDir: os.homedir(),
});

export const target = cfg.target;
export const webuiUrl = out.webuiUrl;
export const managerAddress = out.managerAddress;
export const sshCommand = out.sshCommand;
export const nodes = out.nodes;
export const replicas = out.replicas;
// Only a stack with the log store has its address: an export left undefined warns on every up and preview.
if (out.logsUrl !== undefined) exports.logsUrl = out.logsUrl;
if (out.prometheusUrl !== undefined) exports.prometheusUrl = out.prometheusUrl;
if (out.loginCommand !== undefined) exports.loginCommand = out.loginCommand;
