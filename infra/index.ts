// Entry point (Pulumi.yaml `main`): read the stack's config once, build the chosen target, export what a
// user needs. Everything below takes plain values; nothing else reads config.
import * as pulumi from "@pulumi/pulumi";
import * as os from "os";
import * as path from "path";
import { readConfig } from "./config";
import { STACKS } from "./stacks";

const cfg = readConfig();
const stack = pulumi.getStack();
const out = STACKS[cfg.target](cfg, {
  stack,
  // Per-stack files on this machine (the SSH key the Docker provider's ssh transport needs), git-ignored.
  stateDir: path.resolve(".pulumi-state", "dockercoins", stack),
  homeDir: os.homedir(),
});

export const target = cfg.target;
export const webuiUrl = out.webuiUrl;
export const managerAddress = out.managerAddress;
export const sshCommand = out.sshCommand;
export const nodes = out.nodes;
export const replicas = out.replicas;
