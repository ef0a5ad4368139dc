// The README's screenshots, from the running local stack: the subscriber's Home tab, an ops
// channel and a deploy thread, as the local Slack page shows them. Never compared pixel by
// pixel: they are for people to look at.
//
//   ./localstack/up --once --screenshots      (brings the stack up, runs its demo, then this)
import { mkdir } from "node:fs/promises";
import { launch, newPage, uiUrl } from "./browser.mjs";

const out = process.argv[2] ?? "../../docs/screenshots";
await mkdir(out, { recursive: true });
const browser = await launch();
const errors = [];
const page = await newPage(browser, errors);
const waitFor = async (what, probe) => {
  for (let i = 0; i < 180; i++) {
    if (await probe().catch(() => false)) return;
    await page.waitForTimeout(250);
  }
  throw new Error(`no ${what} to take a picture of`);
};
const open = async (nav) => {
  await page.locator(`[data-nav="${nav}"]`).click();
  await page.waitForSelector(`#pane[data-view="${nav}"]`);
};

await page.goto(`${uiUrl()}/`);
await page.waitForSelector("body[data-instance]");
await waitFor("Home tab with a feed", async () => (await page.locator(".home-view").innerText()).includes("91234"));
await page.screenshot({ path: `${out}/home-tab.png` });

const snap = await (await fetch(`${uiUrl()}/_fake/ui/state`)).json();
const alert = snap.messages.find((m) => JSON.stringify(m.blocks ?? []).includes('"ops_ack"'));
if (!alert) throw new Error("no ops alert in the stack");
await open(`channel:${alert.channel}`);
await page.screenshot({ path: `${out}/ops-channel.png` });

await open("channel:C0DEPLOY");
const parent = page.locator("#pane > .msg", { has: page.locator(".msg-replies") }).last();
await parent.locator(".msg-replies").click();
await waitFor("deploy thread", async () => (await page.locator("#thread .msg").count()) >= 2);
await page.screenshot({ path: `${out}/deploy-thread.png` });

await browser.close();
if (errors.length) throw new Error(`the page raised: ${errors.join("; ")}`);
console.log(`screenshots written to ${out}: home-tab.png ops-channel.png deploy-thread.png`);
