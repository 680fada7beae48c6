// Batch tag editor: collect every archive of the search first (page by page, with
// its tags), then rewrite the tags of each one that changes through PUT /metadata.
// Collecting first matters: removing a tag the search matches on would otherwise
// shift the offsets of the pages still to read.
(function () {
  "use strict";

  const H = window.Hondana;
  const data = H.data("batch-data");
  const form = document.getElementById("batch-form");
  if (!form) return;
  const progress = document.getElementById("batch-progress");
  const status = document.getElementById("batch-status");
  const run = document.getElementById("batch-run");
  const WORKERS = 3;

  H.suggest(form.elements.add, document.getElementById("add-suggestions"), { search: false });
  H.suggest(form.elements.remove, document.getElementById("remove-suggestions"), { search: false });

  function parse(text) {
    return text.split(",").map(function (t) { return t.trim(); }).filter(Boolean);
  }

  function removes(tag, patterns) {
    const lower = tag.toLowerCase();
    return patterns.some(function (p) {
      const pattern = p.toLowerCase();
      if (pattern.endsWith(":*")) return lower.startsWith(pattern.slice(0, -1));
      return lower === pattern;
    });
  }

  // The new tag string, or null when nothing changes.
  function edit(tagString, add, remove) {
    const before = parse(tagString || "");
    const kept = before.filter(function (t) { return !removes(t, remove); });
    const have = new Set(kept.map(function (t) { return t.toLowerCase(); }));
    for (const tag of add) {
      if (!have.has(tag.toLowerCase())) { kept.push(tag); have.add(tag.toLowerCase()); }
    }
    const after = kept.join(",");
    return after === before.join(",") ? null : after;
  }

  async function collect() {
    const items = [];
    let start = 0;
    for (;;) {
      const q = new URLSearchParams({ filter: data.filter, groupby_tanks: "false", start: String(start) });
      if (data.category) q.set("category", data.category);
      if (data.newonly) q.set("newonly", "true");
      const reply = await H.api("GET", "/api/search?" + q.toString());
      if (!reply.ok) throw new Error(reply.error);
      const page = reply.data.data;
      for (const item of page) if (item.arcid.indexOf("TANK_") !== 0) items.push(item);
      H.status(status, "Finding archives: " + items.length + " of " + reply.data.recordsFiltered + "…");
      start += page.length;
      if (!page.length || start >= reply.data.recordsFiltered) return items;
    }
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const add = parse(form.elements.add.value);
    const remove = parse(form.elements.remove.value);
    if (!add.length && !remove.length) {
      H.status(status, "Type tags to add or to remove first.", "error");
      return;
    }
    run.disabled = true;
    let items;
    try {
      items = await collect();
    } catch (err) {
      H.status(status, "The search failed: " + err.message, "error");
      run.disabled = false;
      return;
    }
    progress.max = Math.max(items.length, 1);
    progress.value = 0;
    progress.hidden = false;
    let changed = 0, unchanged = 0, done = 0;
    const failed = [];
    let next = 0;
    async function worker() {
      while (next < items.length) {
        const item = items[next++];
        const tags = edit(item.tags, add, remove);
        if (tags === null) unchanged += 1;
        else {
          const reply = await H.api("PUT", "/api/archives/" + encodeURIComponent(item.arcid) + "/metadata", { tags: tags });
          if (reply.ok) changed += 1; else failed.push(item.title + ": " + reply.error);
        }
        done += 1;
        progress.value = done;
        H.status(status, "Working: " + done + " of " + items.length + "…");
      }
    }
    const workers = [];
    for (let i = 0; i < WORKERS; i++) workers.push(worker());
    await Promise.all(workers);
    let text = H.plural(changed, "archive") + " changed, " + unchanged + " already right";
    if (failed.length) text += ", " + failed.length + " failed (" + failed.slice(0, 3).join("; ") + ")";
    H.status(status, text + ".", failed.length ? "error" : "ok");
    run.disabled = false;
  });
})();
