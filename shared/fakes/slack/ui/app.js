// The local Slack page: draws the fake's snapshot (/_fake/ui/state) as Slack would, redraws on
// every server-sent `change`, and turns what a person does into acts the fake's stand-in signs
// and sends to ingress (/_fake/ui/act). It holds no secret and signs nothing.
import { blocks, limitFlags, textObject } from "./blockkit.js";
import { mrkdwn } from "./mrkdwn.js";

const $ = (id) => document.getElementById(id);
const page = {
  snap: null, // the latest snapshot
  instance: null, // the fake process it came from
  where: null, // { kind: "channel" | "home", id }
  acting: null, // the user id the person acts as
  thread: null, // { channel, ts } of the open thread
  modal: null, // { id, hash, inputs } of the modal on screen
};

function el(tag, className, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) node.append(child);
  return node;
}

const userName = (id) => page.snap?.users.find((u) => u.id === id)?.name;
const channelLabel = (id) => (id.startsWith("D") ? userName(id.slice(1)) ?? id.slice(1) : id);
const tsNumber = (ts) => Number(ts ?? 0);
const byTs = (a, b) => tsNumber(a.ts) - tsNumber(b.ts);
const clock = (ts) => new Date(tsNumber(ts) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function notice(text) {
  const box = $("notice");
  box.textContent = text;
  box.hidden = !text;
}

function setConn(state, text) {
  const conn = $("conn");
  conn.dataset.state = state;
  conn.textContent = text;
}

// ---- Acting: everything a person does goes through the fake's stand-in -----------------------

async function act(body) {
  let outcome;
  try {
    const response = await fetch("/_fake/ui/act", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    outcome = await response.json().catch(() => ({ ok: false, error: `HTTP ${response.status}` }));
  } catch (error) {
    outcome = { ok: false, error: `the fake Slack is not answering (${error.message})` };
  }
  if (!outcome.ok && !outcome.errors) notice(`Slack could not deliver that ${body.kind}: ${outcome.error}`);
  return outcome;
}

/** The click handler for buttons on a message (`channel`, `ts`) or a view (`view_id`). */
function clicker(container) {
  return async (element, block, node) => {
    if (element.url) window.open(element.url, "_blank", "noopener,noreferrer");
    node.classList.add("bk-pending");
    await act({
      kind: "click", user: page.acting, action_id: element.action_id ?? "", block_id: block?.block_id ?? null,
      value: element.value ?? null, text: element.text?.text ?? null, ...container,
    });
    node.classList.remove("bk-pending");
  };
}

function ctx(extra = {}) {
  return { userName, channelName: channelLabel, ...extra };
}

// ---- Drawing -------------------------------------------------------------------------------

function navButton(label, kind, id, extraClass = "") {
  const button = el("button", `nav-item ${extraClass}`, [label]);
  button.type = "button";
  button.dataset.nav = `${kind}:${id}`;
  if (page.where?.kind === kind && page.where?.id === id) button.classList.add("active");
  button.addEventListener("click", () => go(kind, id));
  return button;
}

function drawNav() {
  const snap = page.snap;
  const channels = new Set();
  const dms = new Set(snap.users.map((u) => `D${u.id}`));
  for (const m of [...snap.messages, ...snap.ephemerals]) (m.channel.startsWith("D") ? dms : channels).add(m.channel);
  const homes = new Set([...snap.users.map((u) => u.id), ...Object.keys(snap.homes)]);
  const section = (title, items) => el("div", "nav-section", [el("div", "nav-heading", [title]), ...items]);
  $("nav").replaceChildren(
    section("App Home", [...homes].sort().map((u) => navButton(`Pulse — Home of ${userName(u) ?? u}`, "home", u))),
    section("Channels", [...channels].sort().map((c) => navButton(`# ${c}`, "channel", c))),
    section("Direct messages", [...dms].sort().map((d) => navButton(`Pulse ↔ ${channelLabel(d)}`, "channel", d))),
  );
  const acting = $("acting");
  acting.replaceChildren(...snap.users.map((u) => {
    const option = el("option", null, [`${u.real_name ?? u.name} (${u.id})`]);
    option.value = u.id;
    option.selected = u.id === page.acting;
    return option;
  }));
}

function author(m) {
  if (m.via === "slackbot") return { name: "Slackbot", avatar: "S" };
  return { name: "Pulse", avatar: "P", app: true };
}

function drawMessage(m, { inThread = false } = {}) {
  const ephemeral = m.subtype === "ephemeral";
  const who = author(m);
  const head = el("div", "msg-head", [el("span", "msg-author", [who.name])]);
  if (who.app) head.append(el("span", "msg-app", ["APP"]));
  head.append(el("span", "msg-time", [clock(m.ts)]));
  if (m.edited) head.append(el("span", "msg-edited", ["(edited)"]));
  const body = el("div", "msg-body", [head]);
  if (ephemeral) body.append(el("div", "msg-only-you", ["Only visible to you"]));
  const flags = limitFlags("message", m);
  if (flags) body.append(flags);
  const container = { channel: m.channel, ts: m.ts }; // an ephemeral's buttons too (standin.rs)
  const content = el("div", "msg-content");
  if (Array.isArray(m.blocks) && m.blocks.length) content.append(blocks(m.blocks, ctx({ onAction: clicker(container) })));
  else content.append(mrkdwn(m.text ?? "", ctx()));
  if (m.attachments) content.append(el("div", "bk-unsupported", ["Unsupported: legacy attachments"]));
  body.append(content);
  if (!inThread && m.reply_count) {
    const link = el("button", "msg-replies", [`${m.reply_count} ${m.reply_count === 1 ? "reply" : "replies"}`]);
    link.type = "button";
    link.addEventListener("click", () => {
      page.thread = { channel: m.channel, ts: m.ts };
      render();
    });
    body.append(link);
  }
  if (m.metadata) {
    const details = el("details", "msg-metadata", [
      el("summary", null, [`Metadata: ${m.metadata.event_type ?? "(no event_type)"}`]),
      el("pre", null, [JSON.stringify(m.metadata, null, 2)]),
    ]);
    body.append(details);
  }
  const node = el("div", `msg${ephemeral ? " msg-ephemeral" : ""}`, [el("div", "avatar", [who.avatar]), body]);
  node.dataset.ts = m.ts;
  node.dataset.channel = m.channel;
  if (ephemeral) node.dataset.via = m.via;
  return node;
}

function drawRefused(channel) {
  return page.snap.refused
    .filter((r) => r.channel === channel || (channel.startsWith("D") && r.channel === channel.slice(1)))
    .map((r) => el("div", "refused", [`Slack refused a ${r.method} here: ${r.error}`]));
}

function drawChannel(id) {
  const snap = page.snap;
  const top = snap.messages.filter((m) => m.channel === id && (!m.thread_ts || m.thread_ts === m.ts));
  const mine = snap.ephemerals.filter((e) => e.channel === id && e.user === page.acting && !e.thread_ts);
  const items = [...top, ...mine].sort(byTs);
  $("title").replaceChildren(id.startsWith("D") ? `Pulse ↔ ${channelLabel(id)}` : `# ${id}`);
  const pane = $("pane");
  pane.replaceChildren(...items.map((m) => drawMessage(m)), ...drawRefused(id));
  if (items.length === 0) pane.append(el("div", "empty", ["Nothing here yet."]));
  pane.scrollTop = pane.scrollHeight;
}

function drawHome(user) {
  const view = page.snap.homes[user];
  $("title").replaceChildren(`Pulse — Home of ${userName(user) ?? user}`);
  const pane = $("pane");
  if (!view) {
    pane.replaceChildren(el("div", "empty", [`Pulse has not published a Home tab for ${userName(user) ?? user} yet.`]));
    return;
  }
  const home = el("div", "home-view", [blocks(view.blocks, ctx({ onAction: clicker({ view_id: view.id }) }))]);
  home.dataset.viewId = view.id;
  home.dataset.hash = view.hash;
  const flags = limitFlags("home", view);
  pane.replaceChildren(...(flags ? [flags] : []), home);
}

function drawThread() {
  const box = $("thread");
  const t = page.thread;
  const parent = t && page.snap.messages.find((m) => m.channel === t.channel && m.ts === t.ts);
  if (!parent) {
    box.hidden = true;
    page.thread = null;
    return;
  }
  const replies = page.snap.messages.filter((m) => m.channel === t.channel && m.thread_ts === t.ts && m.ts !== t.ts);
  const mine = page.snap.ephemerals.filter((e) => e.channel === t.channel && e.thread_ts === t.ts && e.user === page.acting);
  const close = el("button", "thread-close", ["×"]);
  close.type = "button";
  close.title = "Close the thread";
  close.addEventListener("click", () => {
    page.thread = null;
    render();
  });
  box.replaceChildren(
    el("div", "thread-head", [el("strong", null, ["Thread"]), ` in ${channelLabel(t.channel)} `, close]),
    drawMessage(parent, { inThread: true }),
    el("div", "thread-count", [`${replies.length} ${replies.length === 1 ? "reply" : "replies"}`]),
    ...[...replies, ...mine].sort(byTs).map((m) => drawMessage(m, { inThread: true })),
  );
  box.dataset.ts = t.ts;
  box.hidden = false;
}

function submitValues(inputs) {
  const values = {};
  for (const [blockId, { block, control }] of inputs) {
    const e = block.element ?? {};
    const v = { type: e.type };
    const option = (o) => ({ text: { type: "plain_text", text: o.textContent, emoji: true }, value: o.value });
    if (e.type === "multi_static_select") v.selected_options = [...control.selectedOptions].map(option);
    else if (e.type === "static_select") v.selected_option = control.selectedOptions[0] ? option(control.selectedOptions[0]) : null;
    else if (e.type === "plain_text_input") v.value = control.value;
    values[blockId] = { [e.action_id]: v };
  }
  return values;
}

function drawModal() {
  const layer = $("modal-layer");
  // Slack shows a modal only to the person whose trigger opened it: modals opened for triggers
  // the page did not hand out (`pulse slack send`, tests) are in /_fake/modals, not here.
  const open = page.snap.modals.filter((m) => m.user === page.acting);
  const top = open[open.length - 1]?.view;
  if (!top) {
    layer.hidden = true;
    layer.replaceChildren();
    page.modal = null;
    return;
  }
  if (page.modal?.id === top.id && page.modal?.hash === top.hash) return; // keep what is typed
  const inputs = new Map();
  const close = async () => act({ kind: "close", user: page.acting, view_id: top.id });
  const x = el("button", "modal-x", ["×"]);
  x.type = "button";
  x.title = "Close";
  x.addEventListener("click", close);
  const footer = el("div", "modal-footer");
  const closeButton = el("button", "bk-button modal-close", [textObject(top.close ?? { type: "plain_text", text: "Cancel" })]);
  closeButton.type = "button";
  closeButton.addEventListener("click", close);
  footer.append(closeButton);
  const errors = el("div", "modal-errors");
  if (top.submit) {
    const submit = el("button", "bk-button bk-button-primary modal-submit", [textObject(top.submit)]);
    submit.type = "button";
    submit.addEventListener("click", async () => {
      submit.classList.add("bk-pending");
      const outcome = await act({ kind: "submit", user: page.acting, view_id: top.id, values: submitValues(inputs) });
      submit.classList.remove("bk-pending");
      errors.replaceChildren(...Object.entries(outcome.errors ?? {}).map(([block, text]) => el("div", "bk-input-error", [`${block}: ${text}`])));
    });
    footer.append(submit);
  }
  const flags = limitFlags("modal", top);
  const card = el("div", "modal", [
    el("div", "modal-title", [textObject(top.title), x]),
    ...(flags ? [flags] : []),
    el("div", "modal-body", [blocks(top.blocks, ctx({ inputs, onAction: clicker({ view_id: top.id }) }))]),
    errors,
    footer,
  ]);
  card.dataset.viewId = top.id;
  card.dataset.callbackId = top.callback_id ?? "";
  layer.replaceChildren(card);
  layer.hidden = false;
  page.modal = { id: top.id, hash: top.hash };
}

function render() {
  const snap = page.snap;
  if (!snap) return;
  if (!page.acting || !snap.users.some((u) => u.id === page.acting)) page.acting = snap.users[0]?.id ?? null;
  if (!page.where) page.where = page.acting ? { kind: "home", id: page.acting } : { kind: "channel", id: snap.messages[0]?.channel ?? "C0PULSE" };
  drawNav();
  if (page.where.kind === "home") drawHome(page.where.id);
  else drawChannel(page.where.id);
  $("pane").dataset.view = `${page.where.kind}:${page.where.id}`;
  drawThread();
  drawModal();
  const composer = $("composer-input");
  composer.disabled = !snap.stand_in.enabled;
  composer.placeholder = snap.stand_in.enabled
    ? `Type a slash command in ${page.where.kind === "home" ? "your DM with Pulse" : channelLabel(page.where.id)}: /praktika subscribe`
    : `Read-only: ${snap.stand_in.reason}`;
  document.body.dataset.seq = String(snap.seq);
  document.body.dataset.acting = page.acting ?? "";
}

function go(kind, id) {
  page.where = { kind, id };
  page.thread = null;
  if (kind === "home") {
    page.acting = id;
    if (page.snap?.stand_in.enabled) act({ kind: "open_home", user: id });
  }
  render();
}

// ---- Live: the snapshot, redrawn on every change ---------------------------------------------

let fetching = null;
let again = false;
async function refresh() {
  if (fetching) {
    again = true;
    return fetching;
  }
  fetching = (async () => {
    do {
      again = false;
      try {
        const response = await fetch("/_fake/ui/state", { cache: "no-store" });
        page.snap = await response.json();
        render();
      } catch (error) {
        setConn("down", "fake Slack unreachable");
      }
    } while (again);
  })();
  await fetching;
  fetching = null;
}

function connect() {
  const events = new EventSource("/_fake/ui/events");
  events.addEventListener("hello", (event) => {
    const { instance } = JSON.parse(event.data);
    if (page.instance && page.instance !== instance) {
      // The stack restarted: the new fake knows nothing of the old one's messages.
      notice("The fake Slack restarted: showing what the new one has received.");
      page.thread = null;
      page.modal = null;
    }
    page.instance = instance;
    document.body.dataset.instance = instance;
    setConn("live", "live");
    refresh();
  });
  events.addEventListener("change", () => refresh());
  // EventSource reconnects by itself (every few seconds) until the fake is back.
  events.onerror = () => setConn("reconnecting", "reconnecting…");
}

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("composer-input");
  const text = input.value.trim();
  if (!text) return;
  if (!text.startsWith("/")) {
    notice("Pulse only hears slash commands here (start with /).");
    return;
  }
  const channel = page.where.kind === "home" ? `D${page.acting}` : page.where.id;
  input.value = "";
  notice("");
  await act({ kind: "command", user: page.acting, channel, text });
});
$("acting").addEventListener("change", (event) => {
  page.acting = event.target.value;
  if (page.where?.kind === "home") go("home", page.acting);
  else render();
});

connect();
