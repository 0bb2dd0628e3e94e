// The page in a real browser (Debian's chromium through playwright-core), served through nginx:
// what it shows, that it refreshes itself without a reload, and that two browsers connected to
// different replicas chat both ways — under round_robin and under ip_hash.
import * as fs from "node:fs";
import { randomUUID } from "node:crypto";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressOn } from "../../ops/docker";
import { get } from "../../ops/http";
import { waitFor } from "../../ops/poll";
import { upStack, type Stack } from "../../ops/stack";
import {
  ARTIFACTS,
  chatLine,
  definition,
  launchBrowser,
  openPage,
  requestRows,
  screenshot,
  sendChat,
  type OpenPage,
} from "./support/browser";
import { clientNetworks, getFrom, removeClientNetworks, type Client } from "./support/clients";
import { stackPerFile } from "./support/stack-per-file";

const STACK = "browser";
const CONFIG = { replicas: "3", httpPort: "18120", collectorIntervalSeconds: "2" };
/** How many browser contexts (or client networks) to try before giving up on two replicas. */
const MAX_TRIES = 8;

let stack: Stack;
let browser: Browser;
const open: OpenPage[] = [];

beforeAll(() => {
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
});

stackPerFile(
  STACK,
  { ...CONFIG, lbAlgorithm: "round_robin" },
  {
    onUp: async (s) => {
      stack = s;
      browser = await launchBrowser();
    },
    beforeDown: async () => {
      await browser?.close();
      await removeClientNetworks(STACK);
    },
  },
);

async function openTracked(url: string): Promise<OpenPage> {
  const page = await openPage(browser, url);
  open.push(page);
  return page;
}

async function closeAll(): Promise<void> {
  for (const p of open.splice(0)) {
    expect(p.problems, "console errors, failed requests or exceptions").toEqual([]);
    await p.context.close();
  }
}

/** Two pages whose chat sockets are on different replicas, from `urls()` tried in turn. */
async function twoReplicas(urls: () => string): Promise<[OpenPage, OpenPage]> {
  const first = await openTracked(urls());
  for (let i = 1; i < MAX_TRIES; i++) {
    const other = await openTracked(urls());
    if (other.chatReplica !== first.chatReplica) return [first, other];
    await other.context.close();
    open.pop();
  }
  throw new Error(`${MAX_TRIES} browser contexts all chatted on replica ${first.chatReplica}`);
}

/** A sends to B, B answers A; each line names the sender and the replica it sent through. */
async function chatBothWays(a: OpenPage, b: OpenPage): Promise<void> {
  const id = randomUUID().slice(0, 8);
  const line = (name: string, replica: number, text: string) =>
    new RegExp(`^${name} \\(replica ${replica}, \\d\\d:\\d\\d:\\d\\d\\) ${text}$`);
  await sendChat(a.page, "Ann", `Hello from replica ${a.chatReplica} (${id})`);
  expect(await chatLine(b.page, `(${id})`)).toMatch(
    line("Ann", a.chatReplica, `Hello from replica ${a.chatReplica} \\(${id}\\)`),
  );
  await sendChat(b.page, "Bob", `Hi Ann, replica ${b.chatReplica} here (${id})`);
  expect(await chatLine(a.page, `here (${id})`)).toMatch(
    line("Bob", b.chatReplica, `Hi Ann, replica ${b.chatReplica} here \\(${id}\\)`),
  );
  // Each sender sees its own message too: the adapter broadcasts to every replica.
  expect(await chatLine(a.page, `Hello from replica ${a.chatReplica} (${id})`)).toMatch(/^Ann /);
  expect(await chatLine(b.page, `here (${id})`)).toMatch(/^Bob /);
}

