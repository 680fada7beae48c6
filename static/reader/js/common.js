// Helpers shared by every page: API calls with the session's CSRF token, DOM
// building that only ever writes text (never HTML from data), lazy images.
(function () {
  "use strict";

  const H = (window.Hondana = window.Hondana || {});

  H.csrf = function () {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  // fetch() against our API. `body` may be URLSearchParams, FormData or a plain
  // object (sent as a form, the way LANraragi clients send writes).
  H.api = async function (method, url, body) {
    const init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET" && method !== "HEAD") init.headers["X-CSRFToken"] = H.csrf();
    if (body !== undefined && body !== null) {
      if (body instanceof FormData || body instanceof URLSearchParams) init.body = body;
      else init.body = new URLSearchParams(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      return { ok: false, status: 0, data: null, error: "The server could not be reached." };
    }
    let data = null;
    const type = response.headers.get("Content-Type") || "";
    if (type.indexOf("json") !== -1) {
      try { data = await response.json(); } catch (err) { data = null; }
    }
    const ok = response.ok && !(data && data.success === 0);
    return { ok: ok, status: response.status, data: data, error: ok ? "" : H.errorText(data, response.status) };
  };

  // LANraragi escapes envelope messages for HTML; turn the five entities back into
  // characters, which are then only ever written as text.
  H.unescapeXml = function (text) {
    return String(text || "")
      .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'").replace(/&amp;/g, "&");
  };

  H.errorText = function (data, status) {
    if (data && data.error) return H.unescapeXml(data.error);
    if (data && data.errors && data.errors.length) return data.errors[0].message;
    if (status === 401 || status === 403) return "You need to log in to do this.";
    if (data && data.success === 0) return "The server refused it.";
    return status ? "The server answered " + status + "." : "The server could not be reached.";
  };

  // el("a", {href: url, class: "x"}, "text", otherNode): strings become text nodes.
  H.el = function (tag, attrs) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const name of Object.keys(attrs)) {
        const value = attrs[name];
        if (value === null || value === undefined || value === false) continue;
        if (name === "text") node.textContent = value;
        else if (name === "dataset") Object.assign(node.dataset, value);
        else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
        else node.setAttribute(name, value === true ? "" : String(value));
      }
    }
    for (let i = 2; i < arguments.length; i++) {
      const child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  H.data = function (id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  };

  H.store = {
    get: function (key, fallback) {
      try {
        const raw = window.localStorage.getItem(key);
        return raw === null ? fallback : JSON.parse(raw);
      } catch (err) {
        return fallback;
      }
    },
    set: function (key, value) {
      try { window.localStorage.setItem(key, JSON.stringify(value)); } catch (err) { /* private mode, full */ }
    },
  };

  H.plural = function (n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  };

  H.readerUrl = function (id) {
    return "/reader?id=" + encodeURIComponent(id);
  };

  // Images carrying data-src get their src only when they come near the viewport,
  // so a page of a hundred covers starts with the dozen on screen.
  let lazyObserver = null;
  H.lazyImages = function (root) {
    const images = (root || document).querySelectorAll("img[data-src]");
    if (!("IntersectionObserver" in window)) {
      images.forEach(loadNow);
      return;
    }
    if (!lazyObserver) {
      lazyObserver = new IntersectionObserver(function (entries) {
        for (const entry of entries) {
          if (entry.isIntersecting) {
            lazyObserver.unobserve(entry.target);
            loadNow(entry.target);
          }
        }
      }, { rootMargin: "200px 0px" });
    }
    images.forEach(function (img) { lazyObserver.observe(img); });
  };

  function loadNow(img) {
    if (!img.dataset.src) return;
    img.addEventListener("error", function onError() {
      img.removeEventListener("error", onError);
      img.src = "/static/img/placeholder.png";
    });
    img.addEventListener("load", function () { img.classList.add("is-loaded"); }, { once: true });
    img.src = img.dataset.src;
    delete img.dataset.src;
  }

  // One polite live region per page for short status messages.
  H.announce = function (message) {
    let region = document.getElementById("hondana-announcer");
    if (!region) {
      region = H.el("div", { id: "hondana-announcer", class: "visually-hidden", role: "status", "aria-live": "polite" });
      document.body.append(region);
    }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = message; }, 30);
  };

  // Show a message in a status element, styled as ok or error.
  H.status = function (node, message, kind) {
    if (!node) return;
    node.textContent = message;
    node.classList.remove("is-error", "is-ok");
    if (kind) node.classList.add(kind === "error" ? "is-error" : "is-ok");
  };

  // A modal confirmation built on <dialog>; resolves true when confirmed.
  H.confirm = function (message, confirmLabel) {
    return new Promise(function (resolve) {
      const dialog = H.el("dialog", { class: "dialog confirm-dialog", "aria-labelledby": "confirm-text" },
        H.el("p", { id: "confirm-text", text: message }),
        H.el("div", { class: "dialog-actions" },
          H.el("button", { type: "button", class: "button", value: "cancel", text: "Cancel" }),
          H.el("button", { type: "button", class: "button button-danger", value: "ok", text: confirmLabel || "Confirm" })));
      document.body.append(dialog);
      let answer = false;
      dialog.addEventListener("click", function (event) {
        const button = event.target.closest("button");
        if (button) { answer = button.value === "ok"; dialog.close(); }
      });
      dialog.addEventListener("close", function () { dialog.remove(); resolve(answer); });
      dialog.showModal();
      dialog.querySelector('button[value="cancel"]').focus();
    });
  };
})();
