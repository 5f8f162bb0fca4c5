import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { normalizeContextModes } from "./context-modes";

export const DOCKERCOINS_SERVICES = ["rng", "hasher", "worker", "webui"] as const;
export type ImageName = (typeof DOCKERCOINS_SERVICES)[number] | "httplat";

/** httplat, the latency exporter, listens on the seed's port; the other services on the Dockerfile's 80. */
export const HTTPLAT_PORT = 9080;

/** The build arguments of app/Dockerfile for one service: SERVICE names it, PORT is where it listens, NODE_IMAGE the Node base. */
export function serviceBuildArgs(svc: ImageName, nodeImage: string): Record<string, string> {
  return { NODE_IMAGE: nodeImage, SERVICE: svc, ...(svc === "httplat" ? { PORT: String(HTTPLAT_PORT) } : {}) };
}

/**
 * The platform the docker provider builds for when none is given (linux/<its own GOARCH>: this machine's), said
 * explicitly so it does not print a note on every preview and up. The same value it would write itself, so a
 * stack made before keeps its images.
 */
export function buildPlatform(arch: string = process.arch): string {
  const goarch: Record<string, string> = { x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64", loong64: "loong64" };
  return `linux/${goarch[arch] ?? arch}`;
}

/**
 * The reference services pull: the pushed digest, re-homed on the registry address the nodes use.
 * Pushes go through 127.0.0.1 (a published port or an SSH-tunnelled engine) while nodes pull from the
 * manager's private address, so only the registry host differs; the digest is the same bits.
 */
export function pullRef(repoDigest: string, pullRegistry: string): string {
  const at = repoDigest.indexOf("@sha256:");
  if (at < 0) throw new Error(`image ${repoDigest} has no digest: was it pushed?`);
  const repo = repoDigest.slice(0, at);
  const path = repo.slice(repo.indexOf("/") + 1);
  return `${pullRegistry}/${path}${repoDigest.slice(at)}`;
}

export interface ImagesArgs {
  /** Which services to build, each from app/Dockerfile (build arg SERVICE). */
  names: readonly ImageName[];
  /** Build context: the app/ directory (the Dockerfile copies shared code from it), as the provider resolves it. */
  context: string;
  /** Base image of every service (build arg NODE_IMAGE). */
  nodeImage: string;
  /**
   * Where to push and where the nodes pull from, e.g. 127.0.0.1:15000 and 10.213.0.11:5000. Absent: build
   * only, into an engine the cluster uses directly (minikube's).
   */
  registry?: {
    push: string;
    pull: pulumi.Input<string>;
    /**
     * What changes when the registry is a new, empty one (its service's id): a change replaces the images,
     * so they are built (from cache) and pushed again.
     */
    identity?: pulumi.Input<string>;
  };
}

/** The DockerCoins service images, built from app/ and pushed to the cluster's registry. */
export class Images extends pulumi.ComponentResource {
  /** `<pull registry>/dockercoins/<name>@sha256:...` per image, or the image ID when nothing is pushed. */
  public readonly refs: Record<string, pulumi.Output<string>>;
  public readonly images: Record<string, docker.Image>;

  constructor(name: string, args: ImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:images:Images", name, {}, opts);
    this.images = {};
    this.refs = {};
    const registry = args.registry;
    normalizeContextModes(args.context); // one digest whatever the checkout's umask
    for (const svc of args.names) {
      const image = new docker.Image(
        `${name}-${svc}`,
        {
          imageName: registry ? `${registry.push}/dockercoins/${svc}:latest` : `dockercoins/${svc}:latest`,
          build: {
            context: args.context,
            // Relative to the working directory like the context (the provider joins nothing to it).
            dockerfile: path.join(args.context, "Dockerfile"),
            args: serviceBuildArgs(svc, args.nodeImage),
            platform: buildPlatform(),
          },
          skipPush: registry === undefined,
        },
        // A component's dependsOn does not reach its children by itself (e.g. wait for the registry).
        { parent: this, dependsOn: opts?.dependsOn, ...(registry?.identity ? { replacementTrigger: registry.identity } : {}) },
      );
      this.images[svc] = image;
      this.refs[svc] = registry
        ? pulumi.all([image.repoDigest, registry.pull]).apply(([d, r]) => pullRef(d, r))
        : image.repoDigest;
    }
    this.registerOutputs({ refs: this.refs });
  }
}
