// The library page: searches, tabs and paging go through /api/search (offset
// paging, one page at a time) and update the address bar; the server rendered the
// first page, so nothing here is needed to see it.
(function () {
  "use strict";

  const H = window.Hondana;
  const config = H.data("library-data") || { pagesize: 100, member: false };
  const form = document.getElementById("library-form");
  const grid = document.getElementById("grid");
  const pager = document.getElementById("pager");
  const count = document.getElementById("result-count");
  const tabs = document.getElementById("tabs");
  const input = document.getElementById("filter");
  const randomLink = document.getElementById("random-link");
  const defaults = { filter: "", category: "", sortby: "title", order: "asc", newonly: false, start: 0 };
  let serial = 0;

  H.suggest(input, document.getElementById("filter-suggestions"), { search: true });
  H.lazyImages(grid);
  sizeBars(grid);
  showLocalProgress(grid);

  function stateFromQuery(search) {
    const q = new URLSearchParams(search);
    const category = q.get("category") || "";
    return {
      filter: q.get("filter") || "",
      category: category.length === 14 ? category : "",
      sortby: (q.get("sortby") || "title").trim().toLowerCase() || "title",
      order: q.get("order") === "desc" ? "desc" : "asc",
      newonly: ["1", "true", "on"].indexOf(q.get("newonly")) !== -1,
      start: Math.max(parseInt(q.get("start") || "0", 10) || 0, 0),
    };
  }

  function stateFromForm() {
    return {
      filter: input.value,
      category: form.elements.category.value,
      sortby: form.elements.sortby.value,
      order: form.elements.order.value,
      newonly: form.elements.newonly.checked,
      start: 0,
    };
  }

  function pageQuery(state, changes) {
    const merged = Object.assign({}, state, changes || {});
    const q = new URLSearchParams();
    for (const key of Object.keys(defaults)) {
      if (merged[key] !== defaults[key]) q.set(key, merged[key] === true ? "1" : String(merged[key]));
    }
    return q.toString();
  }

  function apiQuery(state) {
    const q = new URLSearchParams({ filter: state.filter, sortby: state.sortby, order: state.order, start: String(state.start) });
    if (state.category) q.set("category", state.category);
    if (state.newonly) q.set("newonly", "true");
    return q.toString();
  }

  function fillForm(state) {
    input.value = state.filter;
    const sort = form.elements.sortby;
    if (!Array.from(sort.options).some(function (o) { return o.value === state.sortby; })) {
      sort.append(H.el("option", { value: state.sortby, text: state.sortby }));
    }
    sort.value = state.sortby;
    form.elements.order.value = state.order;
    form.elements.newonly.checked = state.newonly;
    form.elements.category.value = state.category;
    form.elements.category.disabled = !state.category;
  }

  // The same card as reader/templates/reader/_card.html, built from API JSON.
  function card(item) {
    const tank = item.arcid.indexOf("TANK_") === 0;
    const pages = item.pagecount || 0;
    const progress = item.progress || 0;
    const percent = pages && progress ? Math.min(Math.round((100 * progress) / pages), 100) : 0;
    const isnew = item.isnew === true || item.isnew === "true";
    const cover = H.el("span", { class: "cover" },
      H.el("img", {
        class: "cover-img", alt: "", width: "203", height: "280", decoding: "async",
        "data-src": "/api/" + (tank ? "tankoubons" : "archives") + "/" + encodeURIComponent(item.arcid) + "/thumbnail",
      }));
    if (isnew) cover.append(H.el("span", { class: "badge badge-new", text: "New" }));
    if (percent) {
      const bar = H.el("span", { class: "cover-progress" });
      bar.style.width = percent + "%";
      cover.append(bar);
    }
    const meta = H.el("p", { class: "card-meta" }, H.el("span", { text: H.plural(pages, "page") }));
    if (tank) meta.append(" ", H.el("span", { text: H.plural(item.archive_count || 0, "volume") }));
    if (progress) meta.append(" ", H.el("span", { text: "read " + progress }));
    if (config.member && !tank) {
      meta.append(" ", H.el("a", { class: "card-edit", href: "/edit?id=" + encodeURIComponent(item.arcid) },
        "Edit", H.el("span", { class: "visually-hidden", text: " " + item.title })));
    }
    const attributes = { class: "card" + (isnew ? " is-new" : "") };
    if (!tank) Object.assign(attributes, { "data-id": item.arcid, "data-pages": String(pages) });
    return H.el("li", attributes,
      H.el("a", { class: "card-link", href: H.readerUrl(item.arcid) },
        cover, H.el("span", { class: "card-title", title: item.title, text: item.title })),
      meta);
  }

  // The server-rendered cards carry the width of their progress bar in data-percent:
  // the page's Content-Security-Policy refuses style attributes (CSSOM writes are fine).
  function sizeBars(root) {
    root.querySelectorAll(".cover-progress[data-percent]").forEach(function (bar) {
      bar.style.width = bar.dataset.percent + "%";
    });
  }

  // Progress the reader kept in this browser (the server does not track it for this
  // visitor): the same bar and "read N" as server-side progress.
  function showLocalProgress(root) {
    if (!config.localProgress) return;
    root.querySelectorAll("li.card[data-id]").forEach(function (li) {
      const page = Number(H.store.get("hondana.progress." + li.dataset.id, 0)) || 0;
      const pages = Number(li.dataset.pages) || 0;
      if (page <= 0 || li.querySelector(".local-progress")) return;
      const bar = H.el("span", { class: "cover-progress local-progress" });
      bar.style.width = (pages ? Math.min(Math.round((100 * page) / pages), 100) : 0) + "%";
      li.querySelector(".cover").append(bar);
      li.querySelector(".card-meta").append(" ", H.el("span", { class: "local-progress", text: "read " + page }));
    });
  }

  // The same links as reader.selectors.pager.
  function renderPager(state, filtered) {
    pager.textContent = "";
    const size = Math.max(config.pagesize, 1);
    const pages = Math.max(Math.ceil(filtered / size), 1);
    if (pages <= 1) return;
    const current = Math.floor(state.start / size) + 1;
    const href = function (start) { return "?" + pageQuery(state, { start: start }); };
    const step = function (label, start, rel) {
      return start === null
        ? H.el("span", { class: "pager-step", "aria-disabled": "true", text: label })
        : H.el("a", { class: "pager-step", href: href(start), rel: rel, text: label });
    };
    pager.append(step("← Previous", state.start > 0 ? Math.max(state.start - size, 0) : null, "prev"));
    const list = H.el("ol", { class: "pager-pages" });
    const numbers = new Set([1, pages]);
    for (let n = Math.max(current - 2, 1); n <= Math.min(current + 2, pages); n++) numbers.add(n);
    let previous = 0;
    Array.from(numbers).sort(function (a, b) { return a - b; }).forEach(function (n) {
      if (n > previous + 1) list.append(H.el("li", { class: "pager-gap", "aria-hidden": "true", text: "…" }));
      list.append(H.el("li", null, H.el("a", { href: href((n - 1) * size), "aria-current": n === current ? "page" : null },
        H.el("span", { class: "visually-hidden", text: "Page " }), String(n))));
      previous = n;
    });
    pager.append(list, step("Next →", state.start + size < filtered ? state.start + size : null, "next"));
  }

  function renderCount(state, shown, filtered, total) {
    if (!filtered) { count.textContent = "Nothing matches this search."; return; }
    const n = function (value) { return value.toLocaleString("en-US"); };
    let text = n(state.start + 1) + "–" + n(state.start + shown) + " of " + n(filtered);
    if (filtered !== total) text += " matching (" + n(total) + " in the library)";
    count.textContent = text;
  }

  function renderTabs(state) {
    tabs.querySelectorAll("a[data-category]").forEach(function (a) {
      const id = a.dataset.category;
      a.href = "?" + pageQuery(state, { category: id, start: 0 });
      if (id === state.category) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    });
  }

  function renderLinks(state) {
    const qs = pageQuery(state, { start: 0 });
    randomLink.href = "/random" + (qs ? "?" + qs : "");
    const batch = document.getElementById("batch-link");
    if (batch) batch.href = "/batch" + (qs ? "?" + qs : "");
    document.title = (state.filter ? state.filter + " · " : "") + "Library · Hondana";
  }

  async function navigate(state, push) {
    const ticket = ++serial;
    grid.setAttribute("aria-busy", "true");
    const reply = await H.api("GET", "/api/search?" + apiQuery(state));
    if (ticket !== serial) return;
    grid.setAttribute("aria-busy", "false");
    if (!reply.ok || !reply.data) {
      count.textContent = "The search failed: " + reply.error;
      return;
    }
    const data = reply.data;
    if (!data.data.length && state.start > 0 && data.recordsFiltered > 0) {
      // A page past the end (the library shrank): show the last one instead.
      const size = Math.max(config.pagesize, 1);
      return navigate(Object.assign({}, state, { start: Math.floor((data.recordsFiltered - 1) / size) * size }), push);
    }
    grid.textContent = "";
    const fragment = document.createDocumentFragment();
    data.data.forEach(function (item) { fragment.append(card(item)); });
    grid.append(fragment);
    showLocalProgress(grid);
    const empty = document.getElementById("empty");
    if (empty) empty.hidden = data.data.length > 0;
    H.lazyImages(grid);
    renderCount(state, data.data.length, data.recordsFiltered, data.recordsTotal);
    renderPager(state, data.recordsFiltered);
    renderTabs(state);
    renderLinks(state);
    const qs = pageQuery(state);
    if (push) history.pushState(state, "", qs ? "?" + qs : location.pathname);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    navigate(stateFromForm(), true);
  });
  ["sortby", "order", "newonly"].forEach(function (name) {
    form.elements[name].addEventListener("change", function () { navigate(stateFromForm(), true); });
  });

  tabs.addEventListener("click", function (event) {
    const link = event.target.closest("a[data-category]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    form.elements.category.value = link.dataset.category;
    form.elements.category.disabled = !link.dataset.category;
    navigate(stateFromForm(), true);
  });

  pager.addEventListener("click", function (event) {
    const link = event.target.closest("a[href]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    const state = stateFromQuery(new URL(link.href).search);
    navigate(state, true).then(function () {
      count.scrollIntoView({ block: "start" });
      count.setAttribute("tabindex", "-1");
      count.focus({ preventScroll: true });
    });
  });

  randomLink.addEventListener("click", async function (event) {
    if (event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    const state = stateFromForm();
    const q = new URLSearchParams({ count: "1", filter: state.filter });
    if (state.category) q.set("category", state.category);
    if (state.newonly) q.set("newonly", "true");
    const reply = await H.api("GET", "/api/search/random?" + q.toString());
    if (reply.ok && reply.data && reply.data.data.length) location.href = H.readerUrl(reply.data.data[0].arcid);
    else if (reply.ok) H.announce("Nothing to pick from: no archive matches this search.");
    else location.href = randomLink.href;
  });

  // Back from the reader, the browser may show this page from its back/forward cache,
  // as it was: the archive just opened would still be "new" and unread. Reload the
  // cards of the page (one search) to show what changed meanwhile.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) navigate(stateFromQuery(location.search), false);
  });

  window.addEventListener("popstate", function () {
    const state = stateFromQuery(location.search);
    fillForm(state);
    navigate(state, false);
  });
  history.replaceState(stateFromQuery(location.search), "");
})();
