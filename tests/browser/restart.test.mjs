// What the page does when the stack restarts: it says it lost the fake Slack, the browser
// reconnects by itself, and it then shows the new fake's state (and says so). Runs its own
// pulse-fake-slack (PULSE_FAKE_SLACK_BIN, set by ./localstack/up) so that it can kill it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { launch, newPage } from "./browser.mjs";

const bin = process.env.PULSE_FAKE_SLACK_BIN;

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** Starts the fake on `port`; resolves once it says it listens. */
function startFake(port) {
  const child = spawn(bin, ["--addr", `127.0.0.1:${port}`, "--user", "U1:alice:alice@example.com"], { stdio: ["ignore", "pipe", "ignore"] });
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk) => String(chunk).includes("listening on") && resolve(child));
    child.on("exit", (code) => reject(new Error(`pulse-fake-slack exited with ${code}`)));
  });
}

const stop = (child) => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once("exit", resolve), child.kill())));

async function post(root, text) {
  const response = await fetch(`${root}/api/chat.postMessage`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer xoxb-local" },
    body: JSON.stringify({ channel: "C1", text }),
  });
  assert.equal((await response.json()).ok, true);
}

test("when the fake Slack restarts the page reconnects and shows the new one's state", { skip: !bin && "PULSE_FAKE_SLACK_BIN is not set" }, async () => {
  const port = await freePort();
  const root = `http://127.0.0.1:${port}`;
  let fake = await startFake(port);
  const browser = await launch();
  try {
    const errors = [];
    const page = await newPage(browser, errors);
    await post(root, "before the restart");
    await page.goto(`${root}/`);
    await page.locator('[data-nav="channel:C1"]').click();
    await page.locator("#pane .msg", { hasText: "before the restart" }).waitFor();
    const first = await page.locator("body").getAttribute("data-instance");

    await stop(fake);
    await page.waitForSelector('#conn[data-state="reconnecting"], #conn[data-state="down"]', { timeout: 10000 });
    fake = await startFake(port);
    await page.waitForFunction((old) => document.body.dataset.instance && document.body.dataset.instance !== old, first, { timeout: 20000 });
    await page.waitForSelector('#conn[data-state="live"]');
    assert.match(await page.locator("#notice").innerText(), /restarted/);
    await page.locator("#pane .empty").waitFor();
    assert.equal(await page.locator("#pane .msg").count(), 0, "the old process's messages are gone, as they are from the new fake");

    await post(root, "after the restart");
    await page.locator("#pane .msg", { hasText: "after the restart" }).waitFor({ timeout: 10000 });
    assert.deepEqual(errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource|EventSource/.test(e)), []);
  } finally {
    await browser.close();
    await stop(fake);
  }
});
