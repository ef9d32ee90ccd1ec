// Factoring Upload: the live count and total of the selection, select-all, and confirmations.
(function () {
  "use strict";

  function money(cents) {
    var negative = cents < 0;
    cents = Math.abs(Math.round(cents));
    var dollars = String(Math.floor(cents / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var rest = String(cents % 100);
    return (negative ? "-$" : "$") + dollars + "." + (rest.length < 2 ? "0" + rest : rest);
  }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function refresh(form) {
    var boxes = form.querySelectorAll("input[name=load_id]");
    var matching = form.querySelector("[data-select-matching]");
    var pageBox = form.querySelector("[data-select-page]");
    var summary = form.querySelector("[data-selection-summary]");
    var submit = form.querySelector("[data-submit-batch]");
    var all = matching && matching.checked;
    var count = 0, cents = 0;
    boxes.forEach(function (box) {
      if (all) { box.checked = true; }
      box.disabled = !!all;
      var row = box.closest("tr");
      if (row) { row.classList.toggle("is-selected", box.checked); }
      if (box.checked) { count += 1; cents += parseInt(box.getAttribute("data-cents"), 10) || 0; }
    });
    if (all) {
      count = parseInt(form.getAttribute("data-match-count"), 10) || 0;
      cents = parseInt(form.getAttribute("data-match-total"), 10) || 0;
    }
    if (pageBox) {
      var ticked = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
      pageBox.checked = boxes.length > 0 && ticked === boxes.length;
      pageBox.indeterminate = ticked > 0 && ticked < boxes.length;
      pageBox.disabled = !!all || boxes.length === 0;
    }
    if (summary) {
      summary.textContent = count ? plural(count, "load") + " selected · " + money(cents) : "No loads selected";
    }
    if (submit && submit.getAttribute("aria-disabled") !== "true") {
      submit.disabled = count === 0;
    }
  }

  function init(root) {
    var form = (root || document).querySelector ? (root || document).querySelector("#batch-form") : null;
    if (form) { refresh(form); }
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    var form = el.closest && el.closest("#batch-form");
    if (!form) { return; }
    if (el.matches("[data-select-page]")) {
      form.querySelectorAll("input[name=load_id]").forEach(function (box) { box.checked = el.checked; });
    }
    refresh(form);
  });

  // "Skip the rows to Submit Batch": focus the button itself (or the selection summary while
  // nothing is selected and the button is disabled).
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-skip-to-submit]");
    if (!link) { return; }
    var form = link.closest("#batch-form");
    var submit = form && form.querySelector("[data-submit-batch]");
    var target = submit && !submit.disabled ? submit : form && form.querySelector("[data-selection-summary]");
    if (!target) { return; }
    event.preventDefault();
    if (target !== submit) { target.setAttribute("tabindex", "-1"); }
    target.focus();
  });

  // A form with data-confirm asks before it is sent (Cancel batch).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  }, true);

  // Disabled checkboxes are not sent: with "all that match" the server takes the filter instead.
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function () { init(document); });
})();

// The batch page and Factoring Upload's box: after an action redraws them, focus goes to what it
// said (the notice), or to the batch's line again, never to the top of the page.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target) { return; }
    if (target.id === "batch-notice" && target.firstElementChild) {
      target.focus();
    } else if (/^batch-line-/.test(target.id || "") && event.detail.requestConfig &&
               event.detail.requestConfig.verb === "post") {
      var line = document.getElementById(target.id);  // the line that replaced it
      var link = line && line.querySelector("a");
      if (link) { link.focus(); }
    }
  });
})();
