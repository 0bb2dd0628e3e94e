import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { TOKEN } from "./common";
import { contextHash } from "./context-hash";

/** The four images of the stack, one build context each. */
export const IMAGE_KINDS = ["postgres", "pgpool", "app", "nginx"] as const;
export type ImageKind = (typeof IMAGE_KINDS)[number];

export interface ImagesArgs {
  /** Prefix of every image name, e.g. `ha-stack-dev`. */
  readonly prefix: string;
  /** Image every Dockerfile builds FROM (build arg BASE_IMAGE). @default "debian:trixie-slim" */
  readonly baseImage: string;
  /** Directory holding the build contexts `postgres/`, `pgpool/`, `app/`, `nginx/`. @default the program's directory */
  readonly rootDir?: string;
  /** `host[:port]` of a registry to push to (a swarm's nodes pull from it); unset = local only. */
  readonly registry?: string;
  /** The engine that builds (and pushes) the images; unset = the default docker provider. */
  readonly builder?: docker.Provider;
}

/**
 * Builds the stack's images (and pushes them to `registry` when one is given). Each image is tagged with a digest of its
 * build context and base image, so a container's `image` input changes exactly when what it
 * runs changes: no replace on every deploy, and a real change always rolls out.
 */
export class Images extends pulumi.ComponentResource {
  /** `name:tag` of each image, as containers reference it. */
  public readonly names: Record<ImageKind, pulumi.Output<string>>;

  constructor(name: string, args: ImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN}:images:Images`, name, {}, opts);
    const rootDir = args.rootDir ?? path.resolve(__dirname, "..");

    const names = {} as Record<ImageKind, pulumi.Output<string>>;
    for (const kind of IMAGE_KINDS) {
      names[kind] = localImage(`${name}-${kind}`, { ...args, rootDir, kind }, this);
    }
    this.names = names;
    this.registerOutputs({ names });
  }
}

/**
 * How the engine that builds the images reaches `registry` to push and to read back a pushed
 * image's digest. A registry on a loopback address is plain HTTP without a login (Docker always
 * treats loopback as insecure); any other one uses the credentials `docker login` saved
 * (~/.docker/config.json), over HTTPS.
 */
export function registryAuth(registry: string): docker.types.input.ProviderRegistryAuth {
  const host = registry.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || /^127\./.test(host) || host === "::1";
  return loopback ? { address: `http://${registry}`, authDisabled: true } : { address: registry };
}

/**
 * One image built from the build context `<rootDir>/<kind>` (a `docker.RemoteImage` with `build`),
 * tagged with a digest of that context and the base image, named `[<registry>/]<prefix>-<kind>:<tag>`,
 * and pushed (a `docker.RegistryImage`) when a registry is given; children of `parent`. Returns
 * the reference containers (`name:tag`) and services (`name:tag@sha256:…`) run.
 */
export function localImage(
  logicalName: string,
  args: {
    prefix: string;
    baseImage: string;
    rootDir: string;
    kind: string;
    registry?: string;
    builder?: docker.Provider;
  },
  parent: pulumi.Resource,
): pulumi.Output<string> {
  const context = path.join(args.rootDir, args.kind);
  const tag = contextHash(context, [args.baseImage]);
  const opts = { parent, provider: args.builder };
  const image = new docker.RemoteImage(
    logicalName,
    {
      // The content tag names exactly one build: the image is rebuilt, and the containers that
      // run it replaced, when (and only when) its context or base image changed.
      name: `${args.registry ? `${args.registry}/` : ""}${args.prefix}-${args.kind}:${tag}`,
      build: {
        // Relative to the program's directory, which is the plugin's working directory: the
        // same checkout elsewhere previews no change.
        context: path.relative(args.rootDir, context) || ".",
        buildArgs: { BASE_IMAGE: args.baseImage },
      },
      // Old tags stay as build cache for the next change (and for other stacks); `docker image
      // prune` removes them.
      keepLocally: true,
    },
    opts,
  );
  if (args.registry === undefined) return image.name;
  const pushed = new docker.RegistryImage(
    `${logicalName}-push`,
    {
      name: image.name,
      // Pushed again whenever the local build behind the tag is another image.
      triggers: { imageId: image.imageId },
      // A node may still pull it for a task of the previous deployment.
      keepRemotely: true,
    },
    opts,
  );
  // By digest too: Swarm pins a service's image to the digest it resolved, and the docker
  // provider reads it back so; naming it here keeps the next preview clean.
  return pulumi.interpolate`${pushed.name}@${pushed.sha256Digest}`;
}
