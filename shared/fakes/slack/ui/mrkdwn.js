// Slack's mrkdwn as DOM nodes. Every piece of text becomes a text node (never HTML), so CI data
// such as a PR title holding `<script>` shows as typed and never runs.
//
// The rules, as Slack applies them:
// - `&amp;`, `&lt;`, `&gt;` are the escaped characters; a raw `<` opens a special token:
//   `<url>`, `<url|label>`, `<@U…>`, `<#C…|name>`, `<!here>`, `<!subteam^S…|@team>`,
//   `<!date^…|fallback>`.
// - `*bold*`, `_italic_`, `~strike~`: a marker opens after a start, space or punctuation and
//   before a non-space, and closes before an end, space or punctuation; they nest.
// - `` `code` `` and ```` ```blocks``` ```` are literal (no formatting, no emoji).
// - Lines starting with `>` are quotes; lines starting with `•`, `-` or `1.` are list items.
// - `:name:` is an emoji: Unicode when known, a visible placeholder for a custom one.

import { emoji } from "./emoji.js";

// An emoji name has a letter in it and does not follow a word character, so times such as
// 17:30:22 stay text.
const EMOJI_CODE = "(?<!\\w):([a-z0-9_+'-]*[a-z][a-z0-9_+'-]*):";
const TOKEN = new RegExp(`<([^<>\\n]+)>|\`([^\`\\n]+)\`|${EMOJI_CODE}`, "gi");
const LINK = /<([^<>\n]+)>/g;
const MARKERS = { "*": "b", _: "i", "~": "s" };

function el(tag, className, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) node.append(child);
  return node;
}

/** Slack's three entities, decoded. */
export function unescapeEntities(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/** `:name:` shortcodes in plain text (`emoji: true`) as nodes. */
export function emojiText(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(new RegExp(EMOJI_CODE, "gi"))) {
    out.push(document.createTextNode(text.slice(last, m.index)));
    out.push(emojiNode(m[1]));
    last = m.index + m[0].length;
  }
  out.push(document.createTextNode(text.slice(last)));
  return out;
}

function emojiNode(name) {
  const unicode = emoji(name);
  if (unicode) {
    const span = el("span", "emoji", [unicode]);
    span.title = `:${name}:`;
    return span;
  }
  const span = el("span", "emoji-custom", [`:${name}:`]);
  span.title = `custom emoji :${name}: (an image in Slack)`;
  return span;
}

function codeParts(code, ctx) {
  const out = [];
  let last = 0;
  for (const m of code.matchAll(LINK)) {
    out.push(document.createTextNode(unescapeEntities(code.slice(last, m.index))));
    out.push(tokenNode([m[0], m[1]], ctx));
    last = m.index + m[0].length;
  }
  out.push(document.createTextNode(unescapeEntities(code.slice(last))));
  return out;
}

function safeHref(url) {
  return /^(https?:|mailto:)/i.test(url) ? url : null;
}

function tokenNode(m, ctx) {
  // Inline code is literal, but Slack still turns its links and mentions into links.
  if (m[2] !== undefined) return el("code", "md-code", codeParts(m[2], ctx));
  if (m[3] !== undefined) return emojiNode(m[3]);
  const inner = m[1];
  const [target, label] = inner.includes("|") ? [inner.slice(0, inner.indexOf("|")), inner.slice(inner.indexOf("|") + 1)] : [inner, null];
  if (target.startsWith("@")) {
    const id = target.slice(1);
    const name = label || ctx.userName?.(id) || id;
    return el("span", "mention mention-user", [`@${unescapeEntities(name)}`]);
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return el("span", "mention mention-channel", [`#${unescapeEntities(label || ctx.channelName?.(id) || id)}`]);
  }
  if (target.startsWith("!")) {
    const command = target.slice(1);
    if (command.startsWith("subteam^")) return el("span", "mention mention-group", [unescapeEntities(label || "@group")]);
    if (command.startsWith("date^")) return el("span", "md-date", [unescapeEntities(label || command)]);
    return el("span", "mention mention-special", [`@${command}`]);
  }
  const href = safeHref(unescapeEntities(target));
  if (!href) return document.createTextNode(unescapeEntities(label || target));
  const a = el("a", "md-link", [unescapeEntities(label || target)]);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

// Formatting over a string whose tokens were replaced by \u0000<index>\u0000 placeholders.
function format(text, tokens) {
  const out = [];
  let i = 0;
  let plain = "";
  const flush = () => {
    if (plain) out.push(...withTokens(plain, tokens));
    plain = "";
  };
  while (i < text.length) {
    const c = text[i];
    if (MARKERS[c] && opens(text, i)) {
      const end = closing(text, i);
      if (end > i + 1) {
        flush();
        out.push(el(MARKERS[c], `md-${MARKERS[c]}`, format(text.slice(i + 1, end), tokens)));
        i = end + 1;
        continue;
      }
    }
    plain += c;
    i += 1;
  }
  flush();
  return out;
}

const BOUNDARY = /[\s.,;:!?()[\]{}'"\u0000-]/;
function opens(text, i) {
  const before = i === 0 ? " " : text[i - 1];
  const after = text[i + 1];
  return BOUNDARY.test(before) && after !== undefined && !/\s/.test(after) && after !== text[i];
}
function closing(text, i) {
  const marker = text[i];
  for (let j = i + 2; j < text.length + 1; j++) {
    if (text[j] === "\n") return -1;
    if (text[j] === marker && !/\s/.test(text[j - 1]) && (j + 1 >= text.length || BOUNDARY.test(text[j + 1]))) return j;
  }
  return -1;
}

function withTokens(text, tokens) {
  return text.split("\u0000").map((part, k) => (k % 2 === 1 ? tokens[Number(part)] : document.createTextNode(unescapeEntities(part))));
}

function inline(line, ctx) {
  const tokens = [];
  const marked = line.replace(TOKEN, (...m) => {
    tokens.push(tokenNode(m, ctx));
    return `\u0000${tokens.length - 1}\u0000`;
  });
  return format(marked, tokens);
}

/** A mrkdwn string as a fragment of nodes. `ctx.userName(id)` and `ctx.channelName(id)` name mentions. */
export function mrkdwn(text, ctx = {}) {
  const root = document.createDocumentFragment();
  const parts = String(text).split("```");
  parts.forEach((part, k) => {
    if (k % 2 === 1 && k < parts.length - 1) {
      root.append(el("pre", "md-pre", [unescapeEntities(part.replace(/^\n/, ""))]));
      return;
    }
    if (k % 2 === 1) part = "```" + part; // an unclosed fence is text
    const lines = part.split("\n");
    let list = null;
    lines.forEach((line, n) => {
      const quote = line.match(/^(?:>|&gt;)\s?(.*)$/);
      const item = line.match(/^\s*(?:[•◦▪-]|\d+\.)\s+(.*)$/);
      if (item) {
        const kind = /^\s*\d/.test(line) ? "OL" : "UL";
        if (!list || list.tagName !== kind) {
          list = el(kind.toLowerCase(), "md-list");
          root.append(list);
        }
        list.append(el("li", null, inline(item[1], ctx)));
        return;
      }
      list = null;
      if (quote) {
        root.append(el("blockquote", "md-quote", inline(quote[1], ctx)));
        return;
      }
      root.append(...inline(line, ctx));
      if (n < lines.length - 1) root.append(el("br"));
    });
  });
  return root;
}
