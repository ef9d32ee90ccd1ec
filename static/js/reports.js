// Reports > Factoring: report uploads. Loaded by the batch page's report partials.
(function () {
  if (window.factorDeskReports) { return; }
  window.factorDeskReports = true;

  function inReportArea(el) {
    return el && el.closest && el.closest("[data-report-area]");
  }

  // A refused upload (409, 413, 422) carries a message meant to be read: swap it in
  // like a normal answer instead of htmx's default of dropping error responses.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr && event.detail.xhr.status;
    if ((status === 409 || status === 413 || status === 422) && inReportArea(event.detail.target)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Bring the preview or result into view once it arrives.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "report-work" && target.firstElementChild && target.scrollIntoView) {
      target.scrollIntoView({ behavior: "smooth", block: "start" });
    }
  });

  // Once a file is previewed, clear the chooser so the next upload starts afresh.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (event.detail.successful && form && form.matches && form.matches("form.report-upload-form")) {
      form.reset();
    }
  });

  // Say at once that a file is over the limit, rather than after sending it.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form.report-upload-form")) { return; }
    var limit = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
    var input = form.querySelector("input[type=file]");
    var message = form.querySelector(".client-error");
    var file = input && input.files && input.files[0];
    if (message) { message.hidden = true; message.textContent = ""; }
    if (limit && file && file.size > limit) {
      event.preventDefault();
      event.stopPropagation();
      if (message) {
        message.textContent = "That file is too large: the limit is " + Math.floor(limit / 1048576) + " MB.";
        message.hidden = false;
      }
    }
  }, true);
})();
