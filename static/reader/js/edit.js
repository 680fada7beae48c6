// Edit page: metadata, categories, cover and deletion, all through the API.
(function () {
  "use strict";

  const H = window.Hondana;
  const data = H.data("edit-data");
  const api = "/api/archives/" + encodeURIComponent(data.id);

  const form = document.getElementById("metadata-form");
  const status = document.getElementById("metadata-status");
  H.suggest(document.getElementById("tags"), document.getElementById("tags-suggestions"), { search: false });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const title = form.elements.title.value.trim();
    if (!title) {
      H.status(status, "A title is needed.", "error");
      form.elements.title.focus();
      return;
    }
    const tags = form.elements.tags.value.split(",").map(function (t) { return t.trim(); }).filter(Boolean).join(",");
    H.status(status, "Saving…");
    const reply = await H.api("PUT", api + "/metadata", { title: title, tags: tags, summary: form.elements.summary.value });
    if (reply.ok) {
      form.elements.tags.value = tags;
      document.getElementById("edit-heading").textContent = title;
      document.title = "Edit " + title + " · Hondana";
      H.status(status, "Saved.", "ok");
    } else {
      H.status(status, "Not saved: " + reply.error, "error");
    }
  });

  const categories = document.getElementById("categories");
  categories.addEventListener("change", async function (event) {
    const box = event.target;
    if (box.name !== "category") return;
    const catStatus = document.getElementById("categories-status");
    const name = box.parentElement.textContent.trim();
    box.disabled = true;
    const reply = await H.api(box.checked ? "PUT" : "DELETE", "/api/categories/" + encodeURIComponent(box.value) + "/" + encodeURIComponent(data.id));
    box.disabled = false;
    if (reply.ok) {
      H.status(catStatus, (box.checked ? "Added to " : "Removed from ") + name + ".", "ok");
    } else {
      box.checked = !box.checked;
      H.status(catStatus, "Not changed: " + reply.error, "error");
    }
  });

  const coverForm = document.getElementById("cover-form");
  coverForm.addEventListener("submit", async function (event) {
    event.preventDefault();
    const coverStatus = document.getElementById("cover-status");
    const page = parseInt(coverForm.elements.page.value, 10);
    if (!(page >= 1 && page <= Math.max(data.pagecount, 1))) {
      H.status(coverStatus, "Choose a page from 1 to " + data.pagecount + ".", "error");
      return;
    }
    H.status(coverStatus, "Making the cover…");
    const reply = await H.api("PUT", api + "/thumbnail?page=" + page);
    if (reply.ok) {
      document.getElementById("cover-img").src = api + "/thumbnail?t=" + Date.now();
      H.status(coverStatus, "The cover is now page " + page + ".", "ok");
    } else {
      H.status(coverStatus, "Not changed: " + reply.error, "error");
    }
  });

  document.getElementById("delete-button").addEventListener("click", async function () {
    const deleteStatus = document.getElementById("delete-status");
    const ok = await H.confirm("Delete “" + data.title + "” for good? The file is removed from the server.", "Delete");
    if (!ok) return;
    const reply = await H.api("DELETE", api);
    if (reply.ok) {
      H.status(deleteStatus, "Deleted. Back to the library…", "ok");
      window.location.href = "/";
    } else {
      H.status(deleteStatus, "Not deleted: " + reply.error, "error");
    }
  });
})();
