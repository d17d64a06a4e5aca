// Small enhancements; every page works without this file.
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-confirm]");
  if (target && !window.confirm(target.dataset.confirm)) {
    event.preventDefault();
  }
});
document.addEventListener("htmx:afterSwap", (event) => {
  const focus = event.detail.target.querySelector("[data-autofocus]");
  if (focus) focus.focus();
});
