// The reader: single page, double page (the first page alone, then pairs) and
// vertical continuous; left-to-right or right-to-left; four fits. Progress goes to
// the server when it tracks progress (/api/info server_tracks_progress, passed in
// by the page) and to localStorage otherwise; the new flag is cleared on open.
(function () {
  "use strict";

  const H = window.Hondana;
  const data = H.data("reader-data");
  const app = document.getElementById("reader");
  const stage = document.getElementById("stage");
  const spreadEl = document.getElementById("spread");
  const webtoonEl = document.getElementById("webtoon");
  const statusEl = document.getElementById("stage-status");
  const slider = document.getElementById("page-slider");
  const pageCurrent = document.getElementById("page-current");
  const tocMarks = document.getElementById("toc-marks");
  const chapterSelect = document.getElementById("chapter-select");
  const settingsDialog = document.getElementById("settings-dialog");
  const overviewDialog = document.getElementById("overview-dialog");
  const overviewGrid = document.getElementById("overview-grid");
  const overviewStatus = document.getElementById("overview-status");
  const fullscreenButton = document.getElementById("btn-fullscreen");

  const SETTINGS_KEY = "hondana.reader.settings";
  const PROGRESS_KEY = "hondana.progress." + data.id;
  const CHOICES = { mode: ["single", "double", "webtoon"], dir: ["ltr", "rtl"], fit: ["screen", "width", "height", "original"] };
  const PRELOAD_AHEAD = 3;
  const api = "/api/archives/" + encodeURIComponent(data.id);

  const settings = { mode: "single", dir: "ltr", fit: "screen" };
  const saved = H.store.get(SETTINGS_KEY, {});
  for (const key of Object.keys(CHOICES)) {
    if (saved && CHOICES[key].indexOf(saved[key]) !== -1) settings[key] = saved[key];
  }
  const toc = (data.toc || []).filter(function (e) { return e && e.page >= 1; }).sort(function (a, b) { return a.page - b.page; });

  let pages = [];
  let current = 1; // first page on screen
  let shown = [];
  const preloaded = new Map();

  // --- pages and spreads ---------------------------------------------------------------

  function total() { return pages.length; }
  function clamp(page) { return Math.min(Math.max(page, 1), Math.max(total(), 1)); }
  function isDouble() { return settings.mode === "double"; }

  function spreadStart(page) {
    page = clamp(page);
    if (!isDouble() || page <= 1) return page;
    return page % 2 === 0 ? page : page - 1;
  }

  function spreadPages(start) {
    if (!isDouble() || start === 1 || start + 1 > total()) return [start];
    return [start, start + 1];
  }

  function next() {
    if (settings.mode === "webtoon") return go(current + 1);
    const following = isDouble() ? (current === 1 ? 2 : current + 2) : current + 1;
    if (following <= total()) go(following);
    else H.announce("This is the last page.");
  }

  function previous() {
    if (settings.mode === "webtoon") return go(current - 1);
    if (current <= 1) { H.announce("This is the first page."); return; }
    go(isDouble() ? (current <= 2 ? 1 : current - 2) : current - 1);
  }

  function go(page) {
    if (!total()) return;
    page = clamp(page);
    if (settings.mode === "webtoon") {
      const target = webtoonEl.querySelector('[data-page="' + page + '"]');
      if (target) target.scrollIntoView({ block: "start" });
      setCurrent([page]);
      return;
    }
    showSpread(spreadStart(page));
  }

  function pageImage(n, eager) {
    const img = H.el("img", { class: "page-img", alt: "Page " + n, decoding: "async", draggable: "false" });
    if (eager) img.src = pages[n - 1];
    img.addEventListener("error", function () {
      const retry = H.el("button", { type: "button", class: "button page-retry", text: "Page " + n + " could not be loaded. Try again" });
      retry.addEventListener("click", function (event) {
        event.stopPropagation();
        const again = pageImage(n, false);
        again.src = pages[n - 1] + (pages[n - 1].indexOf("?") === -1 ? "?" : "&") + "retry=" + Date.now();
        retry.replaceWith(again);
      });
      img.replaceWith(retry);
    });
    return img;
  }

  function showSpread(start) {
    const list = spreadPages(start);
    spreadEl.textContent = "";
    spreadEl.classList.toggle("two", list.length === 2);
    let pending = list.length;
    const loadingTimer = window.setTimeout(function () {
      if (pending) { statusEl.textContent = "Loading page " + list.join("–") + "…"; statusEl.hidden = false; }
    }, 300);
    for (const n of list) {
      const img = pageImage(n, true);
      const done = function () {
        pending -= 1;
        if (!pending) { window.clearTimeout(loadingTimer); statusEl.hidden = true; }
      };
      img.addEventListener("load", done, { once: true });
      img.addEventListener("error", done, { once: true });
      spreadEl.append(img);
    }
    stage.scrollTo(0, 0);
    setCurrent(list);
    preload(list[list.length - 1]);
  }

  function preload(last) {
    for (let n = last + 1; n <= Math.min(last + PRELOAD_AHEAD, total()); n++) {
      if (!preloaded.has(n)) {
        const img = new Image();
        img.decoding = "async";
        img.src = pages[n - 1];
        preloaded.set(n, img);
      }
    }
    if (preloaded.size > 40) {
      // Keep references only near the current page; the browser cache keeps the bytes.
      for (const n of Array.from(preloaded.keys())) if (Math.abs(n - last) > 10) preloaded.delete(n);
    }
  }

  function setCurrent(list) {
    shown = list;
    current = list[0];
    pageCurrent.textContent = list.length === 2 ? list[0] + "–" + list[1] : String(list[0]);
    slider.value = String(current);
    app.dataset.currentPage = String(current);
    if (chapterSelect) {
      const chapter = chapterAt(list[list.length - 1]);
      if (chapter) chapterSelect.value = String(chapter.page);
    }
    scheduleSave(list[list.length - 1]);
  }

  function chapterAt(page) {
    let found = null;
    for (const entry of toc) if (entry.page <= page) found = entry;
    return found;
  }

  // --- vertical continuous ---------------------------------------------------------------

  let webtoonBuilt = false;
  let webtoonLoader = null;
  let webtoonTracker = null;

  function buildWebtoon() {
    webtoonBuilt = true;
    webtoonEl.textContent = "";
    webtoonLoader = new IntersectionObserver(function (entries) {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        webtoonLoader.unobserve(entry.target);
        const box = entry.target;
        const n = Number(box.dataset.page);
        const img = pageImage(n, false);
        img.addEventListener("load", function () {
          // A page above the viewport that grows or shrinks would move what is being
          // read; scroll by the difference so that the view stays put.
          const before = box.getBoundingClientRect();
          box.classList.add("is-loaded");
          const after = box.getBoundingClientRect();
          if (before.bottom <= stage.getBoundingClientRect().top) stage.scrollTop += after.height - before.height;
        }, { once: true });
        img.src = pages[n - 1];
        box.append(img);
      }
    }, { root: stage, rootMargin: "1500px 0px" });
    webtoonTracker = new IntersectionObserver(function (entries) {
      for (const entry of entries) {
        if (entry.isIntersecting) {
          const n = Number(entry.target.dataset.page);
          if (n !== current) setCurrent([n]);
        }
      }
    }, { root: stage, rootMargin: "-45% 0px -55% 0px" });
    pages.forEach(function (url, i) {
      const box = H.el("div", { class: "webtoon-page", dataset: { page: String(i + 1) } });
      webtoonEl.append(box);
      webtoonLoader.observe(box);
      webtoonTracker.observe(box);
    });
  }

  // --- settings ---------------------------------------------------------------------------

  function applySettings() {
    app.dataset.mode = settings.mode;
    app.dataset.dir = settings.dir;
    app.dataset.fit = settings.fit;
    for (const key of Object.keys(CHOICES)) {
      const radio = settingsDialog.querySelector('input[name="' + key + '"][value="' + settings[key] + '"]');
      if (radio) radio.checked = true;
    }
    if (!total()) return;
    const keep = current;
    if (settings.mode === "webtoon") {
      spreadEl.hidden = true;
      spreadEl.textContent = "";
      webtoonEl.hidden = false;
      if (!webtoonBuilt) buildWebtoon();
      window.requestAnimationFrame(function () { go(keep); });
    } else {
      webtoonEl.hidden = true;
      spreadEl.hidden = false;
      showSpread(spreadStart(keep));
    }
  }

  settingsDialog.addEventListener("change", function (event) {
    const input = event.target;
    if (!input.name || !CHOICES[input.name]) return;
    settings[input.name] = input.value;
    H.store.set(SETTINGS_KEY, settings);
    applySettings();
  });

  // --- progress ---------------------------------------------------------------------------

  // With authenticated progress, a visitor who is not logged in keeps progress locally
  // rather than collecting a 401 on every page turn.
  const onServer = data.serverTracksProgress && !(data.authenticatedProgress && !data.member);
  let saveTimer = null;
  let pendingPage = 0;
  let lastSaved = onServer ? data.progress : H.store.get(PROGRESS_KEY, 0);

  function scheduleSave(page) {
    pendingPage = page;
    window.clearTimeout(saveTimer);
    saveTimer = window.setTimeout(function () { save(page); }, 400);
  }

  async function save(page) {
    pendingPage = 0;
    if (page === lastSaved) return;
    lastSaved = page;
    if (onServer) {
      const reply = await H.api("PUT", api + "/progress/" + page);
      app.dataset.savedPage = String(page);
      // 423: another write holds the archive; the next page turn saves again.
      if (reply.ok || reply.status === 423) return;
    }
    H.store.set(PROGRESS_KEY, page);
    app.dataset.savedPage = String(page);
  }

  window.addEventListener("pagehide", function () {
    if (!pendingPage || pendingPage === lastSaved) return;
    if (onServer) {
      fetch(api + "/progress/" + pendingPage, {
        method: "PUT", keepalive: true, credentials: "same-origin", headers: { "X-CSRFToken": H.csrf() },
      });
    } else {
      H.store.set(PROGRESS_KEY, pendingPage);
    }
  });

  function startPage() {
    if (data.startPage > 0) return data.startPage;
    const local = H.store.get(PROGRESS_KEY, 0);
    if (onServer && data.progress > 0) return data.progress;
    return local > 0 ? local : 1;
  }

  // --- overview of page thumbnails ---------------------------------------------------------

  let overviewBuilt = false;
  let thumbsAll = false; // every thumbnail exists (or the job ended)
  let thumbsFallback = false; // the job failed: take the placeholder for what is missing
  const thumbsReady = new Set();
  const thumbsVisible = new Set();

  function thumbUrl(n) {
    return api + "/thumbnail?page=" + n + (thumbsFallback ? "" : "&no_fallback=true");
  }

  function loadThumb(n) {
    const img = overviewGrid.querySelector(':scope > li[data-page="' + n + '"] img');
    if (!img || img.dataset.loaded) return;
    if (!thumbsAll && !thumbsReady.has(n)) return;
    img.dataset.loaded = "1";
    img.addEventListener("error", function () {
      // 202 (a job was queued) is JSON, not an image: show the placeholder.
      img.src = api + "/thumbnail?page=" + n;
    }, { once: true });
    img.src = thumbUrl(n);
  }

  function refreshThumbs() { thumbsVisible.forEach(loadThumb); }

  function buildOverview() {
    overviewBuilt = true;
    const chapterStarts = new Map(toc.map(function (e) { return [e.page, e.name]; }));
    const observer = new IntersectionObserver(function (entries) {
      for (const entry of entries) {
        const n = Number(entry.target.dataset.page);
        if (entry.isIntersecting) { thumbsVisible.add(n); loadThumb(n); } else thumbsVisible.delete(n);
      }
    }, { root: overviewDialog, rootMargin: "300px 0px" });
    for (let n = 1; n <= total(); n++) {
      const chapter = chapterStarts.get(n);
      const button = H.el("button", { type: "button", class: "overview-item", dataset: { page: String(n) } },
        H.el("span", { class: "thumb-box" }, H.el("img", { alt: "", width: "100", height: "140", decoding: "async" })),
        H.el("span", { class: "thumb-label" }, H.el("span", { class: "visually-hidden", text: "Page " }), String(n)),
        chapter ? H.el("span", { class: "thumb-chapter", text: chapter }) : null);
      const item = H.el("li", { dataset: { page: String(n) } }, button);
      overviewGrid.append(item);
      observer.observe(item);
    }
    requestThumbs();
  }

  async function requestThumbs() {
    const reply = await H.api("POST", api + "/files/thumbnails");
    if (reply.status === 202 && reply.data && reply.data.job) {
      H.status(overviewStatus, "Making page thumbnails…");
      pollJob(reply.data.job);
    } else {
      thumbsAll = true;
      thumbsFallback = !reply.ok;
      refreshThumbs();
    }
  }

  async function pollJob(job) {
    const reply = await H.api("GET", "/api/minion/" + encodeURIComponent(job));
    if (!reply.ok || !reply.data) {
      thumbsAll = thumbsFallback = true;
      H.status(overviewStatus, "");
      refreshThumbs();
      return;
    }
    const notes = reply.data.notes || {};
    for (const key of Object.keys(notes)) if (/^\d+$/.test(key) && notes[key] === "processed") thumbsReady.add(Number(key));
    const totalPages = Number(notes.total_pages) || total();
    if (reply.data.state === "finished" || reply.data.state === "failed") {
      thumbsAll = true;
      thumbsFallback = reply.data.state === "failed";
      H.status(overviewStatus, "");
    } else {
      H.status(overviewStatus, "Making page thumbnails: " + thumbsReady.size + " of " + totalPages);
      window.setTimeout(function () { pollJob(job); }, 1000);
    }
    refreshThumbs();
  }

  function markOverviewCurrent() {
    if (!overviewBuilt) return;
    overviewGrid.querySelectorAll(".overview-item").forEach(function (button) {
      const n = Number(button.dataset.page);
      if (shown.indexOf(n) !== -1) button.setAttribute("aria-current", "page"); else button.removeAttribute("aria-current");
    });
  }

  function openOverview() {
    if (!total()) return;
    if (!overviewBuilt) buildOverview();
    markOverviewCurrent();
    overviewDialog.showModal();
    const here = overviewGrid.querySelector('.overview-item[data-page="' + current + '"]');
    if (here) { here.scrollIntoView({ block: "center" }); here.focus(); }
  }

  overviewGrid.addEventListener("click", function (event) {
    const button = event.target.closest(".overview-item");
    if (!button) return;
    overviewDialog.close();
    go(Number(button.dataset.page));
  });

  // --- table of contents ----------------------------------------------------------------

  function drawTocMarks() {
    tocMarks.textContent = "";
    if (total() < 2) return;
    for (const entry of toc) {
      if (entry.page > total()) continue;
      const mark = H.el("span", { class: "toc-mark", title: entry.name });
      mark.style.setProperty("--at", ((entry.page - 1) / (total() - 1)) * 100 + "%");
      tocMarks.append(mark);
    }
  }

  if (chapterSelect) {
    chapterSelect.addEventListener("change", function () { go(Number(chapterSelect.value)); });
  }

  // --- input ----------------------------------------------------------------------------

  function toggleBars() {
    app.classList.toggle("bars-hidden");
  }

  function forward(rtlAware) {
    // `rtlAware`: the key or zone means "the right-hand side"; in right-to-left
    // reading the right-hand side goes back.
    if (rtlAware && settings.dir === "rtl") previous(); else next();
  }

  function backward(rtlAware) {
    if (rtlAware && settings.dir === "rtl") next(); else previous();
  }

  function canScroll(down) {
    return down ? stage.scrollTop + stage.clientHeight < stage.scrollHeight - 2 : stage.scrollTop > 2;
  }

  let tabbed = false; // the focus was last moved with Tab, not by a click or tap
  document.addEventListener("keydown", function (event) { if (event.key === "Tab") tabbed = true; }, true);
  document.addEventListener("pointerdown", function () { tabbed = false; }, true);

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (settingsDialog.open || overviewDialog.open) return;
    const target = event.target;
    const tag = target && target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    // Space presses a button or link that Tab moved to; one that merely holds the
    // focus after a click (or after the dialog it opened was closed) turns the page.
    const onControl = (tag === "BUTTON" || tag === "A") && tabbed;
    const webtoon = settings.mode === "webtoon";
    // The stage scrolls, not the document, so scrolling keys are handled here
    // whatever has the focus.
    const screen = stage.clientHeight * 0.9;
    switch (event.key) {
      case "ArrowRight": forward(true); break;
      case "ArrowLeft": backward(true); break;
      case "ArrowDown": stage.scrollBy({ top: 80 }); break;
      case "ArrowUp": stage.scrollBy({ top: -80 }); break;
      case " ":
      case "Spacebar":
        if (onControl) return;
        if (webtoon) stage.scrollBy({ top: event.shiftKey ? -screen : screen });
        else if (event.shiftKey) { if (canScroll(false)) stage.scrollBy({ top: -screen }); else previous(); }
        else if (canScroll(true)) stage.scrollBy({ top: screen });
        else next();
        break;
      case "PageDown": if (webtoon) stage.scrollBy({ top: screen }); else next(); break;
      case "PageUp": if (webtoon) stage.scrollBy({ top: -screen }); else previous(); break;
      case "Home": go(1); break;
      case "End": go(total()); break;
      case "o": case "O": openOverview(); break;
      case "s": case "S": settingsDialog.showModal(); break;
      case "f": case "F": toggleFullscreen(); break;
      default: return;
    }
    event.preventDefault();
  });

  let swiped = false;
  stage.addEventListener("click", function (event) {
    if (swiped) { swiped = false; return; }
    if (event.target.closest("button, a")) return;
    const box = stage.getBoundingClientRect();
    const x = (event.clientX - box.left) / box.width;
    if (x < 1 / 3) backward(true);
    else if (x > 2 / 3) forward(true);
    else toggleBars();
  });

  let touch = null;
  stage.addEventListener("touchstart", function (event) {
    if (event.touches.length !== 1) { touch = null; return; }
    const t = event.touches[0];
    touch = { x: t.clientX, y: t.clientY, time: Date.now() };
  }, { passive: true });
  stage.addEventListener("touchend", function (event) {
    if (!touch || event.changedTouches.length !== 1) return;
    const t = event.changedTouches[0];
    const dx = t.clientX - touch.x;
    const dy = t.clientY - touch.y;
    const zoomed = window.visualViewport && window.visualViewport.scale > 1.01;
    const quick = Date.now() - touch.time < 700;
    touch = null;
    if (zoomed || !quick || Math.abs(dx) < 50 || Math.abs(dy) > Math.abs(dx) * 0.7) return;
    swiped = true;
    window.setTimeout(function () { swiped = false; }, 400);
    // Swiping left brings in what is on the right.
    if (dx < 0) forward(true); else backward(true);
  }, { passive: true });

  document.getElementById("btn-prev").addEventListener("click", function () { previous(); });
  document.getElementById("btn-next").addEventListener("click", function () { next(); });
  document.getElementById("btn-overview").addEventListener("click", openOverview);
  document.getElementById("btn-settings").addEventListener("click", function () { settingsDialog.showModal(); });

  slider.addEventListener("input", function () {
    pageCurrent.textContent = slider.value;
  });
  slider.addEventListener("change", function () { go(Number(slider.value)); });

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else if (app.requestFullscreen) app.requestFullscreen().catch(function () {});
  }
  fullscreenButton.addEventListener("click", toggleFullscreen);
  if (!document.fullscreenEnabled) fullscreenButton.hidden = true;
  document.addEventListener("fullscreenchange", function () {
    fullscreenButton.textContent = document.fullscreenElement ? "Exit full screen" : "Full screen";
  });

  // --- start ----------------------------------------------------------------------------

  async function start() {
    applySettings();
    if (data.isnew) H.api("DELETE", api + "/isnew");
    const reply = await H.api("GET", api + "/files");
    if (!reply.ok || !reply.data || !Array.isArray(reply.data.pages)) {
      statusEl.textContent = "This archive could not be opened: " + reply.error;
      return;
    }
    pages = reply.data.pages;
    if (!pages.length) {
      statusEl.textContent = "This archive has no pages.";
      return;
    }
    statusEl.hidden = true;
    slider.max = String(total());
    document.getElementById("page-total").textContent = String(total());
    drawTocMarks();
    current = clamp(startPage());
    applySettings();
    app.dataset.ready = "true";
  }

  start();
})();
