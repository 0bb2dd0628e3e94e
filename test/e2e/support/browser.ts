// A real browser for the e2e tests: Debian's chromium driven by playwright-core, and helpers that
// read the ha-stack page the way a person does (visible text), never its internals.
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { waitFor } from "../../../ops/poll";
import { PROGRAM_DIR } from "../../../ops/stack";

/** The chromium binary; CHROMIUM_PATH overrides (`apt-get install chromium` provides this one). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Where screenshots go (gitignored). */
export const ARTIFACTS = path.join(PROGRAM_DIR, "test-artifacts", "browser");

// Headless, no sandbox (root in a container), and nothing that phones home: the tests' only
// traffic is to loopback and to the networks they make. `--no-proxy-server` keeps requests to
// container addresses off any proxy a user's environment configures.
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-proxy-server",
];

/** Launches chromium headless; playwright gives every launch a fresh temporary profile. */
export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true, timeout: 60_000 });
}

export interface OpenPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** The replica that served the page, from its banner ("Page served by replica N"). */
  readonly pageReplica: number;
  /** The replica the page's chat socket is connected to, from the chat status line. */
  readonly chatReplica: number;
  /** Console errors, failed requests and uncaught exceptions seen so far. */
  readonly problems: string[];
}

/**
 * Opens `url` in a new browser context (its own cookies and connections) and waits until the
 * chat says which replica it is connected to.
 */
export async function openPage(browser: Browser, url: string): Promise<OpenPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`exception: ${e.message}`));
  page.on("requestfailed", (r) => {
    // A websocket closed on purpose when a context closes is not a page problem.
    if (!r.url().includes("/socket.io/")) problems.push(`request failed: ${r.url()}`);
  });
  const response = await page.goto(url, { timeout: 15_000 });
  if (response?.status() !== 200) {
    throw new Error(`GET ${url} in the browser: HTTP ${response?.status() ?? "no response"}`);
  }
  const banner = await page.locator(".served").innerText();
  const served = /replica (\d+)/.exec(banner);
  if (!served) throw new Error(`the page does not say which replica served it: "${banner}"`);
  const status = page.locator("#chat-status");
  await status
    .filter({ hasText: /Connected to replica \d+/ })
    .waitFor({ timeout: 15_000 })
    .catch(async (err: Error) => {
      const shown = await status.innerText().catch(() => "(unreadable)");
      throw new Error(
        `${url}: the chat did not connect within 15 s; status "${shown}"; ` +
          `page problems: ${JSON.stringify(problems)}; ${err.message.split("\n")[0]}`,
      );
    });
  const chat = /Connected to replica (\d+)/.exec(await status.innerText());
  return {
    context,
    page,
    pageReplica: Number(served[1]),
    chatReplica: Number(chat![1]),
    problems,
  };
}

/** The text of the `<dd>` after the `<dt>` labelled `term` inside `scope`. */
export async function definition(page: Page, scope: string, term: string): Promise<string> {
  const value = await page
    .locator(`${scope} dt`, { hasText: new RegExp(`^${escapeRegExp(term)}$`) })
    .locator("xpath=following-sibling::dd[1]")
    .innerText({ timeout: 5_000 });
  return value.trim();
}

/** The request table's rows, each as its cells' text. */
export async function requestRows(page: Page): Promise<string[][]> {
  const rows = await page.locator("#requests tr").all();
  return Promise.all(rows.map((row) => row.locator("td").allInnerTexts()));
}

/** Types into the chat form and sends; resolves once the server acknowledged (input cleared). */
export async function sendChat(page: Page, name: string, text: string): Promise<void> {
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.getByRole("button", { name: "Send" }).click();
  await waitFor(
    `the chat to acknowledge "${text}"`,
    async () =>
      (await page.getByLabel("Message", { exact: true }).inputValue()) === "" ? true : undefined,
    5_000,
  );
}

/** Waits for a chat message with `text`; returns the line as shown ("name replica N · time text"). */
export async function chatLine(page: Page, text: string, timeoutMs = 10_000): Promise<string> {
  const line = page.locator("#chat-messages li", { hasText: text });
  await line.first().waitFor({ timeout: timeoutMs });
  return (await line.first().innerText()).replace(/\s+/g, " ").trim();
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
