// The fixture gallery (/gallery, from the fake's ui/gallery.json): every block, element and
// mrkdwn case Pulse sends, asserted on the page's DOM, untrusted text included.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { session } from "./browser.mjs";

let page;
let errors;
let close;
before(async () => {
  ({ page, errors, close } = await session("/gallery", "body[data-ready=true]"));
  // A script smuggled in through CI data would most likely alert(): say so if one ever does.
  page.on("dialog", (dialog) => {
    errors.push(`a dialog opened: ${dialog.message()}`);
    dialog.dismiss();
  });
});
after(() => close?.());

const gallery = (name) => page.locator(`[data-case="${name}"] .gallery-body`);

test("header: large bold text, emoji shortcodes as Unicode", async () => {
  const header = gallery("header").locator(".bk-header");
  assert.equal(await header.innerText(), "🔴 CI failed on main");
});

test("section text: bold, italic, strike and code, nested", async () => {
  const text = gallery("section-text");
  assert.equal(await text.locator("b.md-b").first().innerText(), "bold");
  assert.equal(await text.locator("i.md-i").first().innerText(), "italic");
  assert.equal(await text.locator("s.md-s").innerText(), "strike");
  assert.equal(await text.locator("code.md-code").innerText(), "code");
  assert.equal(await text.locator("b.md-b").nth(1).innerText(), "bold with italic inside");
  assert.equal(await text.locator("b.md-b i.md-i").innerText(), "italic", "italic nests in bold");
});

test("section fields: two columns of mrkdwn, links among them", async () => {
  const fields = gallery("section-fields").locator(".bk-field");
  assert.equal(await fields.count(), 4);
  assert.equal(await fields.nth(0).innerText(), "Repository\nocto-org/widgets");
  const link = fields.nth(2).locator("a.md-link");
  assert.equal(await link.innerText(), "CI #41");
  assert.equal(await link.getAttribute("href"), "https://github.com/octo-org/widgets/actions/runs/4100");
  assert.equal(await link.getAttribute("rel"), "noopener noreferrer");
});

test("section accessory: a button beside the text", async () => {
  const section = gallery("section-accessory");
  assert.match(await section.locator(".bk-section-text").innerText(), /⚠️ Disk almost full on ci-runner-7/);
  const button = section.locator(".bk-accessory button.bk-button");
  assert.equal(await button.innerText(), "Acknowledge");
  assert.equal(await button.getAttribute("data-action-id"), "ops_ack");
});

test("context: small text elements in a row, dates by their fallback", async () => {
  const items = gallery("context").locator(".bk-context-item");
  assert.deepEqual(await items.allInnerTexts(), ["Sent by Pulse · Dec 4", "plain 🚀"]);
});

test("actions: buttons with their styles, a confirmation before a dangerous one", async () => {
  const buttons = gallery("actions").locator("button.bk-button");
  assert.deepEqual(await buttons.allInnerTexts(), ["Details", "Approve", "Silence 1h"]);
  assert.deepEqual(
    await buttons.evaluateAll((all) => all.map((b) => b.className)),
    ["bk-button", "bk-button bk-button-primary", "bk-button bk-button-danger"],
  );
  const colour = await buttons.nth(1).evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.equal(colour, "rgb(0, 122, 90)", "primary is Slack's green");
  await buttons.nth(2).click();
  const confirm = page.locator("[data-confirm]");
  assert.match(await confirm.innerText(), /Silence this alert\?[\s\S]*No DM for 1 hour/);
  assert.equal(await confirm.locator("b.md-b").innerText(), "1 hour");
  await confirm.getByText("Cancel").click();
  assert.equal(await page.locator("[data-confirm]").count(), 0, "denied: the dialog is gone");
  assert.equal(await page.locator('[data-case="actions"]').getAttribute("data-clicked"), null, "and nothing was sent");
  await buttons.nth(2).click();
  await page.locator("[data-confirm]").getByText("Silence", { exact: true }).click();
  assert.equal(await page.locator('[data-case="actions"]').getAttribute("data-clicked"), "stop", "confirmed: the click goes out");
});

test("divider between sections", async () => {
  const kinds = await gallery("divider").locator(".bk-block").evaluateAll((all) => all.map((b) => b.dataset.blockType));
  assert.deepEqual(kinds, ["section", "divider", "section"]);
  assert.equal(await gallery("divider").locator("hr.bk-divider").count(), 1);
});

test("input: a label, a multi-select of options, the hint, optional marked", async () => {
  const input = gallery("input").locator(".bk-input");
  assert.equal(await input.locator(".bk-input-label").innerText(), "Only these kinds (optional)");
  assert.deepEqual(await input.locator("select.bk-multi option").allInnerTexts(), ["Lambda", "Queue"]);
  assert.equal(await input.locator("select").evaluate((s) => s.multiple), true);
  assert.equal(await input.locator(".bk-hint").innerText(), "Leave empty to deploy everything");
});

