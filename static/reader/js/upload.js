// Upload page: every dropped or chosen file goes to PUT /api/archives/upload with
// its own progress bar (XMLHttpRequest reports upload progress; fetch does not),
// two at a time, and shows what the server answered.
(function () {
  "use strict";

  const H = window.Hondana;
  const CONCURRENT = 2;
  const form = document.getElementById("upload-form");
  const zone = document.getElementById("dropzone");
  const picker = document.getElementById("files");
  const list = document.getElementById("upload-list");
  const summary = document.getElementById("upload-summary");
  const queue = [];
  const counts = { added: 0, duplicate: 0, refused: 0 };
  let running = 0;

  function size(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    if (bytes < 1024 * 1024 * 1024) return (bytes / 1024 / 1024).toFixed(1) + " MB";
    return (bytes / 1024 / 1024 / 1024).toFixed(2) + " GB";
  }

  function add(files) {
    for (const file of files) {
      const bar = H.el("progress", { max: "100", value: "0", "aria-label": "Upload of " + file.name });
      const result = H.el("p", { class: "upload-result", text: "Waiting…" });
      const row = H.el("li", { class: "upload-item", "data-state": "waiting" },
        H.el("span", { class: "upload-name", text: file.name }),
        H.el("span", { class: "upload-size", text: size(file.size) }),
        bar, result);
      list.append(row);
      queue.push({ file: file, row: row, bar: bar, result: result });
    }
    pump();
  }

  function pump() {
    while (running < CONCURRENT && queue.length) {
      running += 1;
      send(queue.shift()).then(function () {
        running -= 1;
        pump();
        report();
      });
    }
  }

  function report() {
    const done = counts.added + counts.duplicate + counts.refused;
    if (!done) return;
    const parts = [H.plural(counts.added, "file") + " added"];
    if (counts.duplicate) parts.push(counts.duplicate + " already in the library");
    if (counts.refused) parts.push(counts.refused + " refused");
    const left = queue.length + running;
    H.status(summary, parts.join(", ") + (left ? ", " + left + " to go." : "."));
  }

  function send(job) {
    return new Promise(function (resolve) {
      const body = new FormData();
      body.append("file", job.file, job.file.name);
      const tags = form.elements.tags.value.trim();
      if (tags) body.append("tags", tags);
      if (form.elements.category_id.value) body.append("category_id", form.elements.category_id.value);
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", "/api/archives/upload");
      xhr.setRequestHeader("X-CSRFToken", H.csrf());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) job.bar.value = Math.round((100 * event.loaded) / event.total);
      });
      job.row.dataset.state = "sending";
      job.result.textContent = "Uploading…";
      xhr.upload.addEventListener("load", function () {
        job.bar.value = 100;
        job.result.textContent = "Checking the archive…";
      });
      xhr.addEventListener("load", function () {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (err) { data = null; }
        show(job, xhr.status, data);
        resolve();
      });
      xhr.addEventListener("error", function () {
        show(job, 0, null);
        resolve();
      });
      xhr.send(body);
    });
  }

  function show(job, status, data) {
    const result = job.result;
    result.textContent = "";
    job.bar.value = 100;
    if (status === 200 && data && data.success === 1 && data.id) {
      counts.added += 1;
      job.row.dataset.state = "added";
      result.append(H.el("span", { class: "label", text: "Added. " }),
        H.el("a", { href: H.readerUrl(data.id), text: "Read" }), " · ",
        H.el("a", { href: "/edit?id=" + encodeURIComponent(data.id), text: "Edit" }));
      return;
    }
    if (status === 409 && data) {
      counts.duplicate += 1;
      job.row.dataset.state = "duplicate";
      const sameContent = String(data.error || "").indexOf("already exists") !== -1;
      result.append(H.el("span", { class: "label", text: sameContent ? "Duplicate: " : "Name taken: " }),
        sameContent ? "this archive is already in the library. " : H.errorText(data, status) + " ");
      if (sameContent && data.id) result.append(H.el("a", { href: H.readerUrl(data.id), text: "Open the existing archive" }));
      return;
    }
    counts.refused += 1;
    job.row.dataset.state = "refused";
    result.append(H.el("span", { class: "label", text: "Refused: " }), H.errorText(data, status));
  }

  picker.addEventListener("change", function () {
    add(Array.from(picker.files));
    picker.value = "";
  });

  // Dropping anywhere on the page uploads; without this the browser would open the file.
  let depth = 0;
  document.addEventListener("dragenter", function (event) {
    if (!event.dataTransfer || Array.from(event.dataTransfer.types).indexOf("Files") === -1) return;
    depth += 1;
    zone.classList.add("is-over");
  });
  document.addEventListener("dragleave", function () {
    depth = Math.max(depth - 1, 0);
    if (!depth) zone.classList.remove("is-over");
  });
  document.addEventListener("dragover", function (event) { event.preventDefault(); });
  document.addEventListener("drop", function (event) {
    event.preventDefault();
    depth = 0;
    zone.classList.remove("is-over");
    if (event.dataTransfer && event.dataTransfer.files.length) add(Array.from(event.dataTransfer.files));
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
})();
