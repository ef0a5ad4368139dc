// The page against the running local stack (./localstack/up --once --browser): what a person
// sees and does, through the fake Slack's stand-in to the real ingress and services and back.
// The stack's demo has run first: alice (U0DEMO001) is subscribed, the example CI events,
// alerts and GitHub runs are in, a deploy has been done.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { session, uiUrl } from "./browser.mjs";

const ALICE = "U0DEMO001";
const BOB = "U0DEMO002";
const WAIT = 45000;
let page;
let errors;
let close;

before(async () => {
  ({ page, errors, close } = await session("/", `body[data-instance][data-acting="${ALICE}"]`, WAIT));
});
after(() => close?.());

/** Polls `probe` until it returns something truthy; fails naming `what` after WAIT. */
async function until(what, probe, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last) return last;
    } catch (error) {
      last = error.message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** The fake's snapshot, for finding where things are (the page is what is asserted). */
async function snapshot() {
  return (await fetch(`${uiUrl()}/_fake/ui/state`)).json();
}

async function open(nav) {
  await page.locator(`[data-nav="${nav}"]`).click();
  await page.waitForSelector(`#pane[data-view="${nav}"]`);
}

/** Acts as `user` from now on, closing any modal left open for them (a test that failed). */
async function actAs(user) {
  await page.selectOption("#acting", user);
  await page.waitForSelector(`body[data-acting="${user}"]`);
  while (await page.locator("#modal-layer .modal").isVisible()) {
    await page.locator("#modal-layer .modal-close").click();
    await page.waitForTimeout(500);
  }
}

const messagesIn = () => page.locator("#pane > .msg");

test("the page opens on the subscriber's Home tab with the feed", async () => {
  assert.equal(await page.locator("body").getAttribute("data-acting"), ALICE);
  assert.equal(await page.locator("#pane").getAttribute("data-view"), `home:${ALICE}`);
  const home = page.locator(".home-view");
  await until("PR #91234 in alice's feed", async () => (await home.innerText()).includes("91234"));
  assert.match(await home.innerText(), /Following alice@clickhouse\.com/);
  assert.equal(await page.locator("#conn").getAttribute("data-state"), "live");
});

test("a toggle on the Home tab changes the view", async () => {
  await actAs(ALICE);
  const home = page.locator(".home-view");
  const hash = await home.getAttribute("data-hash");
  const toggle = () => page.locator('.home-view button[data-action-id="toggle_show_last_7d"]');
  const before = await toggle().innerText();
  const wasOn = (await toggle().getAttribute("class")).includes("bk-button-primary");
  await toggle().click();
  await until("a new Home view", async () => (await page.locator(".home-view").getAttribute("data-hash")) !== hash);
  await until("the toggle showing its new state", async () => (await toggle().innerText()) !== before);
  const isOn = (await toggle().getAttribute("class")).includes("bk-button-primary");
  assert.equal(isOn, !wasOn, `${before} → ${await toggle().innerText()}`);
  await toggle().click(); // back as it was, for the tests after
  await until("the toggle back", async () => (await toggle().innerText()) === before);
});

test("Acknowledge on an ops alert updates the message in place, not a second one", async () => {
  const snap = await snapshot();
  const alert = snap.messages.find((m) => JSON.stringify(m.blocks ?? []).includes('"ops_ack"') && !JSON.stringify(m).includes("Acknowledged by"));
  assert.ok(alert, "the demo's ops alerts reached a channel with buttons");
  await open(`channel:${alert.channel}`);
  const count = await messagesIn().count();
  const message = page.locator(`#pane > .msg[data-ts="${alert.ts}"]`);
  await message.locator('button[data-action-id="ops_ack"]').click();
  await until("the alert saying who acknowledged it", async () => /Acknowledged by @alice/.test(await message.innerText()));
  assert.equal(await messagesIn().count(), count, "the same messages: updated in place, not duplicated");
  assert.equal(await page.locator(`#pane > .msg[data-ts="${alert.ts}"]`).count(), 1);
});

test("/praktika subscribe from the composer: an ephemeral reply, then the Home tab", async (t) => {
  t.after(() => actAs(ALICE));
  await actAs(BOB);
  await open(`channel:D${BOB}`);
  await page.fill("#composer-input", "/praktika subscribe");
  await page.press("#composer-input", "Enter");
  // Ingress acknowledges at once ("Subscribing you…"); the home-renderer's answer, naming the
  // email, follows on the response URL: wait for that one, however long the first takes.
  const replies = page.locator('#pane > .msg-ephemeral');
  const named = replies.filter({ hasText: "bob@clickhouse.com" });
  await until("an ephemeral reply to bob naming his email", async () => (await named.count()) > 0);
  assert.match(await named.last().innerText(), /Only visible to you/);
  await open(`home:${BOB}`);
  await until("bob's Home tab following his email", async () => /Following bob@clickhouse\.com/.test(await page.locator(".home-view").innerText()));
});

test("/pulser deploy: cancelled in its modal, nothing happens", async () => {
  await actAs(ALICE);
  await open(`channel:C0DEPLOY`);
  const before = await messagesIn().count();
  await page.fill("#composer-input", "/pulser deploy demo-runner");
  await page.press("#composer-input", "Enter");
  const modal = page.locator('.modal[data-callback-id="deploy_confirm"]');
  await modal.waitFor({ timeout: WAIT });
  await modal.locator(".modal-close").click();
  await modal.waitFor({ state: "detached", timeout: WAIT });
  await page.waitForTimeout(3000); // long enough for a deploy request to have been posted
  const added = (await messagesIn().evaluateAll((all) => all.map((m) => m.innerText))).slice(before);
  assert.ok(!added.some((text) => /Deploy of demo-runner requested/.test(text)), `a cancelled deploy is not requested: ${added}`);
});

test("/pulser deploy: confirmed in its modal, then the deploy thread", async () => {
  await actAs(ALICE);
  await open(`channel:C0DEPLOY`);
  const before = new Set(await messagesIn().evaluateAll((all) => all.map((m) => m.dataset.ts)));
  await page.fill("#composer-input", "/pulser deploy demo-runner");
  await page.press("#composer-input", "Enter");
  const modal = page.locator('.modal[data-callback-id="deploy_confirm"]');
  await modal.waitFor({ timeout: WAIT });
  assert.match(await modal.locator(".modal-title").innerText(), /deploy/i);
  assert.match(await modal.locator(".modal-body").innerText(), /Deploy demo-runner\?/);
  await modal.locator(".modal-submit").click();
  await modal.waitFor({ state: "detached", timeout: WAIT });
  const parent = await until("a new deploy message with a thread", async () => {
    for (const m of await messagesIn().all()) {
      const ts = await m.getAttribute("data-ts");
      if (!before.has(ts) && (await m.locator(".msg-replies").count()) > 0 && /demo-runner/.test(await m.innerText())) return m;
    }
    return null;
  });
  await parent.locator(".msg-replies").click();
  const thread = page.locator("#thread");
  await until("the deploy's outcome in its thread", async () => /demo-runner/.test(await thread.innerText()) && (await thread.locator(".msg").count()) >= 2);
});

test("a GitHub run's channel message is updated in place, and its re-run button answers", async () => {
  await actAs(ALICE);
  await open("channel:C0CIWIDGETS");
  // The run's own message (the channel also says when main went red and green again).
  const runs = page.locator("#pane > .msg", { hasText: /CI #41 on main \(push\)/ });
  assert.equal(await runs.count(), 1, "one message for run 41, however many deliveries");
  const run = runs.first();
  assert.match(await run.innerText(), /🔴 CI #41 on main \(push\) failed/);
  assert.equal(await run.locator(".msg-edited").count(), 1, "it was updated in place");
  const rerun = run.locator('button[data-action-id="github_rerun_failed_jobs"]');
  await rerun.click();
  // The demo clicked it first: Pulse asks GitHub once per run attempt and tells a later clicker so.
  const answer = page.locator("#pane > .msg-ephemeral", { hasText: /(Re-running|already asked to re-run) the failed jobs of run 4100/ });
  await until("the ephemeral answer to the click", async () => (await answer.count()) > 0);
});

test("no script error on the page", () => {
  assert.deepEqual(errors, []);
});
