// Small behaviours that inline scripts would otherwise do (the CSP forbids inline script).

// A picker (select[data-autosubmit]) sends its form when chosen with the pointer. Chosen with
// the keyboard (an arrow key changes a closed select at once) it waits for its button or
// Enter, so that the page neither reloads nor loses focus on the first arrow key.
var keyedSelect = null;
document.addEventListener("keydown", function (event) {
  var el = event.target;
  if (!(el.matches && el.matches("select[data-autosubmit]"))) { return; }
  keyedSelect = el;
  if (event.key === "Enter") {
    event.preventDefault();
    el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
  }
});
document.addEventListener("pointerdown", function () { keyedSelect = null; }, true);
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.matches && el.matches("select[data-autosubmit]") && keyedSelect !== el) {
    el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
  }
});

// The header's Menu button (phone width): shown only with JavaScript, which folds the menu.
(function () {
  var bar = document.querySelector("[data-topbar]");
  var toggle = bar && bar.querySelector("[data-menu-toggle]");
  if (!toggle) { return; }
  toggle.hidden = false;
  bar.classList.add("has-menu-toggle");
  toggle.addEventListener("click", function () {
    var open = !bar.classList.contains("is-open");
    bar.classList.toggle("is-open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && bar.classList.contains("is-open")) {
      bar.classList.remove("is-open");
      toggle.setAttribute("aria-expanded", "false");
      toggle.focus();
    }
  });
})();

// After a form sent by htmx is answered, focus goes to its result: the element marked
// data-focus-result, else the first message (role alert or status), else the first heading
// of what was swapped in. Polling never moves focus (only a submit or a click does).
document.addEventListener("htmx:afterSettle", function (event) {
  var cause = event.detail && event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
  if (!cause || (cause.type !== "submit" && cause.type !== "click")) { return; }
  var root = event.detail.elt;
  var aimed = event.detail.requestConfig.target;
  if (!root || !root.querySelector) { return; }
  // Out-of-band swaps redraw other parts of the page: the result is what the request aimed at.
  if (aimed && root !== aimed && (!root.id || root.id !== aimed.id)) { return; }
  if (!document.body.contains(root)) { root = document.getElementById(root.id) || document.body; }
  var target = root.querySelector("[data-focus-result]") || root.querySelector("[role=alert], [role=status]") ||
    root.querySelector("h1, h2, h3");
  if (!target) { return; }
  if (!target.hasAttribute("tabindex") && !target.matches("a, button, input, select, textarea")) {
    target.setAttribute("tabindex", "-1");
  }
  target.focus({ preventScroll: false });
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
