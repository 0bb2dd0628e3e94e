// scripts/base-image.sh's choice of Debian mirror: the host's own apt sources, else
// debootstrap's default; the project names no mirror host. `--mirror` prints the choice.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const SCRIPT = path.join(__dirname, "../../scripts/base-image.sh");
const root = fs.mkdtempSync(path.join(os.tmpdir(), "ha-stack-base-image-test-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let n = 0;
/** The mirror the script picks given these files in a fresh sources.list.d and sources.list. */
function mirror(files: { dir?: Record<string, string>; list?: string; env?: object }): string {
  const dir = path.join(root, `case-${n++}`);
  fs.mkdirSync(dir);
  for (const [name, text] of Object.entries(files.dir ?? {})) {
    fs.writeFileSync(path.join(dir, name), text);
  }
  const list = path.join(dir, "sources.list.file");
  if (files.list !== undefined) fs.writeFileSync(list, files.list);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...files.env };
  env.APT_SOURCES_DIR = dir;
  env.APT_SOURCES_LIST = list;
  const run = spawnSync("bash", [SCRIPT, "--mirror"], { env, encoding: "utf8" });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.trim();
}

describe("scripts/base-image.sh mirror", () => {
  it("takes the first non-security URIs of a deb822 .sources file", () => {
    const sources = [
      "Types: deb",
      "URIs: http://security.example/debian-security",
      "Suites: trixie-security",
      "",
      "Types: deb",
      "URIs: http://mirror.example/debian http://other.example/debian",
      "Suites: trixie trixie-updates",
      "Components: main",
    ].join("\n");
    expect(mirror({ dir: { "debian.sources": sources } })).toBe("http://mirror.example/debian");
  });

  it("reads sources.list deb lines, options in brackets skipped", () => {
    const list = [
      "# deb http://commented.example/debian trixie main",
      "deb-src http://src.example/debian trixie main",
      "deb [arch=amd64 signed-by=/k.gpg] https://mirror.example/debian trixie main",
    ].join("\n");
    expect(mirror({ list })).toBe("https://mirror.example/debian");
  });

  it("prefers the .sources files to sources.list", () => {
    expect(
      mirror({
        dir: { "a.sources": "Types: deb\nURIs: http://new.example/debian\n" },
        list: "deb http://old.example/debian trixie main\n",
      }),
    ).toBe("http://new.example/debian");
  });

  it("leaves it to debootstrap when the host has no apt sources", () => {
    expect(mirror({})).toBe("");
  });

  it("takes MIRROR over the host's sources", () => {
    const list = "deb http://host.example/debian trixie main\n";
    expect(mirror({ list, env: { MIRROR: "http://set.example/debian" } })).toBe(
      "http://set.example/debian",
    );
  });

  it("names no mirror host itself", () => {
    expect(fs.readFileSync(SCRIPT, "utf8")).not.toMatch(/(https?|ftp):\/\/[a-z0-9]/i);
  });
});
