// Small behaviours that inline scripts would otherwise do (the CSP forbids inline script).
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.matches && el.matches("select[data-autosubmit]")) {
    el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
  }
});
// Close an open top-menu group when clicking elsewhere.
document.addEventListener("click", function (event) {
  document.querySelectorAll("details.menu-group[open]").forEach(function (d) {
    if (!d.contains(event.target)) { d.removeAttribute("open"); }
  });
});
// A dialog loaded by htmx opens itself; [data-close-dialog] closes it.
document.body && document.body.addEventListener("htmx:afterSwap", function () {
  var dlg = document.querySelector("#modal dialog:not([open])");
  if (dlg && dlg.showModal) { dlg.showModal(); }
});
document.addEventListener("click", function (event) {
  var btn = event.target.closest && event.target.closest("[data-close-dialog]");
  if (btn) {
    var dlg = btn.closest("dialog");
    if (dlg) { dlg.close(); dlg.remove(); }
  }
});
