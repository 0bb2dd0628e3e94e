// Writes one benchmark's figures into BENCHMARKS.md (its own section, replaced on each run)
// with the command, the machine and the date, and prints them.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface Figure {
  readonly name: string;
  readonly value: string;
  readonly note?: string;
}

const FILE = path.resolve(__dirname, "..", "BENCHMARKS.md");

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown cpu";
  // The 1-minute load average when the figures were written: the machine is shared, and
  // other work on it shows in every timing.
  const load = os.loadavg()[0].toFixed(1);
  return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}; load average ${load} at the end`;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function report(
  title: string,
  command: string,
  figures: readonly Figure[],
  notes = "",
): void {
  const lines = [
    `## ${title}`,
    "",
    `- command: \`${command}\``,
    `- machine: ${machine()}`,
    `- date: ${new Date().toISOString()}`,
    "",
    "| figure | value | note |",
    "|---|---|---|",
    ...figures.map((f) => `| ${f.name} | ${f.value} | ${f.note ?? ""} |`),
    ...(notes ? ["", notes] : []),
    "",
  ];
  const section = lines.join("\n");
  console.log(section);

  const header =
    "# Benchmarks\n\nFigures written by the scripts under `bench/`; each run replaces its own section.\n\n";
  const current = fs.existsSync(FILE) ? fs.readFileSync(FILE, "utf8") : header;
  const start = current.indexOf(`## ${title}\n`);
  let next: string;
  if (start === -1) {
    next = current.trimEnd() + "\n\n" + section;
  } else {
    const end = current.indexOf("\n## ", start + 1);
    next = current.slice(0, start) + section + (end === -1 ? "" : current.slice(end + 1));
  }
  fs.writeFileSync(FILE, next.trimEnd() + "\n");
}
