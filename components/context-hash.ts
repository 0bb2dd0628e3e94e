import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import dockerignore from "@balena/dockerignore";

/**
 * A short digest of a Docker build context: every file Docker would send (honouring the
 * context's `.dockerignore`, with the same matcher dockerode uses), its path and its bytes,
 * plus any extra strings (build args). Equal contexts give equal digests, so an image tagged
 * with it changes name exactly when its content changes, and containers using it are replaced
 * then and only then.
 */
export function contextHash(contextDir: string, extra: readonly string[] = []): string {
  const ignoreFile = path.join(contextDir, ".dockerignore");
  const ignore = dockerignore().add(
    fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, "utf8").split(/\r?\n/) : [],
  );
  const hash = createHash("sha256");
  for (const value of extra) hash.update(`extra\0${value}\0`);

  const walk = (relativeDir: string): void => {
    const entries = fs
      .readdirSync(path.join(contextDir, relativeDir), { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const relative = relativeDir === "" ? entry.name : `${relativeDir}/${entry.name}`;
      if (ignore.ignores(relative)) continue;
      if (entry.isDirectory()) {
        walk(relative);
      } else if (entry.isFile()) {
        const full = path.join(contextDir, relative);
        const mode = fs.statSync(full).mode & 0o111 ? "x" : "-";
        hash.update(`file\0${relative}\0${mode}\0`);
        hash.update(fs.readFileSync(full));
      }
    }
  };
  walk("");
  return hash.digest("hex").slice(0, 16);
}
