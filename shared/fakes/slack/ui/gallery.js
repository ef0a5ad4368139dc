// The gallery: each case of gallery.json drawn as the page draws that surface.
import { blocks, limitFlags } from "./blockkit.js";

const ctx = {
  userName: (id) => ({ U0DEMO001: "alice" })[id],
  channelName: (id) => ({ C0CI: "ci" })[id],
  onAction: (e, b, node) => node.closest(".gallery-case").setAttribute("data-clicked", e.action_id ?? ""),
};

const cases = await (await fetch("/ui/gallery.json")).json();
const root = document.getElementById("cases");
for (const c of cases) {
  const section = document.createElement("section");
  section.className = `gallery-case surface-${c.surface}`;
  section.dataset.case = c.name;
  const title = document.createElement("h2");
  title.textContent = c.name;
  section.append(title);
  const flags = limitFlags(c.surface, c.payload);
  if (flags) section.append(flags);
  const body = document.createElement("div");
  body.className = "gallery-body";
  body.append(blocks(c.payload.blocks, ctx));
  section.append(body);
  root.append(section);
}
document.body.dataset.ready = "true";