describe("under round_robin", () => {
  afterAll(closeAll);

  it("shows the serving replica, the database node and its role, the request log and the metrics", async () => {
    const p = await openTracked(stack.url);
    const { page } = p;
    expect(await page.title()).toBe(`ha-stack · replica ${p.pageReplica}`);
    expect(await page.locator(".served").innerText()).toBe(
      `Page served by replica ${p.pageReplica} (app-${p.pageReplica})`,
    );
    expect(await page.locator("html").getAttribute("lang")).toBe("en");

    // Reads go to the standby through pgpool: the page names pg-1 (the initial standby).
    const standby = await addressOn(stack.container("pg-1"), "backend");
    expect(await definition(page, "#facts", "Database node")).toBe(`${standby}:5432`);
    expect(await definition(page, "#facts", "Database role")).toBe("standby");
    expect(await definition(page, "#facts", "Container")).toMatch(/^app-[012]$/);

    // The request log: rows of time, method, path, replica, container, newest first.
    await page.locator("#requests tr td.path", { hasText: /^\/$/ }).first().waitFor();
    const rows = await requestRows(page);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThanOrEqual(25);
    for (const row of rows) {
      expect(row).toHaveLength(5);
      const [time, method, , replica, container] = row;
      expect(time).toMatch(/^\d\d:\d\d:\d\d\.\d{3}$/);
      expect(method).toMatch(/^[A-Z]+$/);
      expect(container).toBe(`app-${replica}`);
    }
    const headers = [];
    for (const th of await page.locator("thead th").all()) {
      headers.push(`${await th.innerText()}:${await th.getAttribute("scope")}`);
    }
    expect(headers).toEqual([
      "Time (UTC):col",
      "Method:col",
      "Path:col",
      "Replica:col",
      "Container:col",
    ]);

    // The collector samples every 2 s: the latest sample is seconds old.
    expect(await definition(page, "#metrics", "Host")).toBe("collector");
    const collected = await definition(page, "#metrics", "Collected at");
    expect(ageSeconds(collected)).toBeLessThan(10);
    expect(await definition(page, "#metrics", "Memory free")).toMatch(
      /^\d+\.\d GiB of \d+\.\d GiB$/,
    );
    await screenshot(page, "round-robin-fresh");
  });

  it("refreshes itself without a reload: new metrics and requests sent by another client", async () => {
    const { page } = await openTracked(stack.url);
    let navigations = 0;
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
    const before = await definition(page, "#metrics", "Collected at");
    const probe = `/api/users/1?from=another-client-${randomUUID().slice(0, 8)}`;
    expect((await get(`${stack.url}${probe.slice(1)}`)).status).toBe(200);

    await page.locator("#requests td.path", { hasText: probe }).waitFor({ timeout: 15_000 });
    const after = await waitFor(
      "the metrics to refresh",
      async () => {
        const now = await definition(page, "#metrics", "Collected at");
        return now === before ? undefined : now;
      },
      15_000,
    );
    expect(ageSeconds(after)).toBeLessThan(ageSeconds(before));
    expect(await page.locator("#refresh-status").innerText()).toMatch(
      /^Updated \d\d:\d\d:\d\d UTC from replica [012]\.$/,
    );
    expect(navigations).toBe(0);
  });

  it("stops refreshing while paused, and says so", async () => {
    const { page } = await openTracked(stack.url);
    const toggle = page.getByRole("button", { name: "Pause updates" });
    await toggle.click();
    await expectAttr(page.getByRole("button", { name: "Resume updates" }), "aria-pressed", "true");
    expect(await page.locator("#refresh-status").innerText()).toBe("Updates paused.");
    const frozen = await definition(page, "#metrics", "Collected at");
    await page.waitForTimeout(6_000); // longer than one refresh period, two collector samples
    expect(await definition(page, "#metrics", "Collected at")).toBe(frozen);
    await page.getByRole("button", { name: "Resume updates" }).click();
    await waitFor(
      "the metrics to refresh after resuming",
      async () =>
        (await definition(page, "#metrics", "Collected at")) === frozen ? undefined : true,
      10_000,
    );
  });

  it("carries chat both ways between two browsers on different replicas", async () => {
    const [a, b] = await twoReplicas(() => stack.url);
    expect(a.chatReplica).not.toBe(b.chatReplica);
    await chatBothWays(a, b);
    await screenshot(a.page, "round-robin-chat");
  });
});

describe("under ip_hash, with clients from distinct subnets", () => {
  let clients: Client[];
  const replicaOf = new Map<Client, string>();

  beforeAll(async () => {
    await closeAll();
    stack = await upStack(STACK, { ...CONFIG, lbAlgorithm: "ip_hash" });
    expect(stack.result.outputs.lbAlgorithm).toBe("ip_hash");
    clients = await clientNetworks(STACK, stack.container("nginx"), 6);
    for (const client of clients) {
      const seen = new Set<string>();
      for (let i = 0; i < 3; i++) seen.add(JSON.parse(await getFrom(client, "/api/info")).hostname);
      expect([...seen], `${client.address} is pinned to one replica`).toHaveLength(1);
      replicaOf.set(client, [...seen][0]!);
    }
  });

  afterAll(closeAll);

  it("pins each browser to one replica: page, refreshes and chat", async () => {
    const client = clients[0]!;
    const p = await openTracked(`http://${client.target}:8080/`);
    const expected = replicaOf.get(client)!;
    expect(`app-${p.pageReplica}`).toBe(expected);
    expect(`app-${p.chatReplica}`).toBe(expected);
    await p.page.locator("#refresh-status", { hasText: /^Updated/ }).waitFor({ timeout: 10_000 });
    expect(await p.page.locator("#refresh-status").innerText()).toContain(
      `from replica ${p.pageReplica}.`,
    );
  });

  it("carries chat both ways between two clients on different replicas", async () => {
    const byReplica = new Map<string, Client>();
    for (const client of clients) byReplica.set(replicaOf.get(client)!, client);
    const [first, second] = [...byReplica.values()];
    if (second === undefined) {
      throw new Error(`all ${clients.length} client networks hash to ${[...byReplica.keys()]}`);
    }
    const a = await openTracked(`http://${first!.target}:8080/`);
    const b = await openTracked(`http://${second.target}:8080/`);
    expect(a.chatReplica).not.toBe(b.chatReplica);
    await chatBothWays(a, b);
    await screenshot(b.page, "ip-hash-chat");
  });
});

/** Seconds between now and an "hh:mm:ss UTC" time of today (the test host's clock). */
function ageSeconds(shown: string): number {
  const match = /^(\d\d):(\d\d):(\d\d) UTC$/.exec(shown);
  if (!match) throw new Error(`not an hh:mm:ss UTC time: "${shown}"`);
  const now = new Date();
  const at = Date.UTC(
    now.getUTCFullYear(),
    now.getUTCMonth(),
    now.getUTCDate(),
    Number(match[1]),
    Number(match[2]),
    Number(match[3]),
  );
  let age = (now.getTime() - at) / 1000;
  if (age < -3600) age += 86_400; // shown just before midnight UTC, read just after
  return age;
}

async function expectAttr(
  locator: import("playwright-core").Locator,
  name: string,
  value: string,
): Promise<void> {
  await locator.waitFor({ timeout: 5_000 });
  expect(await locator.getAttribute(name)).toBe(value);
}
