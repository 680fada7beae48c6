// Jobs page: while it is visible, fetch the page again and swap in its two lists, so
// that bars move and jobs queued elsewhere (an upload's cover, a scan by the file
// watcher) appear without a reload. Often while something runs, seldom otherwise.
(function () {
  "use strict";

  const BUSY_EVERY = 1500;
  const IDLE_EVERY = 4000;

  function running() {
    return document.querySelector('[data-region="running"] tr[data-job]') !== null;
  }

  async function refreshList() {
    try {
      const reply = await fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!reply.ok) return;
      const fresh = new DOMParser().parseFromString(await reply.text(), "text/html");
      for (const name of ["running", "recent"]) {
        const mine = document.querySelector('[data-region="' + name + '"]');
        const theirs = fresh.querySelector('[data-region="' + name + '"]');
        if (!mine || !theirs || mine.innerHTML === theirs.innerHTML) continue;
        if (!mine.contains(document.activeElement)) {
          mine.replaceChildren(...theirs.childNodes);
          continue;
        }
        // Keep the focused element: only the rows' state and progress move.
        mine.querySelectorAll("tr[data-job]").forEach(function (row) {
          const now = theirs.querySelector('tr[data-job="' + row.dataset.job + '"]');
          if (!now) return;
          for (const field of ["state", "bar", "count"]) {
            const old = row.querySelector('[data-field="' + field + '"]');
            const updated = now.querySelector('[data-field="' + field + '"]');
            if (old && updated) old.replaceWith(updated);
          }
        });
      }
    } catch (error) {
      // Offline or the server restarting: try again on the next turn.
    }
  }

  function schedule() {
    window.setTimeout(async function () {
      if (document.visibilityState === "visible") await refreshList();
      schedule();
    }, running() ? BUSY_EVERY : IDLE_EVERY);
  }
  schedule();
})();
