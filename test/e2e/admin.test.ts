// Operating the stack like the originals (#13), on a stack of its own: a person logs in to Adminer
// in a real browser (on listenAddress:adminPort, as the app role), lists the users table and adds
// a user there, and the app serves that user through nginx; writes under load (the admin token)
// lose nothing acknowledged while an app replica is killed; the status board shows a replica go
// unhealthy and come back, and a failover of the primary.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { docker, psql, publishedPorts, stackContainers } from "../../ops/docker";
import { crash, waitRestartedHealthy } from "../../ops/drill/crash";
import { currentPrimary } from "../../ops/drill/database";
import { findTarget } from "../../ops/drill/target";
import { createUser as createUserVia, get, LoadLoop } from "../../ops/http";
import { waitFor } from "../../ops/poll";
import { PROGRAM_DIR, type Stack } from "../../ops/stack";
import { launchBrowser, screenshot } from "./support/browser";
import { stackPerFile } from "./support/stack-per-file";

const STACK = "admin";
const CONFIG = {
  replicas: "3",
  httpPort: "18150",
  adminPort: "18151",
  collectorIntervalSeconds: "0",
};
let stack: Stack;
let browser: Browser;
let context: BrowserContext;

stackPerFile(STACK, CONFIG, {
  onUp: async (s) => {
    stack = s;
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  },
  beforeDown: async () => {
    await browser?.close();
  },
});

const output = (name: string) => String(stack.result.outputs[name]);

/** The Docker name of an app replica (`app-2`), found by its labels. */
async function appContainer(node: string): Promise<string> {
  const found = (await stackContainers(STACK)).find((c) => c.node === node);
  if (found === undefined) throw new Error(`stack ${STACK} has no container ${node}`);
  return found.name;
}

/** POST /api/users through nginx with the admin token; the new user's id, or throws the status. */
const postUser = (name: string, token = output("adminToken")): Promise<number> =>
  createUserVia(stack.url, token, name);

/** `postUser`, with false for an answer other than 201. */
const createUser = (name: string, token?: string): Promise<number | false> =>
  postUser(name, token).catch(() => false as const);

describe("outputs", () => {
  it("exports Adminer's URL and the admin token (secret, 40 characters)", () => {
    expect(stack.result.outputs.adminUrl).toBe("http://127.0.0.1:18151/");
    expect(stack.result.secretOutputs.sort()).toEqual(["adminToken", "appPassword"]);
    expect(output("adminToken")).toMatch(/^[A-Za-z0-9]{40}$/);
  });

  it("publishes nginx and Adminer on 127.0.0.1, nothing else", async () => {
    expect(await publishedPorts(STACK)).toEqual([
      "adminer 8080/tcp 127.0.0.1:18151",
      "nginx 8080/tcp 127.0.0.1:18150",
    ]);
  });
});

