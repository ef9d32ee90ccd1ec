// Company Profile, Users, Customers: show a server error inside the open dialog
// (htmx does not swap 4xx/5xx answers, so without this a refused Save would look idle).
document.addEventListener("htmx:responseError", function (event) {
  var source = event.detail.elt;
  var dialog = source && source.closest && source.closest("dialog");
  if (!dialog) { return; }
  var box = dialog.querySelector(".dialog-error");
  if (!box) { return; }
  var doc = new DOMParser().parseFromString(event.detail.xhr.responseText || "", "text/html");
  var message = (doc.body && doc.body.textContent || "").trim();
  box.textContent = message || "The change could not be saved. Reload the page and try again.";
  box.hidden = false;
});
