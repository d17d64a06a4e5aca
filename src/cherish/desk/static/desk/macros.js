// Saved replies under the reply box; the picker works without this file. Typing in the
// search box filters the list; "Insert" puts the reply (placeholders already filled) in
// the box and ticks it, so "Send and apply" applies its actions, and the tone check runs.
(function () {
  "use strict";
  document.addEventListener("input", function (event) {
    const box = event.target.closest("[data-macro-filter]");
    if (!box) return;
    const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    document.querySelectorAll("[data-macro]").forEach(function (item) {
      const text = item.dataset.macroSearch || "";
      item.hidden = !words.every(function (word) { return text.includes(word); });
    });
  });
  // Enter in the search box must not send the reply the box sits in.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.closest("[data-macro-filter]")) {
      event.preventDefault();
    }
  });
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-macro-insert]");
    if (!button) return;
    const reply = document.getElementById("reply-text");
    if (!reply) return;
    reply.value = button.dataset.macroBody;
    const radio = document.getElementById("macro-" + button.dataset.macroId);
    if (radio) radio.checked = true;
    reply.focus();
    reply.dispatchEvent(new Event("keyup", { bubbles: true }));
  });
})();