describe("the app's write API", () => {
  it("refuses a write without the token, or with a wrong one, and takes one with it", async () => {
    const name = `token-check-${randomUUID().slice(0, 8)}`;
    const anonymous = await fetch(`${stack.url}api/users`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
    expect(anonymous.status).toBe(401);
    expect(await createUser(name, "x".repeat(40))).toBe(false);
    const id = await createUser(name);
    expect(id).toEqual(expect.any(Number));
    expect((await get(`${stack.url}api/users/${id}`)).json()).toMatchObject({ id, name });
  });
});

describe("Adminer in a real browser", () => {
  let page: Page;
  const name = `Adminer ${randomUUID().slice(0, 8)}`;
  const key = `adminer-${randomUUID().replaceAll("-", "")}`;
  let createdId: number;

  it("asks only for a username and a password, and logs the app role in through pgpool", async () => {
    page = await context.newPage();
    const response = await page.goto(output("adminUrl"), { timeout: 15_000 });
    expect(response?.status()).toBe(200);
    const fields = await page
      .locator("form input[name^='auth[']")
      .evaluateAll((inputs) => inputs.map((i) => i.getAttribute("name")));
    expect(fields).toEqual(["auth[username]", "auth[password]", "auth[permanent]"]);
    await page.locator("input[name='auth[username]']").fill("app");
    await page.locator("input[name='auth[password]']").fill(output("appPassword"));
    await page.getByRole("button", { name: "Login" }).click();
    await page.locator("#logins, #tables").first().waitFor({ timeout: 15_000 });
    // Logged in to database app on pgpool:9999 (Adminer names both in its breadcrumb).
    expect(page.url()).toContain("pgsql=pgpool%3A9999");
    expect(page.url()).toContain("username=app");
    expect(page.url()).toContain("db=app");
  });

  it("refuses a wrong password", async () => {
    const other = await context.browser()!.newContext();
    try {
      const wrong = await other.newPage();
      await wrong.goto(output("adminUrl"));
      await wrong.locator("input[name='auth[username]']").fill("app");
      await wrong.locator("input[name='auth[password]']").fill("not-the-password");
      await wrong.getByRole("button", { name: "Login" }).click();
      await wrong.locator(".error").first().waitFor({ timeout: 15_000 });
      // pgpool answers for PostgreSQL: "authentication failed … password does not exist".
      expect(await wrong.locator(".error").first().innerText()).toMatch(/authentication failed/);
    } finally {
      await other.close();
    }
  });

  it("connects only to pgpool, whatever server or system a posted login names", async () => {
    const other = await context.browser()!.newContext();
    try {
      await (await other.newPage()).goto(output("adminUrl"));
      const posted = await other.request.post(output("adminUrl"), {
        form: {
          "auth[driver]": "server",
          "auth[server]": "pg-0:5432",
          "auth[username]": "app",
          "auth[password]": output("appPassword"),
          "auth[db]": "postgres",
        },
        maxRedirects: 0,
      });
      expect(posted.status()).toBe(302);
      const location = new URL(posted.headers()["location"], output("adminUrl"));
      expect(Object.fromEntries(location.searchParams)).toEqual({
        pgsql: "pgpool:9999",
        username: "app",
        db: "postgres",
      });
    } finally {
      await other.close();
    }
  });

  it("lists the users table with the seeded users", async () => {
    await page.locator("#tables a[href*='select=users']").first().click();
    // Adminer streams its page (no output buffering): wait for the last seeded row, not the table.
    await page.locator("table.checkable", { hasText: "Ken" }).waitFor({ timeout: 15_000 });
    const text = await page.locator("table.checkable").innerText();
    for (const seeded of ["Ada", "Grace", "Linus", "Ken"]) expect(text).toContain(seeded);
  });

  it("adds a user, which the app then serves through nginx", async () => {
    await page.getByRole("link", { name: "New item" }).click();
    await page.locator("input[name='fields[name]'], textarea[name='fields[name]']").fill(name);
    await page.locator("input[name='fields[key]'], textarea[name='fields[key]']").fill(key);
    await page.locator("input[type=submit][value='Save']").click();
    const message = await page.locator(".message").first().innerText({ timeout: 15_000 });
    expect(message).toMatch(/Item \d+ has been inserted/);
    createdId = Number(/Item (\d+)/.exec(message)![1]);

    const served = await get(`${stack.url}api/users/${createdId}`);
    expect(served.status).toBe(200);
    expect(served.json()).toMatchObject({ id: createdId, name, key });
  });

  it("shows the new user in the table (the screenshot in the README)", async () => {
    await page.locator("#tables a[href*='select=users']").first().click();
    await page.locator("table.checkable", { hasText: name }).waitFor({ timeout: 15_000 });
    const file = await screenshot(page, "adminer-users");
    if (process.env.UPDATE_SCREENSHOTS === "1") {
      fs.copyFileSync(file, path.join(PROGRAM_DIR, "docs", "adminer.png"));
    }
  });
});

describe("the page's users form, in a real browser", () => {
  it("adds a user with the admin token and looks it up; refuses a wrong token", async () => {
    const page = await context.newPage();
    await page.goto(stack.url, { timeout: 15_000 });
    const result = page.locator("#user-add-result");

    await page.fill("#admin-token", "not-the-token-at-all");
    await page.fill("#new-user-name", "page-refused");
    await page.click("#user-add-form button[type=submit]");
    await expect.poll(() => result.innerText(), { timeout: 10_000 }).toMatch(/^Not added: /);

    const name = `page-${randomUUID().slice(0, 8)}`;
    await page.fill("#admin-token", output("adminToken"));
    await page.fill("#new-user-name", name);
    await page.click("#user-add-form button[type=submit]");
    await expect
      .poll(() => result.innerText(), { timeout: 10_000 })
      .toMatch(new RegExp(`^Added user \\d+ \\(${name}\\), key key-[0-9a-f]{32}\\.$`));
    const [, id, key] = /^Added user (\d+) \(.*\), key (\S+)\.$/.exec(await result.innerText())!;

    await page.fill("#user_id", id);
    await Promise.all([page.waitForURL(/user_id=/), page.click("form[action='/'] button")]);
    expect(await page.locator("#user-key").innerText()).toBe(key);
    await page.close();
  });
});

describe("writes under load while an app replica is killed", () => {
  it("loses no acknowledged write: every 201'd id reads back", async () => {
    const runId = randomUUID().slice(0, 8);
    let n = 0;
    // 20 writes a second for 15 s (at most 300); app-1 is killed 3 s in and restarted by Docker.
    const started = Date.now();
    const load = new LoadLoop(() => postUser(`load-${runId}-${n++}`), {
      ratePerSecond: 20,
      maxRequests: 300,
      maxSeconds: 15,
    });
    await sleep(3_000);
    const crashed = await crash(await appContainer("app-1"));
    const healthyAgain = await waitRestartedHealthy(crashed, 60_000);
    expect(healthyAgain).toBeDefined();
    await sleep(Math.max(0, started + 15_000 - Date.now()));
    const report = await load.stop();

    const acknowledged = report.successes.map((s) => s.value as number);
    const missing: number[] = [];
    for (const id of acknowledged) {
      const read = await get(`${stack.url}api/users/${id}`);
      if (read.status !== 200) missing.push(id);
    }
    const [[stored]] = await psql(
      await primaryContainer(),
      `SELECT count(*) FROM users WHERE name LIKE 'load-${runId}-%'`,
    );
    console.log(
      `[writes under load] app-1 killed at ${crashed.at - started} ms, healthy again at ` +
        `${healthyAgain! - started} ms; sent ${report.sent}, acknowledged ${acknowledged.length}, ` +
        `failed ${report.failed}, lost ${missing.length}, stored ${stored}` +
        (report.failures.length > 0 ? `; failures: ${report.failures.slice(0, 5).join("; ")}` : ""),
    );
    expect(report.sent).toBeGreaterThanOrEqual(200);
    expect(missing).toEqual([]);
    expect(new Set(acknowledged).size).toBe(acknowledged.length);
    // Nothing acknowledged is missing; a write whose reply was lost may still be stored.
    expect(Number(stored)).toBeGreaterThanOrEqual(acknowledged.length);
    expect(Number(stored)).toBeLessThanOrEqual(report.sent);
  });
});

/** The writable PostgreSQL container now. */
async function primaryContainer(): Promise<string> {
  const target = await findTarget(STACK);
  const primary = await waitFor("one writable primary", () => currentPrimary(target), 60_000);
  return target.containers[primary];
}

describe("the status board", () => {
  let board: Page;

  /**
   * Waits until the board (refreshing itself) shows `health` for replica `index` in its replicas
   * table, read as a person does: the row whose first cell is the index, its second cell.
   */
  async function waitHealth(index: number, health: string, timeoutMs = 30_000): Promise<void> {
    const row = board.locator("#replicas tbody tr").filter({
      has: board.locator("td:first-child", { hasText: new RegExp(`^${index}$`) }),
    });
    await waitFor(
      `replica ${index} ${health} on the board`,
      async () =>
        (await row.count()) === 1 && (await row.locator("td").nth(1).innerText()).trim() === health
          ? true
          : undefined,
      timeoutMs,
      1_000,
    );
  }

  it("shows every replica up, and the stack's replicas and algorithm (from nginx)", async () => {
    board = await context.newPage();
    await board.goto(`${stack.url}status`, { timeout: 15_000 });
    for (const i of [0, 1, 2]) await waitHealth(i, "up");
    await waitFor(
      "the stack's config on the board",
      async () =>
        (await board.locator("#stack-replicas").innerText()) === "3" &&
        (await board.locator("#stack-lb").innerText()) === "round_robin"
          ? true
          : undefined,
      15_000,
      500,
    );
  });

  it("shows a stopped replica go silent, then up again once it is started", async () => {
    const app2 = await appContainer("app-2");
    await docker.getContainer(app2).stop({ t: 15 });
    try {
      // A replica is silent after three missed heartbeats (15 s).
      await waitHealth(2, "silent", 60_000);
      await screenshot(board, "status-replica-silent");
    } finally {
      await docker.getContainer(app2).start();
    }
    await waitHealth(2, "up", 90_000);
  });

  it("shows a failover: the primary killed, the standby promoted, a new timeline", async () => {
    const target = await findTarget(STACK);
    const before = await waitFor("one writable primary", () => currentPrimary(target), 60_000);
    const standby = before === "pg-0" ? "pg-1" : "pg-0";
    const timeline = async () => Number(await board.locator("#timeline").innerText());
    await waitFor("a timeline on the board", async () =>
      (await timeline()) > 0 ? true : undefined,
    );
    const timelineBefore = await timeline();

    await crash(target.containers[before]);
    await waitFor(
      `${standby} promoted to primary on the board`,
      async () => {
        const failover = board.locator("#events tr.failover", { hasText: standby });
        return (await failover.count()) > 0 && (await timeline()) > timelineBefore
          ? true
          : undefined;
      },
      120_000,
      1_000,
    );
    const nodes = await board.locator("#pool-nodes tbody").innerText();
    expect(nodes).toMatch(new RegExp(`${standby}:5432\\s+\\S+\\s+\\S+\\s+primary`));
    const file = await screenshot(board, "status-failover");
    if (process.env.UPDATE_SCREENSHOTS === "1") {
      fs.copyFileSync(file, path.join(PROGRAM_DIR, "docs", "status.png"));
    }
    // The app still writes, now to the new primary.
    expect(await createUser(`after-failover-${randomUUID().slice(0, 8)}`)).toEqual(
      expect.any(Number),
    );
  });
});

afterAll(async () => {
  await context?.close();
});
