// The plugins scripts/pulumi-toolchain.sh builds must serve what the npm SDKs declare: an SDK
// bump that outruns the plugin fails here, not in a deployment. The SDKs' surface is read from
// their own files: each resource's token and input names from its JavaScript (what the SDK sends),
// each nested input type's properties from types/input.d.ts; the plugins' from the schema their
// tfgen wrote (docker, random) or the plugin itself reports (command).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "./harness";

const ROOT = path.resolve(__dirname, "../..");

interface Schema {
  resources: Record<string, { inputProperties?: Record<string, unknown> }>;
  functions?: Record<string, { inputs?: { properties?: Record<string, unknown> } }>;
  types?: Record<string, { properties?: Record<string, unknown> }>;
  config?: { variables?: Record<string, unknown> };
}

/** The toolchain directory, which must have been built (`npm run toolchain`). */
function toolchainDir(): string {
  const dir = execFileSync("bash", [path.join(ROOT, "scripts/pulumi-toolchain.sh"), "--print"], {
    encoding: "utf8",
  }).trim();
  if (!fs.existsSync(path.join(dir, "bin/pulumi"))) {
    throw new Error(`no toolchain in ${dir}: run \`npm run toolchain\` first`);
  }
  return dir;
}

function readSchema(dir: string, name: "docker" | "random" | "command"): Schema {
  const file = path.join(dir, `schema-${name}.json`);
  if (name === "command" && !fs.existsSync(file)) {
    // The command plugin reports its schema itself (GetSchema).
    const plugin = fs
      .readdirSync(path.join(dir, "plugins"))
      .find((d) => d.startsWith("resource-command-v"));
    const schema = execFileSync(
      path.join(dir, "bin/pulumi"),
      ["package", "get-schema", path.join(dir, "plugins", plugin!, "pulumi-resource-command")],
      {
        encoding: "utf8",
        env: { ...process.env, PULUMI_HOME: dir, PULUMI_SKIP_UPDATE_CHECK: "true" },
      },
    );
    fs.writeFileSync(file, schema);
  }
  return JSON.parse(fs.readFileSync(file, "utf8")) as Schema;
}

interface SdkSurface {
  /** Resource token → input names the SDK sends (the provider resource as `pulumi:providers:<pkg>`). */
  resources: Map<string, Set<string>>;
  /** Function token → argument names. */
  functions: Map<string, Set<string>>;
  /** Nested input type name (as in types/input.d.ts, `Args` dropped) → property names. */
  types: Map<string, Set<string>>;
}

