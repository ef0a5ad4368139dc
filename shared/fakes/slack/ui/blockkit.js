// Block Kit as Slack draws it: the blocks and elements Pulse sends, each as DOM built from text
// nodes. A block or element this renderer does not know is shown as a visible "unsupported"
// marker naming its type, never dropped.
//
// ctx: { onAction(element, block), userName(id), channelName(id), inputs (Map, modals only) }

import { mrkdwn, emojiText } from "./mrkdwn.js";
import { check } from "./limits.js";

function el(tag, className, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) node.append(child);
  return node;
}

/** A text object (`plain_text` or `mrkdwn`) as nodes. */
export function textObject(obj, ctx) {
  if (!obj) return document.createTextNode("");
  if (obj.type === "mrkdwn") return mrkdwn(obj.text ?? "", ctx);
  const frag = document.createDocumentFragment();
  frag.append(...(obj.emoji === false ? [document.createTextNode(obj.text ?? "")] : emojiText(obj.text ?? "")));
  return frag;
}

function unsupported(kind, type) {
  const node = el("div", "bk-unsupported", [`Unsupported ${kind}: ${type ?? "(no type)"}`]);
  node.dataset.unsupported = type ?? "";
  return node;
}

function button(e, block, ctx) {
  const node = el("button", `bk-button${e.style ? ` bk-button-${e.style}` : ""}`, [textObject(e.text, ctx)]);
  node.type = "button";
  node.dataset.actionId = e.action_id ?? "";
  if (e.value !== undefined) node.dataset.value = e.value;
  if (e.url) node.dataset.url = e.url;
  node.addEventListener("click", () => confirmThen(e.confirm, ctx, () => ctx.onAction?.(e, block, node)));
  return node;
}

/** Runs `go` at once, or after the person confirms in Slack's confirmation dialog. */
function confirmThen(confirm, ctx, go) {
  if (!confirm) return go();
  const button = (text, className) => {
    const b = el("button", className, [textObject(text, ctx)]);
    b.type = "button";
    return b;
  };
  const deny = button(confirm.deny ?? { type: "plain_text", text: "Cancel" }, "bk-button confirm-deny");
  const ok = button(confirm.confirm ?? { type: "plain_text", text: "Yes" }, `bk-button bk-button-${confirm.style ?? "primary"} confirm-ok`);
  const layer = el("div", "modal-layer confirm-layer", [
    el("div", "modal confirm", [
      el("div", "modal-title", [textObject(confirm.title ?? { type: "plain_text", text: "Are you sure?" }, ctx)]),
      el("div", "modal-body", [textObject(confirm.text, ctx)]),
      el("div", "modal-footer", [deny, ok]),
    ]),
  ]);
  layer.dataset.confirm = "true";
  document.body.append(layer);
  deny.addEventListener("click", () => layer.remove());
  ok.addEventListener("click", () => {
    layer.remove();
    go();
  });
}

function select(e, ctx, multiple) {
  const node = el("select", `bk-select${multiple ? " bk-multi" : ""}`);
  node.multiple = multiple;
  node.dataset.actionId = e.action_id ?? "";
  const initial = new Set((e.initial_options ?? (e.initial_option ? [e.initial_option] : [])).map((o) => o.value));
  for (const o of e.options ?? []) {
    const option = el("option", null, [textObject(o.text, ctx)]);
    option.value = o.value ?? "";
    option.selected = initial.has(o.value);
    node.append(option);
  }
  if (e.placeholder) node.title = e.placeholder.text ?? "";
  return node;
}

/** An interactive element (an accessory, an actions element, an input's element). */
export function element(e, block, ctx) {
  switch (e?.type) {
    case "button":
      return button(e, block, ctx);
    case "multi_static_select":
      return select(e, ctx, true);
    case "static_select":
      return select(e, ctx, false);
    case "plain_text_input": {
      const input = el(e.multiline ? "textarea" : "input", "bk-text-input");
      input.dataset.actionId = e.action_id ?? "";
      if (e.initial_value) input.value = e.initial_value;
      return input;
    }
    case "image": {
      const img = el("span", "bk-image", [`[image: ${e.alt_text ?? ""}]`]);
      return img;
    }
    default:
      return unsupported("element", e?.type);
  }
}

const BLOCKS = {
  header(b, ctx) {
    return el("div", "bk-header", [textObject(b.text, ctx)]);
  },
  section(b, ctx) {
    const body = el("div", "bk-section-body");
    if (b.text) body.append(el("div", "bk-section-text", [textObject(b.text, ctx)]));
    if (Array.isArray(b.fields)) body.append(el("div", "bk-fields", b.fields.map((f) => el("div", "bk-field", [textObject(f, ctx)]))));
    const node = el("div", "bk-section", [body]);
    if (b.accessory) node.append(el("div", "bk-accessory", [element(b.accessory, b, ctx)]));
    return node;
  },
  context(b, ctx) {
    return el("div", "bk-context", (b.elements ?? []).map((e) => (e.type === "image" ? element(e, b, ctx) : el("span", "bk-context-item", [textObject(e, ctx)]))));
  },
  actions(b, ctx) {
    return el("div", "bk-actions", (b.elements ?? []).map((e) => element(e, b, ctx)));
  },
  divider() {
    return el("hr", "bk-divider");
  },
  input(b, ctx) {
    const control = element(b.element, b, ctx);
    ctx.inputs?.set(b.block_id, { block: b, control });
    const label = el("label", "bk-input-label", [textObject(b.label, ctx)]);
    if (b.optional) label.append(el("span", "bk-optional", [" (optional)"]));
    const node = el("div", "bk-input", [label, control]);
    if (b.hint) node.append(el("div", "bk-hint", [textObject(b.hint, ctx)]));
    return node;
  },
  image(b) {
    return el("div", "bk-image-block", [`[image: ${b.alt_text ?? ""}]`]);
  },
};

/** The blocks of a surface, with any limit they break flagged above them. */
export function blocks(list, ctx) {
  const frag = document.createDocumentFragment();
  for (const b of list ?? []) {
    const render = BLOCKS[b?.type];
    const node = render ? render(b, ctx) : unsupported("block", b?.type);
    node.classList.add("bk-block");
    node.dataset.blockType = b?.type ?? "";
    if (b?.block_id) node.dataset.blockId = b.block_id;
    frag.append(node);
  }
  return frag;
}

/** Limit findings for a payload, as a visible flag (or null when it keeps every limit). */
export function limitFlags(surface, payload) {
  const found = check(surface, payload);
  if (found.length === 0) return null;
  const list = el("ul", "bk-limits", found.map((f) => el("li", null, [`${f.path}: ${f.limit}`])));
  return el("div", "bk-limit-flag", [el("strong", null, ["Breaks Slack's limits"]), list]);
}
