// The status page in a real browser: Debian's chromium (/usr/bin/chromium, never a downloaded
// browser) driven by playwright-core. `mlopsctl run` (a child process, as users run it) runs one
// TrainingJob on the Nomad double; the test moves the job's allocation from pending to running to
// complete through the double, and the open page's row shows Pending, Running and Succeeded in turn
// from the event stream, without a reload. Then the job's link opens its page with conditions and
// events. The page's CSP forbids inline script (an injected one is refused) and the browser logs no
// console error. Screenshots of both pages are kept in .test-results/browser/.
// `npm test` installs chromium (hack/test-env.sh → hack/ensure-chromium.sh); run alone without it,
// the test fails naming that command.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NomadDouble, startNomadDouble } from "../doubles/nomad/index.ts";
import { until } from "../polling.ts";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = new URL("../../", import.meta.url).pathname;
const ARTEFACTS = join(ROOT, ".test-results", "browser");
const ROW = 'tr[data-key="TrainingJob/default/mnist"]';
/** Every wait in this file ends within this; the whole test within TEST_MS. */
const WAIT_MS = 10_000;
const TEST_MS = 60_000;

let nomad: NomadDouble | undefined;
let operator: ChildProcess | undefined;
let browser: Browser | undefined;
let root = "";
let output = "";

/** The operator's metrics address, from its "operator starting" log line (JSON, one per line). */
function metricsAddress(): string | undefined {
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; metrics?: string };
      if (entry.msg === "operator starting" && entry.metrics) return entry.metrics;
    } catch {}
  }
  return undefined;
}

async function stopOperator(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: the status page's browser test needs Debian's chromium; install it with ` +
        "`bash hack/ensure-chromium.sh` (as root; `npm test` and `make test` run it)",
    );
  }
  root = await mkdtemp(join(tmpdir(), "mlops-browser-"));
  await mkdir(join(root, "repo"));
  await writeFile(
    join(root, "repo", "mnist.yaml"),
    `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: mnist }
spec:
  image: registry.example/mnist:1
  resources: { cpu: 500, memoryMB: 512 }
  env:
    - { name: WANDB_API_KEY, value: not-for-the-page }
