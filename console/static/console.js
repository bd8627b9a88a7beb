// Tideline console: progressive enhancements. Every page works without this script; it
// adds the live preview, the live audience count, extra data rows and the progress bar's
// updates. Text is only ever set with textContent, never parsed as HTML.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const compose = document.getElementById("compose");
  if (compose) {
    enhanceCompose(compose);
  }
  const progress = document.querySelector("[data-progress]");
  if (progress) {
    pollProgress(progress);
  }
});

function enhanceCompose(form) {
  // Live preview.
  const sources = form.querySelectorAll("[data-preview-source]");
  const preview = () => {
    const title = form.elements.title.value;
    const body = form.elements.body.value;
    const image = form.elements.imageUrl.value.trim();
    const silent = form.elements.silent.checked;
    document.querySelectorAll('[data-preview="title"]').forEach((el) => { el.textContent = title; });
    document.querySelectorAll('[data-preview="body"]').forEach((el) => { el.textContent = body; });
    document.querySelectorAll('[data-preview="image"]').forEach((el) => {
      if (image.startsWith("https://")) {
        if (el.getAttribute("src") !== image) el.setAttribute("src", image);
        el.hidden = false;
      } else {
        el.hidden = true;
      }
    });
    document.querySelectorAll('[data-preview="cards"]').forEach((el) => { el.hidden = silent; });
    document.querySelectorAll('[data-preview="silent-note"]').forEach((el) => { el.hidden = !silent; });
  };
  sources.forEach((el) => el.addEventListener("input", preview));
  sources.forEach((el) => el.addEventListener("change", preview));
  document.querySelectorAll('[data-preview="image"]').forEach((img) => {
    img.addEventListener("error", () => { img.hidden = true; });
  });

  // Only the chosen target's fields are shown.
  const parts = form.querySelectorAll(".target-part");
  const showTarget = () => {
    const chosen = form.elements.target.value;
    parts.forEach((p) => { p.hidden = p.dataset.target !== chosen; });
  };
  const laterParts = form.querySelectorAll(".when-later");
  const showWhen = () => {
    const later = form.elements.when.value === "later";
    laterParts.forEach((p) => { p.hidden = !later; });
  };
  form.querySelectorAll('input[name="target"]').forEach((r) => r.addEventListener("change", showTarget));
  form.querySelectorAll('input[name="when"]').forEach((r) => r.addEventListener("change", showWhen));
  showTarget();
  showWhen();

  // The browser's time zone for scheduled sends.
  const zone = form.querySelector("[data-browser-zone]");
  if (zone && zone.value === "") {
    try {
      zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) { /* leave it empty: UTC */ }
  }

  // More data rows.
  const add = document.getElementById("add-row");
  if (add) {
    add.hidden = false;
    add.addEventListener("click", () => {
      const rows = form.querySelectorAll(".data-row");
      const last = rows[rows.length - 1];
      const row = last.cloneNode(true);
      const n = rows.length + 1;
      row.querySelectorAll("label").forEach((label) => {
        const input = label.querySelector("input");
        input.value = "";
        label.firstChild.textContent = (input.name === "dataKey" ? "Key " : "Value ") + n + " ";
      });
      last.after(row);
      row.querySelector("input").focus();
    });
  }

  // The audience, counted as the target changes.
  const out = document.getElementById("audience");
  const fields = ["target", "users", "topic", "platform", "minVersion", "maxVersion", "locales", "seenDays"];
  let timer = null;
  let seq = 0;
  const count = () => {
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) {
      if (fields.includes(k)) q.append(k, v);
    }
    const mine = ++seq;
    out.textContent = "Counting…";
    fetch("/console/audience?" + q.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then((body) => {
        if (mine !== seq) return;
        out.textContent = body.error ? body.error : body.text;
        out.dataset.count = body.error ? "" : String(body.count);
      })
      .catch(() => { if (mine === seq) out.textContent = "The audience could not be counted."; });
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(count, 400); };
  const audience = document.getElementById("audience-fields");
  audience.addEventListener("input", later);
  audience.addEventListener("change", later);
  if (out.textContent.trim() === "") count();
}

function pollProgress(card) {
  const url = card.dataset.progress;
  const bar = document.getElementById("progress-bar");
  const text = document.getElementById("progress-text");
  const status = document.getElementById("status");
  const tick = () => {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then((p) => {
        if (p.error) return;
        for (const k of ["targeted", "pending", "sent", "failed", "pruned", "cancelled"]) {
          const cell = card.querySelector('[data-count="' + k + '"]');
          if (cell) cell.textContent = String(p[k]);
        }
        if (bar) {
          bar.max = Math.max(p.targeted, 1);
          bar.value = p.targeted ? p.done : (p.live ? 0 : 1);
          bar.textContent = p.percent + "%";
        }
        if (text) text.textContent = p.done + " of " + p.targeted;
        if (status) {
          status.textContent = p.status;
          status.className = "status status-" + p.status;
        }
        if (p.live) {
          setTimeout(tick, 1000);
        } else {
          // Finished: the page shows the final state (errors, times) once loaded again,
          // without the notice of the action that queued it.
          const cancel = document.getElementById("cancel-form");
          if (cancel) cancel.hidden = true;
          card.dataset.finished = "true";
          setTimeout(() => window.location.replace(window.location.pathname), 300);
        }
      })
      .catch(() => setTimeout(tick, 3000));
  };
  setTimeout(tick, 500);
}
