import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { countByType, ofType, reset, resolve, settle, setupMocks } from "./harness";

let images: typeof import("../images");
beforeAll(async () => {
  await setupMocks();
  images = await import("../images");
});
beforeEach(async () => {
  await settle();
  reset();
});

describe("pullRef", () => {
  it.each([
    ["127.0.0.1:15000/dockercoins/rng@sha256:abc", "10.213.0.11:5000", "10.213.0.11:5000/dockercoins/rng@sha256:abc"],
    ["127.0.0.1:5000/dockercoins/webui@sha256:def", "172.31.0.11:5000", "172.31.0.11:5000/dockercoins/webui@sha256:def"],
  ])("%s pulled via %s", (digest, registry, ref) => expect(images.pullRef(digest, registry)).toBe(ref));

  it("refuses an image without a digest", () => {
    expect(() => images.pullRef("127.0.0.1:5000/dockercoins/rng:latest", "r:5000")).toThrow("image 127.0.0.1:5000/dockercoins/rng:latest has no digest: was it pushed?");
  });
});

describe("Images", () => {
  it("builds each service from the one app/Dockerfile (SERVICE, NODE_IMAGE), pushes, and exposes digest-pinned pull refs", async () => {
    const c = new images.Images("images", {
      names: images.DOCKERCOINS_SERVICES,
      context: "../app",
      nodeImage: "node:24-alpine",
      registry: { push: "127.0.0.1:15000", pull: "10.213.0.11:5000" },
    });
    await settle();
    expect(countByType()).toEqual({ "dockercoins:images:Images": 1, "docker:index/image:Image": 4 });
    expect(ofType("docker:index/image:Image").map((i) => i.inputs).sort((a, b) => a.imageName.localeCompare(b.imageName))).toEqual(
      ["hasher", "rng", "webui", "worker"].map((svc) => ({
        imageName: `127.0.0.1:15000/dockercoins/${svc}:latest`,
        // The platform said, as the provider would default it (linux/<this machine's arch>): no note on every up.
        build: { context: "../app", dockerfile: "../app/Dockerfile", args: { NODE_IMAGE: "node:24-alpine", SERVICE: svc }, platform: images.buildPlatform() },
        skipPush: false,
        buildOnPreview: false,
      })),
    );
    for (const svc of images.DOCKERCOINS_SERVICES) {
      expect(await resolve(c.refs[svc])).toMatch(new RegExp(`^10\\.213\\.0\\.11:5000/dockercoins/${svc}@sha256:[0-9a-f]{64}$`));
    }
  });

  it("builds httplat to listen on 9080 (the seed's exporter port), the others on the Dockerfile's 80", () => {
    expect(images.serviceBuildArgs("httplat", "node:24")).toEqual({ NODE_IMAGE: "node:24", SERVICE: "httplat", PORT: "9080" });
    expect(images.serviceBuildArgs("rng", "node:24")).toEqual({ NODE_IMAGE: "node:24", SERVICE: "rng" });
  });

  it("names the build platform as Go does (the provider's own default), for every Node architecture", () => {
    expect(images.buildPlatform("x64")).toBe("linux/amd64");
    expect(images.buildPlatform("arm64")).toBe("linux/arm64");
    expect(images.buildPlatform("ia32")).toBe("linux/386");
    expect(images.buildPlatform("ppc64")).toBe("linux/ppc64le");
    expect(images.buildPlatform()).toBe(process.arch === "x64" ? "linux/amd64" : images.buildPlatform(process.arch));
  });
});
