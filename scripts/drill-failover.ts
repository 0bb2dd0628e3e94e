// `npm run drill:failover -- --stack dev --yes`: a failure drill against a running ha-stack.
// DESTRUCTIVE: it SIGKILLs the primary, the standby, app containers, nginx and pgpool of the
// stack, one after another, while it writes through pgpool and reads through nginx, and prints
// what clients saw. Run it on the Docker host, as root. The logic lives in ops/drill/ (shared
// with the e2e test and bench/failover.ts).
import { runDrill, SCENARIOS, type Scenario } from "../ops/drill/drill";
import { summary } from "../ops/drill/report";
import { findTarget } from "../ops/drill/target";
import { WRITES_TABLE } from "../ops/drill/writer";

const USAGE = `usage: npm run drill:failover -- [--stack <name>] [--only <scenario,…>] --yes

Kills containers of the running stack <name> (default: dev) and reports what clients saw:
  primary  SIGKILL the primary PostgreSQL under writes through pgpool: promotion, write outage,
           lost acknowledged writes, the old primary's return as a standby
  standby  SIGKILL the standby under reads through nginx
  replica  SIGKILL a follower app container under reads through nginx
  leader   SIGKILL app-0, the migration leader
  nginx    SIGKILL nginx: the gap until it answers again
  pgpool   SIGKILL pgpool: the gap until writes go through again
Containers are found by their labels ha-stack.stack=<name> and ha-stack.node=<node>. The drill
writes rows into a table of its own (${WRITES_TABLE}, dropped at the end) through pgpool's
published pgpoolPort or, if none, its backend-network address. It needs the Docker host's /proc
(run it there, as root). --yes is required: this drill kills containers.`;

interface Args {
  stack: string;
  scenarios: Scenario[];
}

function parseArgs(argv: string[]): Args {
  let stack = "dev";
  let scenarios: Scenario[] = [...SCENARIOS];
  let yes = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--yes") yes = true;
    else if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else if (flag === "--stack" || flag === "--only") {
      const value = argv[++i];
      if (value === undefined || value.startsWith("--")) fail(`${flag} needs a value`);
      if (flag === "--stack") stack = value;
      else {
        const wanted = value.split(",").map((s) => s.trim());
        const unknown = wanted.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
        if (unknown.length > 0) {
          fail(`--only: unknown scenario ${unknown.join(", ")}; allowed: ${SCENARIOS.join(", ")}`);
        }
        scenarios = wanted as Scenario[];
      }
    } else fail(`unknown argument ${JSON.stringify(flag)}`);
  }
  if (!yes) fail("this drill kills containers of the stack; add --yes to run it");
  return { stack, scenarios };
}

function fail(message: string): never {
  console.error(`drill:failover: ${message}\n\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const target = await findTarget(args.stack);
  const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
  log(
    `drill on stack ${args.stack}: ${args.scenarios.join(", ")} (nginx ${target.url}, pgpool ${target.pgpool.host}:${target.pgpool.port})`,
  );
  const report = await runDrill(target, { scenarios: args.scenarios, log });
  console.log("\n== failover drill report ==");
  for (const line of summary(report)) console.log(line);
  if (report.problems.length > 0) {
    console.log("\nPROBLEMS:");
    for (const p of report.problems) console.log(`- ${p}`);
    process.exitCode = 1;
  } else {
    console.log(
      "\nno problems: one writable node throughout, the stack converged after every failure",
    );
  }
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(`drill:failover: ${error.message}`);
    process.exit(1);
  });
}
