// Slack's documented Block Kit limits, checked on what the page shows. Written apart from
// Pulse's own limits code (shared/slack/src/blocks/limits.rs) on purpose: a second reading of
// Slack's documentation that catches what the first got wrong. Each finding names the limit.

const len = (s) => [...String(s ?? "")].length;

/** The limits one payload breaks: `[{path, limit}]`, `limit` saying which and by how much. */
export function check(surface, payload) {
  const found = [];
  const over = (path, what, max, n) => {
    if (n > max) found.push({ path, limit: `${what} is at most ${max} (this one has ${n})` });
  };
  const text = (path, obj, what, max) => {
    if (obj && typeof obj === "object") over(`${path}.text`, `${what} text`, max, len(obj.text));
  };
  const blocks = payload?.blocks ?? [];
  if (surface === "message") {
    over("blocks", "a message's blocks", 50, blocks.length);
    over("text", "a message's text", 40000, len(payload?.text));
  } else {
    over("blocks", `a ${surface} view's blocks`, 100, blocks.length);
    over("private_metadata", "private_metadata", 3000, len(payload?.private_metadata));
    over("callback_id", "callback_id", 255, len(payload?.callback_id));
    if (surface === "modal") {
      text("title", payload?.title, "a modal's title", 24);
      text("submit", payload?.submit, "a modal's submit button", 24);
      text("close", payload?.close, "a modal's close button", 24);
    }
  }
  const element = (path, e) => {
    if (!e || typeof e !== "object") return;
    over(`${path}.action_id`, "action_id", 255, len(e.action_id));
    if (e.type === "button") {
      text(path, e.text, "a button's", 75);
      over(`${path}.value`, "a button's value", 2000, len(e.value));
      over(`${path}.url`, "a button's url", 3000, len(e.url));
      if (e.style !== undefined && e.style !== "primary" && e.style !== "danger") {
        found.push({ path: `${path}.style`, limit: `a button's style is primary or danger (this one is ${e.style})` });
      }
    }
    if (Array.isArray(e.options)) {
      over(`${path}.options`, "a select's options", 100, e.options.length);
      e.options.forEach((o, k) => {
        text(`${path}.options[${k}]`, o.text, "an option's", 75);
        over(`${path}.options[${k}].value`, "an option's value", 150, len(o.value));
      });
    }
    text(`${path}.placeholder`, e.placeholder, "a placeholder's", 150);
    if (e.confirm) {
      text(`${path}.confirm.title`, e.confirm.title, "a confirmation's title", 100);
      text(`${path}.confirm.text`, e.confirm.text, "a confirmation's", 300);
      text(`${path}.confirm.confirm`, e.confirm.confirm, "a confirmation's confirm button", 30);
      text(`${path}.confirm.deny`, e.confirm.deny, "a confirmation's deny button", 30);
    }
  };
  blocks.forEach((b, k) => {
    const path = `blocks[${k}]`;
    over(`${path}.block_id`, "block_id", 255, len(b.block_id));
    switch (b.type) {
      case "header":
        text(path, b.text, "a header's", 150);
        break;
      case "section":
        text(path, b.text, "a section's", 3000);
        if (Array.isArray(b.fields)) {
          over(`${path}.fields`, "a section's fields", 10, b.fields.length);
          b.fields.forEach((f, n) => text(`${path}.fields[${n}]`, f, "a field's", 2000));
        }
        element(`${path}.accessory`, b.accessory);
        break;
      case "context":
        over(`${path}.elements`, "a context block's elements", 10, (b.elements ?? []).length);
        break;
      case "actions":
        over(`${path}.elements`, "an actions block's elements", 25, (b.elements ?? []).length);
        (b.elements ?? []).forEach((e, n) => element(`${path}.elements[${n}]`, e));
        break;
      case "input":
        text(`${path}.label`, b.label, "an input's label", 2000);
        text(`${path}.hint`, b.hint, "an input's hint", 2000);
        element(`${path}.element`, b.element);
        break;
      default:
        break;
    }
  });
  return found;
}
