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
// A post too large to read answers 413 with the reason for the top of the page
// (core/too_large.py); HTMX would drop it as an error and the person would see nothing.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 413) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
