// Jobs page: poll the unfinished jobs through GET /api/minion/{id} and move their bars.
(function () {
  "use strict";

  const H = window.Hondana;
  const data = H.data("jobs-data") || { watch: [] };
  let watching = data.watch.slice();

  function progress(notes) {
    if (!notes) return null;
    if (notes.total !== undefined) return [Math.min(Number(notes.done || 0), Number(notes.total)), Number(notes.total)];
    if (notes.total_pages !== undefined) {
      const total = Number(notes.total_pages);
      let done = 0;
      for (const key of Object.keys(notes)) if (/^\d+$/.test(key) && notes[key] === "processed") done += 1;
      return [Math.min(done, total), total];
    }
    return null;
  }

  async function poll() {
    const still = [];
    for (const id of watching) {
      const row = document.querySelector('tr[data-job="' + id + '"]');
      if (!row) continue;
      const reply = await H.api("GET", "/api/minion/" + id);
      if (!reply.ok || !reply.data) continue;
      const job = reply.data;
      const state = row.querySelector('[data-field="state"]');
      state.textContent = job.state;
      state.className = "state state-" + job.state;
      const bar = row.querySelector('[data-field="bar"]');
      const count = row.querySelector('[data-field="count"]');
      const p = progress(job.notes);
      if (p) {
        bar.max = Math.max(p[1], 1);
        bar.value = p[0];
        count.textContent = p[0] + "/" + p[1];
      } else if (job.state === "finished") {
        bar.max = 1; bar.value = 1; count.textContent = "done";
      }
      if (job.state === "inactive" || job.state === "active") still.push(id);
    }
    watching = still;
    if (watching.length) window.setTimeout(poll, 1500);
  }

  if (watching.length) window.setTimeout(poll, 500);

  // New jobs (queued elsewhere: an upload's cover, a scan by the file watcher) appear
  // without a reload: while the page is visible, fetch it again every few seconds and
  // swap in its two lists, then follow the unfinished jobs it names.
  const LIST_EVERY = 4000;

  async function refreshList() {
    try {
      const reply = await fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!reply.ok) return;
      const fresh = new DOMParser().parseFromString(await reply.text(), "text/html");
      for (const name of ["running", "recent"]) {
        const mine = document.querySelector('[data-region="' + name + '"]');
        const theirs = fresh.querySelector('[data-region="' + name + '"]');
        if (mine && theirs && mine.innerHTML !== theirs.innerHTML && !mine.contains(document.activeElement)) {
          mine.replaceChildren(...theirs.childNodes);
        }
      }
      const freshData = fresh.getElementById("jobs-data");
      const ids = freshData ? JSON.parse(freshData.textContent).watch : [];
      const idle = watching.length === 0;
      for (const id of ids) if (!watching.includes(id)) watching.push(id);
      if (idle && watching.length) window.setTimeout(poll, 500);
    } catch (error) {
      // Offline or the server restarting: try again on the next turn.
    }
  }

  function scheduleList() {
    window.setTimeout(async function () {
      if (document.visibilityState === "visible") await refreshList();
      scheduleList();
    }, LIST_EVERY);
  }
  scheduleList();
})();
