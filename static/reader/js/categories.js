// Categories page: create, rename, pin, change the saved search, delete (API writes).
(function () {
  "use strict";

  const H = window.Hondana;
  const create = document.getElementById("create-form");

  create.addEventListener("submit", async function (event) {
    event.preventDefault();
    const status = document.getElementById("create-status");
    const name = create.elements.name.value.trim();
    if (!name) {
      H.status(status, "A name is needed.", "error");
      create.elements.name.focus();
      return;
    }
    const body = { name: name, search: create.elements.search.value.trim() };
    if (create.elements.pinned.checked) body.pinned = "1";
    const reply = await H.api("PUT", "/api/categories", body);
    if (reply.ok) {
      H.status(status, "Created.", "ok");
      window.location.reload();
    } else {
      H.status(status, "Not created: " + reply.error, "error");
    }
  });

  const list = document.getElementById("category-list");
  if (!list) return;

  list.addEventListener("submit", async function (event) {
    event.preventDefault();
    const form = event.target;
    const status = form.querySelector(".status");
    const name = form.elements.name.value.trim();
    if (!name) {
      H.status(status, "A name is needed.", "error");
      return;
    }
    const body = { name: name };
    if (form.elements.search) {
      const search = form.elements.search.value.trim();
      if (!search) {
        H.status(status, "A saved search cannot be emptied.", "error");
        return;
      }
      body.search = search;
    }
    // Leaving `pinned` out unpins (LANraragi's rule).
    if (form.elements.pinned.checked) body.pinned = "1";
    const reply = await H.api("PUT", "/api/categories/" + encodeURIComponent(form.dataset.id), body);
    H.status(status, reply.ok ? "Saved." : "Not saved: " + reply.error, reply.ok ? "ok" : "error");
  });

  list.addEventListener("click", async function (event) {
    const button = event.target.closest('[data-action="delete"]');
    if (!button) return;
    const form = button.closest("form");
    const name = form.elements.name.defaultValue;
    if (!(await H.confirm("Delete the category “" + name + "”? Its archives stay in the library.", "Delete"))) return;
    const reply = await H.api("DELETE", "/api/categories/" + encodeURIComponent(form.dataset.id));
    if (reply.ok) {
      form.closest("li").remove();
      H.announce("Deleted the category " + name + ".");
    } else {
      H.status(form.querySelector(".status"), "Not deleted: " + reply.error, "error");
    }
  });
})();