`,
  );
  nomad = await startNomadDouble({ heartbeatMs: 1_000 });
  const child = spawn(
    join(ROOT, "bin/mlopsctl"),
    [
      "run",
      "--dir",
      join(root, "repo"),
      "--state-dir",
      join(root, "state"),
      "--scheduler",
      "nomad",
      "--nomad-addr",
      nomad.address,
      "--owner-id",
      `browser-${process.pid}`,
      "--metrics-addr",
      "127.0.0.1:0",
      "--log-format",
      "json",
      "--log-level",
      "info",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  operator = child;
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // CI runs as root, where chromium's sandbox cannot start.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    timeout: WAIT_MS,
  });
}, 30_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  if (operator) await stopOperator(operator);
  await nomad?.close();
  if (root) await rm(root, { recursive: true, force: true });
}, 30_000);

/** The text of the row's Phase cell (the fourth column). */
const phaseCell = (page: Page) => page.locator(`${ROW} td:nth-child(4)`);

/** Waits for the row to show `phase`; on timeout names what the row and the operator's API show. */
async function shows(page: Page, base: string, phase: string): Promise<void> {
  let seen: string | null = null;
  const showing = async () => {
    seen = await phaseCell(page).textContent({ timeout: WAIT_MS });
    return seen === phase;
  };
  await until(`the row to show ${phase}`, showing, WAIT_MS).catch(async (error: Error) => {
    const api = await (await fetch(`${base}/api/v1/trainingjobs`)).text();
    throw new Error(
      `${error.message}: the row shows ${seen}; the API says ${api}; the operator printed:\n${output}`,
    );
  });
}

describe("the status page in chromium", () => {
  it("follows a job from Pending to Running to Succeeded without a reload, then shows its page", {
    timeout: TEST_MS,
  }, async () => {
    const base = `http://${await until("the operator's address", metricsAddress, WAIT_MS).catch((error) => {
      throw new Error(`${(error as Error).message}; the operator printed:\n${output}`);
    })}`;
    const double = nomad as NomadDouble;
    const [alloc] = await until(
      "the job registered with the Nomad double",
      () => {
        const allocs = double.allocations("default", "mnist");
        return allocs && allocs.length === 1 ? allocs : undefined;
      },
      WAIT_MS,
    );
    const allocId = alloc?.ID ?? "";
    // The page lists the job once its first status is written (a write-behind batch).
    await until(
      "Pending on the page",
      async () => (await (await fetch(`${base}/`)).text()).includes(">mnist</a></td><td>Pending</td>"),
      WAIT_MS,
    );

    const context = await (browser as Browser).newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(`${message.text()} (${message.location().url})`);
    });
    page.on("pageerror", (error) => errors.push(error.message));
    let navigations = 0;
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });

    const response = await page.goto(`${base}/`, { waitUntil: "load" });
    expect(response?.status()).toBe(200);
    const csp = Object.fromEntries(
      (response?.headers()["content-security-policy"] ?? "")
        .split(";")
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values]),
    );
    // Scripts only from the page's own origin: no inline script, no eval, no nonce or hash.
    expect(csp["default-src"]).toEqual(["'none'"]);
    expect(csp["script-src"]).toEqual(["'self'"]);
    expect(csp["connect-src"]).toEqual(["'self'"]);

    await phaseCell(page).waitFor();
    expect(await phaseCell(page).textContent()).toBe("Pending");
    // live.js has opened the event stream.
    await until("the page live", async () => (await page.locator("#live").textContent()) === "live", WAIT_MS);
    await page.evaluate(() => {
      (globalThis as { loadedOnce?: boolean }).loadedOnce = true;
    });

    double.lifecycle.running(allocId);
    await shows(page, base, "Running");
    expect(await page.locator(`${ROW} td:nth-child(5)`).textContent()).toBe("True");
    double.lifecycle.exit(allocId, { exitCode: 0 });
    await shows(page, base, "Succeeded");
    expect(await page.locator(`${ROW}`).getAttribute("class")).toBe("phase-Succeeded");

    // The same document all along: one navigation, and what was set on it is still there.
    expect(navigations).toBe(1);
    expect(await page.evaluate(() => (globalThis as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
    await mkdir(ARTEFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTEFACTS, "status-page.png"), fullPage: true });

    await page.locator(`${ROW} a`).click();
    await page.waitForURL(/\/resource\?kind=TrainingJob&namespace=default&name=mnist$/);
    expect(await page.locator("h1").textContent()).toBe("TrainingJob default/mnist");
    const conditions = page.locator("h2:text-is('Conditions') + table tbody tr");
    const ready = conditions.filter({ has: page.locator("td:first-child", { hasText: /^Ready$/ }) });
    expect(await ready.locator("td").allTextContents()).toEqual([
      "Ready",
      "True",
      "Succeeded",
      expect.any(String),
      expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    ]);
    // Newest first: the run's transitions as the operator recorded them.
    const reasons = await page
      .locator("h2:text-is('Recent events') + table tbody tr td:nth-child(2)")
      .allTextContents();
    expect(reasons.slice(0, 3)).toEqual(["Succeeded", "Running", "Submitted"]);
    const replica = await page.locator("h2:text-is('Replicas') + table tbody tr td").allTextContents();
    expect(replica.slice(2, 4)).toEqual(["succeeded", "0"]);
    // Env names only, never values.
    expect(await page.content()).toContain("WANDB_API_KEY");
    expect(await page.content()).not.toContain("not-for-the-page");
    await page.screenshot({ path: join(ARTEFACTS, "status-page-detail.png"), fullPage: true });
    expect(errors).toEqual([]);

    // The policy is enforced, not only sent: an inline script put into the page does not run, and
    // the refusal is a console error (which is what the assertion above would have caught).
    const violated = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const g = globalThis as unknown as {
            document: {
              addEventListener(type: string, f: (e: { effectiveDirective: string }) => void): void;
              createElement(tag: string): { textContent: string };
              body: { append(node: unknown): void };
            };
          };
          g.document.addEventListener("securitypolicyviolation", (e) => resolve(e.effectiveDirective));
          const script = g.document.createElement("script");
          script.textContent = "globalThis.inlineRan = true";
          g.document.body.append(script);
          setTimeout(() => resolve("no violation"), 2_000);
        }),
    );
    expect(violated).toBe("script-src-elem");
    expect(await page.evaluate(() => (globalThis as { inlineRan?: boolean }).inlineRan)).toBeUndefined();
    await until("the refusal logged", () => errors.some((e) => /Content Security Policy/.test(e)), WAIT_MS);
    await context.close();
  });
});
