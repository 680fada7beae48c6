// Tag suggestions from /api/database/stats for a comma-separated input: the search
// box (search language: `-` negates, a picked tag is made exact with `$`) and the
// tag fields of the edit pages. An ARIA 1.2 combobox with a listbox popup.
(function () {
  "use strict";

  const H = window.Hondana;
  const LIMIT = 8;
  const statsPromises = new Map();

  function loadStats(minweight) {
    let statsPromise = statsPromises.get(minweight);
    if (!statsPromise) {
      statsPromise = H.api("GET", "/api/database/stats?minweight=" + minweight).then(function (reply) {
        const rows = reply.ok && Array.isArray(reply.data) ? reply.data : [];
        const tags = [];
        const namespaces = new Map();
        for (const row of rows) {
          const ns = row.namespace || "";
          const full = ns ? ns + ":" + row.text : row.text;
          tags.push({ full: full, lower: full.toLowerCase(), text: String(row.text).toLowerCase(), ns: ns, weight: row.weight });
          if (ns) namespaces.set(ns, (namespaces.get(ns) || 0) + row.weight);
        }
        tags.sort(function (a, b) { return b.weight - a.weight || a.lower.localeCompare(b.lower); });
        const nsList = Array.from(namespaces, function (pair) { return { ns: pair[0], weight: pair[1] }; });
        nsList.sort(function (a, b) { return b.weight - a.weight; });
        return { tags: tags, namespaces: nsList };
      });
      statsPromises.set(minweight, statsPromise);
    }
    return statsPromise;
  }

  // The token being typed: the text after the last comma, without the search
  // language's leading `-` and `"`.
  function currentToken(value, caret, searchMode) {
    const before = value.slice(0, caret);
    const start = before.lastIndexOf(",") + 1;
    let end = value.indexOf(",", caret);
    if (end === -1) end = value.length;
    let raw = value.slice(start, end);
    const lead = raw.match(/^\s*/)[0].length;
    let prefix = raw.slice(0, lead);
    raw = raw.slice(lead);
    let finished = false;
    if (searchMode) {
      const m = raw.match(/^-?"?/)[0];
      prefix += m;
      raw = raw.slice(m.length);
      // A token closed by `$` or a quote is complete: nothing to suggest.
      finished = /(\$|")\s*$/.test(raw);
    }
    return { start: start, end: end, prefix: prefix, text: raw.trim().toLowerCase(), finished: finished };
  }

  function matches(stats, text) {
    if (!text) return [];
    const out = [];
    const seen = new Set();
    const push = function (item) {
      if (out.length < LIMIT && !seen.has(item.value)) { seen.add(item.value); out.push(item); }
    };
    if (text.indexOf(":") === -1) {
      for (const n of stats.namespaces) {
        if (n.ns.startsWith(text) && n.ns !== text) push({ value: n.ns + ":", label: n.ns + ":", hint: "namespace", partial: true });
        if (out.length >= 3) break;
      }
    }
    for (const tag of stats.tags) {
      if (tag.lower.startsWith(text) || (tag.ns && tag.text.startsWith(text))) push({ value: tag.full, label: tag.full, hint: String(tag.weight) });
      if (out.length >= LIMIT) return out;
    }
    for (const tag of stats.tags) {
      if (tag.lower.indexOf(text) !== -1) push({ value: tag.full, label: tag.full, hint: String(tag.weight) });
      if (out.length >= LIMIT) break;
    }
    return out;
  }

  // attach(input, listbox, {search: true}) wires one combobox.
  H.suggest = function (input, listbox, options) {
    const searchMode = !!(options && options.search);
    // The page says how rare a tag may be and still be suggested (data-minweight).
    const minweight = Math.max(parseInt(input.dataset.minweight || "1", 10) || 1, 1);
    let items = [];
    let active = -1;
    let serial = 0;

    function close() {
      listbox.hidden = true;
      listbox.textContent = "";
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      items = [];
      active = -1;
    }

    function setActive(index) {
      const options = listbox.querySelectorAll('[role="option"]');
      options.forEach(function (node, i) { node.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function render(list) {
      items = list;
      listbox.textContent = "";
      if (!list.length) { close(); return; }
      list.forEach(function (item, i) {
        listbox.append(H.el("li", { id: listbox.id + "-" + i, role: "option", "aria-selected": "false", dataset: { index: String(i) } },
          H.el("span", { class: "suggestion-text", text: item.label }),
          H.el("span", { class: "suggestion-hint", text: item.hint })));
      });
      listbox.hidden = false;
      input.setAttribute("aria-expanded", "true");
      setActive(-1);
    }

    function update() {
      const ticket = ++serial;
      const token = currentToken(input.value, input.selectionStart || input.value.length, searchMode);
      if (!token.text || token.finished) { close(); return; }
      loadStats(minweight).then(function (stats) {
        if (ticket === serial && document.activeElement === input) render(matches(stats, token.text));
      });
    }

    function choose(index) {
      const item = items[index];
      if (!item) return;
      const value = input.value;
      const token = currentToken(value, input.selectionStart || value.length, searchMode);
      let inserted = item.value;
      if (!item.partial) inserted = searchMode ? insertExact(token.prefix, inserted) : token.prefix + inserted;
      else inserted = token.prefix + inserted;
      const after = value.slice(token.end);
      let next = value.slice(0, token.start) + inserted;
      if (!item.partial && !searchMode && !after) next += ", ";
      const caret = next.length;
      input.value = next + after;
      input.setSelectionRange(caret, caret);
      input.dispatchEvent(new Event("input", { bubbles: true }));
      if (item.partial) update(); else close();
    }

    function insertExact(prefix, tag) {
      // A picked tag is searched exactly: `artist:a$` does not also match `artist:ab`.
      const bare = prefix.replace(/"$/, "");
      return bare + tag + "$";
    }

    input.addEventListener("focus", function () { loadStats(minweight); }, { once: true });
    if (input.form) input.form.addEventListener("submit", close);
    input.addEventListener("input", update);
    input.addEventListener("blur", function () { window.setTimeout(close, 120); });
    input.addEventListener("keydown", function (event) {
      if (listbox.hidden) {
        if (event.key === "ArrowDown" && event.altKey) { update(); event.preventDefault(); }
        return;
      }
      if (event.key === "ArrowDown") { setActive(Math.min(active + 1, items.length - 1)); event.preventDefault(); }
      else if (event.key === "ArrowUp") { setActive(Math.max(active - 1, -1)); event.preventDefault(); }
      else if (event.key === "Enter" && active >= 0) { choose(active); event.preventDefault(); }
      else if (event.key === "Escape") { close(); event.preventDefault(); event.stopPropagation(); }
    });
    // mousedown, not click: the input must keep its focus.
    listbox.addEventListener("mousedown", function (event) {
      const option = event.target.closest('[role="option"]');
      if (option) { event.preventDefault(); choose(Number(option.dataset.index)); }
    });
    return { close: close };
  };
})();
