import * as pulumi from "@pulumi/pulumi";
import type { DockerCoinsConfig } from "../config";

/** What the entry point knows beyond config: plain facts about this run, passed in, never looked up. */
export interface StackContext {
  /** Stack name, e.g. dev; used in resource prefixes and tags. */
  stack: string;
  /** The project root (where Pulumi.yaml is) as the providers resolve it: relative to the program's working directory. */
  projectDir: string;
  /** Absolute directory for files this stack keeps on this machine (the SSH key), outside git. */
  stateDir: string;
  /**
   * How a provider names a file of stateDir: relative to the folder it runs in, so the provider's config in
   * the state is the same on every machine (a CI runner, another clone) and destroy works from any of them.
   */
  providerPath: (absolutePath: string) => string;
  /** The user's home directory (minikube keeps its engine's certificates there). */
  homeDir: string;
}

/** The outputs every target exports (index.ts). */
export interface StackOutputs {
  webuiUrl: pulumi.Input<string>;
  managerAddress: pulumi.Input<string>;
  sshCommand: pulumi.Input<string>;
  nodes: pulumi.Input<pulumi.Input<string>[]>;
  replicas: pulumi.Input<Record<string, pulumi.Input<number | string>>>;
  /** `ssh user@manager` of the login made with loginUser/loginPassword (its password is the secret). */
  loginCommand?: pulumi.Input<string>;
  /** The log store's web UI, when logging is on. */
  logsUrl?: pulumi.Input<string>;
  /** Prometheus' UI and API, when it is installed (minikube). */
  prometheusUrl?: pulumi.Input<string>;
}

export type StackFn = (cfg: DockerCoinsConfig, ctx: StackContext) => StackOutputs;
