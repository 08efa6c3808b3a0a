// The report page's "Print" button; the page is complete without it (browser menu: Print).
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
