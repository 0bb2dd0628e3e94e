// scripts/setup.sh on a machine it does not have to be: its package check, its refusal
// (not root, not Debian) and its dry run, with dpkg-query, id and docker answered by stand-ins
// on PATH. The real install path runs in every `npm test` and `.ci/run`.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const SCRIPT = path.join(__dirname, "../../scripts/setup.sh");
const TEST_PACKAGES = [
  "docker.io",
  "debootstrap",
  "postgresql",
  "pgpool2",
  "nginx-light",
  "chromium",
  "fonts-dejavu-core",
  "ca-certificates",
  "iproute2",
  "procps",
];

const bin = fs.mkdtempSync(path.join(os.tmpdir(), "ha-stack-setup-test-"));
afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

function stub(name: string, body: string): void {
  fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
}
// dpkg-query -W -f=… PKG…: "ii PKG " for every package not named in FAKE_MISSING.
stub(
  "dpkg-query",
  'shift 2; for p in "$@"; do [[ " $FAKE_MISSING " == *" $p "* ]] || printf "ii %s " "$p"; done',
);
stub("id", 'echo "$FAKE_UID"');
// No Docker engine answers.
stub("docker", "exit 1");

const debian = path.join(bin, "os-release-debian");
fs.writeFileSync(debian, "ID=debian\nVERSION_ID=13\n");
const ubuntu = path.join(bin, "os-release-ubuntu");
fs.writeFileSync(ubuntu, "ID=ubuntu\nID_LIKE=debian\n");
const fedora = path.join(bin, "os-release-fedora");
fs.writeFileSync(fedora, "ID=fedora\n");

function setup(args: string[], env: { missing?: string[]; uid?: number; osRelease?: string }) {
  const result = spawnSync("bash", [SCRIPT, ...args], {
    encoding: "utf8",
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: os.tmpdir(),
      FAKE_MISSING: (env.missing ?? []).join(" "),
      FAKE_UID: String(env.uid ?? 0),
      HA_STACK_OS_RELEASE: env.osRelease ?? debian,
      BASE_IMAGE: "ha-stack-base:setup-test",
    },
  });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe("scripts/setup.sh", () => {
  it("names exactly the packages it would install, in a dry run, and installs nothing", () => {
    const run = setup(["--dry-run", "test"], { missing: ["pgpool2", "chromium"] });
    expect(run.status).toBe(0);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toContain("setup: would install: pgpool2 chromium");
    expect(lines).toContain("setup: would start dockerd");
    expect(lines).toContain(
      "setup: would make the base image ha-stack-base:setup-test (debootstrap, about 2 minutes)",
    );
    expect(run.stderr).not.toMatch(/packages: installed/);
  });

  it("installs nothing and says so in one timed line when every package is there", () => {
    const run = setup(["--dry-run", "test"], {});
    expect(run.stderr).toMatch(
      new RegExp(
        `^setup: packages: all ${TEST_PACKAGES.length} present \\(\\d+\\.\\d\\d s\\)$`,
        "m",
      ),
    );
    expect(run.stderr).not.toMatch(/would install/);
  });

  it("asks `up` only for what up needs", () => {
    const run = setup(["--dry-run", "up"], { missing: [...TEST_PACKAGES] });
    expect(run.stderr).toMatch(/^setup: would install: docker.io debootstrap ca-certificates$/m);
    expect(run.stdout).toBe("baseImage=ha-stack-base:setup-test\n");
  });

  it("on Ubuntu as on Debian", () => {
    const run = setup(["--dry-run", "test"], { missing: ["postgresql"], osRelease: ubuntu });
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/^setup: would install: postgresql$/m);
  });

  it("stops with one message listing what to install when not root", () => {
    const run = setup(["test"], { missing: ["postgresql", "chromium"], uid: 1000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^setup: missing Debian packages: postgresql chromium$/m);
    expect(run.stderr).toMatch(/only as root on Debian or Ubuntu \(here: uid 1000, os "debian"\)/);
    expect(run.stderr).not.toMatch(/Docker engine|base image/);
  });

  it("stops with the same message off Debian and Ubuntu", () => {
    const run = setup(["test"], { missing: ["docker.io"], osRelease: fedora });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^setup: missing Debian packages: docker.io$/m);
    expect(run.stderr).toMatch(/\(here: uid 0, os "fedora"\)/);
  });

  it("goes on as any user when nothing is missing", () => {
    const run = setup(["--dry-run", "test"], { uid: 1000, osRelease: fedora });
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/packages: all \d+ present/);
  });

  it("rejects an unknown purpose, naming what is allowed", () => {
    const run = setup(["deploy"], {});
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe('setup: purpose is "deploy"; allowed: test, up');
  });
});
