// Stack configuration the way the Pulumi CLI assembles it: project defaults from Pulumi.yaml's
// `config:` block, then Pulumi.<stack>.yaml, then --config overrides. Secure (encrypted) stack
// values cannot be decrypted here and are skipped with a note.
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";

export interface ProjectConfig {
  readonly project: string;
  /** The program's entry file, absolute. */
  readonly main: string;
  /** Fully qualified key (`project:key`) → string value, as the SDK receives config. */
  readonly config: Record<string, string>;
  /** Keys found in the stack file as `secure:` values and left out. */
  readonly skippedSecure: string[];
}

function asConfigString(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function qualify(project: string, key: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

export function readProjectConfig(
  programDir: string,
  stack: string,
  overrides: Record<string, string> = {},
): ProjectConfig {
  const projectFile = path.join(programDir, "Pulumi.yaml");
  if (!fs.existsSync(projectFile)) throw new Error(`no Pulumi.yaml in ${programDir}`);
  const project = yaml.load(fs.readFileSync(projectFile, "utf8")) as {
    name?: string;
    main?: string;
    config?: Record<string, unknown>;
  };
  if (typeof project.name !== "string") throw new Error(`${projectFile}: name is required`);
  const name = project.name;

  const config: Record<string, string> = {};
  for (const [key, spec] of Object.entries(project.config ?? {})) {
    // `key: value` shorthand, or `{ type, default | value, description }`.
    const isSpec = typeof spec === "object" && spec !== null && !Array.isArray(spec);
    const value = isSpec ? ((spec as Props).value ?? (spec as Props).default) : spec;
    if (value !== undefined) config[qualify(name, key)] = asConfigString(value);
  }

  const skippedSecure: string[] = [];
  const stackFile = path.join(programDir, `Pulumi.${stack}.yaml`);
  if (fs.existsSync(stackFile)) {
    const stackConfig =
      (yaml.load(fs.readFileSync(stackFile, "utf8")) as { config?: Props } | undefined)?.config ??
      {};
    for (const [key, value] of Object.entries(stackConfig)) {
      if (typeof value === "object" && value !== null && "secure" in value) {
        skippedSecure.push(qualify(name, key));
        continue;
      }
      config[qualify(name, key)] = asConfigString(value);
    }
  }
  for (const [key, value] of Object.entries(overrides)) config[qualify(name, key)] = value;

  const main = path.resolve(programDir, project.main ?? "index.ts");
  return {
    project: name,
    main:
      fs.existsSync(main) && fs.statSync(main).isDirectory() ? path.join(main, "index.ts") : main,
    config,
    skippedSecure,
  };
}

type Props = Record<string, unknown>;
