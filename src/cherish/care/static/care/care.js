// Care panel enhancements; everything works without this file.
// A snippet button fills the desk's reply box (the textarea marked data-tone-check, or the
// textarea of a form marked data-reply-form) so the agent can make it personal.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-care-snippet]");
  if (!button) return;
  const box = document.querySelector("textarea[data-tone-check]") ||
    document.querySelector("form[data-reply-form] textarea, textarea#reply-text");
  if (!box) return;
  box.value = button.dataset.careSnippet;
  box.focus();
  box.dispatchEvent(new Event("keyup", { bubbles: true }));
});