test("links: labelled and bare; a javascript: URL is never a link", async () => {
  const links = gallery("mrkdwn-links").locator("a");
  assert.deepEqual(await links.allInnerTexts(), ["PR #91234", "https://example.com/raw"]);
  assert.match(await gallery("mrkdwn-links").innerText(), /or not a link$/);
});

test("mentions: users by name, channels, @here, user groups", async () => {
  const mentions = gallery("mrkdwn-mentions").locator(".mention");
  assert.deepEqual(await mentions.allInnerTexts(), ["@alice", "#ci", "@here", "@ops"]);
});

test("lists and quotes", async () => {
  const body = gallery("mrkdwn-lists");
  assert.deepEqual(await body.locator("ul.md-list li").allInnerTexts(), ["test (Run tests)", "lint"]);
  assert.deepEqual(await body.locator("ol.md-list li").allInnerTexts(), ["first", "second"]);
  assert.equal(await body.locator("blockquote.md-quote").innerText(), "quoted line");
});

test("code blocks are literal", async () => {
  const pre = gallery("mrkdwn-codeblock").locator("pre.md-pre");
  assert.equal(await pre.innerText(), "cargo test -p pulse\n*not bold* inside");
  assert.equal(await pre.locator("b").count(), 0);
});

test("inline code keeps its links (a commit's short sha); times are not emoji", async () => {
  const body = gallery("mrkdwn-code-links");
  const code = body.locator("code.md-code").first();
  assert.equal(await code.innerText(), "4e1f0c2");
  assert.equal(await code.locator("a.md-link").getAttribute("href"), "https://github.com/octo-org/widgets/commit/4e1f0c2a");
  assert.match(await body.innerText(), /acknowledged at 2026-12-04 17:30:22 UTC, 12:00:01$/);
  assert.equal(await body.locator(".emoji, .emoji-custom").count(), 0);
});

test("emoji: Unicode for known shortcodes, a visible placeholder for a custom one", async () => {
  const body = gallery("emoji");
  assert.deepEqual(await body.locator(".emoji").allInnerTexts(), ["✅", "❌", "⏳", "🎉", "🚀"]);
  const custom = body.locator(".emoji-custom");
  assert.equal(await custom.innerText(), ":party_parrot:");
  assert.match(await custom.getAttribute("title"), /custom emoji/);
  const fonts = execFileSync("fc-list", [":", "family"], { encoding: "utf8" });
  assert.match(fonts, /Noto Color Emoji/, "an emoji font is installed, so screenshots show them");
});

test("untrusted text (a PR title holding <script>) shows as typed and never runs", async () => {
  const body = gallery("untrusted-pr-title");
  const link = body.locator("a.md-link");
  assert.equal(await link.innerText(), "Fix <script>alert(1)</script> & <img src=x onerror=alert(2)>");
  assert.equal(await body.locator(".bk-header").innerText(), "<b>not bold</b> <script>alert(3)</script>");
  assert.equal(await page.locator(".gallery-body script, .gallery-body img").count(), 0, "no element came from the text");
  assert.equal(await body.locator(".bk-header b").count(), 0);
  assert.deepEqual(errors, [], "no script ran and nothing failed");
});

test("an unknown block or element shows as unsupported, never dropped", async () => {
  const markers = gallery("unknown-block").locator(".bk-unsupported");
  assert.deepEqual(await markers.allInnerTexts(), ["Unsupported block: rich_text", "Unsupported element: datepicker"]);
});

test("a payload over Slack's limits is flagged, naming each limit", async () => {
  const flag = page.locator('[data-case="over-limits"] .bk-limit-flag');
  assert.deepEqual(await flag.locator("li").allInnerTexts(), [
    "blocks[0].text: a header's text is at most 150 (this one has 151)",
    "blocks[1].elements[0].text: a button's text is at most 75 (this one has 76)",
  ]);
  const flagged = await page.locator(".bk-limit-flag").count();
  assert.equal(flagged, 1, "no other case breaks a limit");
});

test("a Home view: header, toggles, feed rows, context", async () => {
  const home = gallery("home-view");
  const kinds = await home.locator(".bk-block").evaluateAll((all) => all.map((b) => b.dataset.blockType));
  assert.deepEqual(kinds, ["header", "actions", "section", "context"]);
  assert.equal(await home.locator("button").innerText(), "⚪ Hide merged PRs");
  assert.match(await home.locator(".bk-section-text").innerText(), /🔴 #91234 Fix flaky test · master/);
});

test("the page raised no error", () => {
  assert.deepEqual(errors, []);
});
