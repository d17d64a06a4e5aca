// Desk keyboard shortcuts (Help Scout / Zendesk conventions). The inbox works without this
// file; it only adds keys. On the inbox: j/k move between cases, x selects, o or Enter
// opens, r replies, n adds a note, t takes it, a assigns and e closes the selected cases
// (or the current one) through the bulk form, / searches, ? shows the help. On a case
// page, arriving at #reply-text or #note-text puts the cursor in that box.
(function () {
  "use strict";

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function rows() {
    return Array.from(document.querySelectorAll("tr[data-inbox-row]"));
  }

  function current() {
    return document.querySelector("tr[data-inbox-row].is-current");
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const at = all.indexOf(current());
    const next = all[Math.min(Math.max(at + step, 0), all.length - 1)] || all[0];
    all.forEach(function (row) { row.classList.remove("is-current"); row.removeAttribute("aria-current"); });
    next.classList.add("is-current");
    next.setAttribute("aria-current", "true");
    const link = next.querySelector("a.inbox-row-ref");
    if (link) link.focus();
  }

  function ensureSelected() {
    const checked = document.querySelectorAll('#inbox-bulk input[name="cases"]:checked');
    const row = current();
    if (!checked.length && row) {
      const box = row.querySelector('input[name="cases"]');
      if (box) box.checked = true;
    }
  }

  function bulk(action, focusId) {
    const select = document.querySelector("[data-key-bulk-action]");
    if (!select) return;
    ensureSelected();
    select.value = action;
    const target = document.getElementById(focusId);
    if (target) target.focus();
  }

  function toggleHelp() {
    const help = document.getElementById("inbox-keys-help");
    if (!help) return;
    if (help.open) help.close(); else help.showModal();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    const row = current();
    const actions = {
      j: function () { move(1); },
      k: function () { move(-1); },
      x: function () {
        const box = row && row.querySelector('input[name="cases"]');
        if (box) box.checked = !box.checked;
      },
      o: function () { if (row) window.location.href = row.dataset.url; },
      r: function () { if (row) window.location.href = row.dataset.url + "#reply-text"; },
      n: function () { if (row) window.location.href = row.dataset.url + "#reply-text"; },
      t: function () {
        const take = row && row.querySelector("[data-take]");
        if (take) take.click();
      },
      a: function () { bulk("assign", "bulk-to"); },
      e: function () { bulk("close", "bulk-text"); },
      "/": function () {
        const search = document.querySelector("[data-key-search]");
        if (search) search.focus();
      },
      "?": toggleHelp,
    };
    const run = actions[event.key];
    if (!run || !document.querySelector("[data-inbox-row], [data-key-search]")) return;
    event.preventDefault();
    run();
  });

  function focusFromHash() {
    const id = window.location.hash.slice(1);
    const box = id && document.getElementById(id);
    if (box && box.tagName === "TEXTAREA") box.focus();
  }
  document.addEventListener("DOMContentLoaded", focusFromHash);
  window.addEventListener("hashchange", focusFromHash);
})();