/** What an npm SDK package declares, read from its files. */
function sdkSurface(pkg: string): SdkSurface {
  const dir = path.dirname(require.resolve(`${pkg}/package.json`, { paths: [ROOT] }));
  const surface: SdkSurface = { resources: new Map(), functions: new Map(), types: new Map() };
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".js"));
  for (const sub of ["local"]) {
    if (fs.existsSync(path.join(dir, sub))) {
      files.push(...fs.readdirSync(path.join(dir, sub)).map((f) => `${sub}/${f}`));
    }
  }
  for (const file of files.filter((f) => f.endsWith(".js"))) {
    const source = fs.readFileSync(path.join(dir, file), "utf8");
    const token = /__pulumiType = '([^']+)'/.exec(source)?.[1];
    if (token !== undefined) {
      const inputs = [...source.matchAll(/resourceInputs\["(\w+)"\] = args\?\./g)].map((m) => m[1]);
      const key = token === pkg.split("/")[1] ? `pulumi:providers:${token}` : token;
      surface.resources.set(key, new Set(inputs));
    }
    for (const m of source.matchAll(/\.invoke(?:Output)?\("([^"]+)", \{([^}]*)\}/g)) {
      surface.functions.set(m[1], new Set([...m[2].matchAll(/"(\w+)":/g)].map((a) => a[1])));
    }
  }
  const inputTypes = path.join(dir, "types", "input.d.ts");
  if (fs.existsSync(inputTypes)) {
    const source = ts.createSourceFile(
      inputTypes,
      fs.readFileSync(inputTypes, "utf8"),
      ts.ScriptTarget.Latest,
    );
    const visit = (node: ts.Node): void => {
      if (ts.isInterfaceDeclaration(node)) {
        surface.types.set(
          node.name.text.replace(/Args$/, ""),
          new Set(node.members.map((m) => (m.name as ts.Identifier).text)),
        );
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return surface;
}

/** Every SDK resource, input, function argument and nested input the schema lacks. */
function missing(sdk: SdkSurface, schema: Schema, skip: readonly string[]): string[] {
  const gaps: string[] = [];
  for (const [token, inputs] of sdk.resources) {
    if (skip.includes(token)) continue;
    const declared = token.startsWith("pulumi:providers:")
      ? (schema.config?.variables ?? {})
      : schema.resources[token]?.inputProperties;
    if (declared === undefined) {
      gaps.push(`resource ${token}`);
      continue;
    }
    for (const input of inputs) if (!(input in declared)) gaps.push(`${token} input ${input}`);
  }
  for (const [token, args] of sdk.functions) {
    const declared = schema.functions?.[token];
    if (declared === undefined) {
      gaps.push(`function ${token}`);
      continue;
    }
    for (const arg of args) {
      if (!(arg in (declared.inputs?.properties ?? {}))) gaps.push(`${token} argument ${arg}`);
    }
  }
  // Schema type tokens end in the type's name; function types start lower-case there.
  const types = new Map(
    Object.entries(schema.types ?? {}).map(([token, t]) => [
      token.split(":").pop()!.toLowerCase(),
      t.properties ?? {},
    ]),
  );
  for (const [name, properties] of sdk.types) {
    if (skip.includes(name)) continue;
    const declared = types.get(name.toLowerCase());
    if (declared === undefined) {
      gaps.push(`type ${name}`);
      continue;
    }
    for (const p of properties) if (!(p in declared)) gaps.push(`type ${name} property ${p}`);
  }
  return gaps;
}

let dir: string;
beforeAll(() => {
  dir = toolchainDir();
});

describe("the bridged plugins serve the npm SDKs' resources", () => {
  it("docker: every resource, input, function and nested input of @pulumi/docker but its native Image", () => {
    const gaps = missing(sdkSurface("@pulumi/docker"), readSchema(dir, "docker"), [
      // pulumi-docker's Image is native Go code, not the Terraform provider; the program builds
      // with RemoteImage instead. These are its types.
      "docker:index/image:Image",
      "DockerBuild",
      "CacheFrom",
      "Registry",
    ]);
    expect(gaps).toEqual([]);
  });

  it("random: every resource and input of @pulumi/random", () => {
    expect(missing(sdkSurface("@pulumi/random"), readSchema(dir, "random"), [])).toEqual([]);
  });

  it("sees a gap when the SDK declares more than the plugin (the check can fail)", () => {
    const schema = readSchema(dir, "docker");
    delete schema.resources["docker:index/container:Container"].inputProperties!.healthcheck;
    delete schema.resources["docker:index/network:Network"];
    expect(
      missing(sdkSurface("@pulumi/docker"), schema, [
        "docker:index/image:Image",
        "DockerBuild",
        "CacheFrom",
        "Registry",
      ]),
    ).toEqual([
      "docker:index/container:Container input healthcheck",
      "resource docker:index/network:Network",
    ]);
  });
});

describe("every resource and input the program declares is in its plugin's schema", () => {
  it.each([
    ["one host", {}],
    [
      "a swarm",
      {
        orchestrator: "swarm",
        registry: "127.0.0.1:5055",
        databaseNodes: "node-1,node-2",
        edgeNodes: "node-1",
      },
    ],
  ])("%s", async (_, config) => {
    const run = await runProgram(config as Record<string, string>);
    const schemas = {
      docker: readSchema(dir, "docker"),
      random: readSchema(dir, "random"),
      command: readSchema(dir, "command"),
    };
    const gaps: string[] = [];
    for (const r of run.registrations.filter((r) => r.custom)) {
      const pkg = r.type.startsWith("pulumi:providers:")
        ? r.type.split(":")[2]
        : r.type.split(":")[0];
      const schema = schemas[pkg as keyof typeof schemas];
      const declared = r.type.startsWith("pulumi:providers:")
        ? schema?.config?.variables
        : schema?.resources[r.type]?.inputProperties;
      if (declared === undefined) {
        gaps.push(`resource ${r.type}`);
        continue;
      }
      for (const input of Object.keys(r.inputs)) {
        if (!(input in declared)) gaps.push(`${r.type} input ${input}`);
      }
    }
    expect(gaps).toEqual([]);
  });
});
