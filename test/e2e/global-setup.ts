// Before any e2e file: a Docker engine that answers and the local base image (both idempotent
// and quick when already there). BASE_IMAGE overrides the image name for every e2e test.
import { execFileSync } from "node:child_process";
import * as path from "node:path";

export default function setup(): void {
  const root = path.resolve(__dirname, "../..");
  execFileSync("bash", [path.join(root, "scripts/docker-up.sh")], { stdio: "inherit" });
  const image = execFileSync("bash", [path.join(root, "scripts/base-image.sh"), baseImage()], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  process.env.BASE_IMAGE = image;
}

function baseImage(): string {
  return process.env.BASE_IMAGE ?? "ha-stack-base:trixie";
}
