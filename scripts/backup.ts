// `npm run backup`: a base backup of a running stack now, or the list of its backups and the
// archive's recoverable window. Runs pg-backup in the stack's backup container (docker exec).
//
//   npm run backup -- --stack NAME [--type full|diff|incr]
//   npm run backup -- --stack NAME --list
import { parseArgs } from "node:util";
import { mib, repositoryInfo, takeBackup, type BackupRecord } from "../ops/backup";

const TYPES = ["full", "diff", "incr"] as const;

function usage(problem: string): never {
  console.error(`${problem}
usage: npm run backup -- --stack NAME [--type full|diff|incr]
       npm run backup -- --stack NAME --list`);
  process.exit(2);
}

async function main(): Promise<void> {
  let flags;
  try {
    flags = parseArgs({
      options: {
        stack: { type: "string", default: process.env.STACK ?? "dev" },
        list: { type: "boolean", default: false },
        type: { type: "string", default: "full" },
      },
    }).values;
  } catch (error) {
    usage((error as Error).message);
  }
  const type = flags.type as BackupRecord["type"];
  if (!TYPES.includes(type)) usage(`--type is "${flags.type}"; allowed: ${TYPES.join(", ")}`);
  const stack = flags.stack!;

  if (flags.list) {
    const info = await repositoryInfo(stack);
    console.log(`repository of ${stack}: ${info.status}`);
    console.log(
      "label                              type  stopped at             size       in repository",
    );
    for (const b of info.backups) {
      console.log(
        `${b.label.padEnd(34)} ${b.type.padEnd(5)} ${b.stop.padEnd(22)} ${mib(b.size).padEnd(10)} ${mib(b.repoSize)}`,
      );
    }
    if (info.backups.length === 0) console.log("(no backup yet)");
    console.log(`archive: ${info.archive.min ?? "-"} … ${info.archive.max ?? "-"}`);
    console.log(
      `recoverable: from ${info.window.earliest ?? "-"} to ${info.window.latest ?? "-"} (restoreTo takes a time in between, or latest)`,
    );
    return;
  }
  const started = Date.now();
  const backup = await takeBackup(stack, type);
  console.log(`backup ${backup.label} (${backup.type}) of ${stack}`);
  console.log(`  size ${mib(backup.size)}, ${mib(backup.repoSize)} in the repository`);
  console.log(
    `  ${backup.start} to ${backup.stop}: ${backup.seconds} s (${((Date.now() - started) / 1000).toFixed(1)} s with the stanza check)`,
  );
}

main().catch((error: unknown) => {
  console.error(`backup: ${(error as Error).message}`);
  process.exit(1);
});
