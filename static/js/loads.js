// Loads: small behaviours for the load form, documents and the import preview.
(function () {
  "use strict";

  function showJsOnly(root) {
    (root || document).querySelectorAll("[data-js-only][hidden]").forEach(function (el) {
      el.hidden = false;
    });
  }

  // Cents from "1,234.56", "$1,234.56" or "(12.50)"; null when unreadable.
  function cents(text) {
    var value = (text || "").replace(/[$,\s]/g, "");
    if (!value) { return 0; }
    var negative = /^\(.*\)$/.test(value);
    value = value.replace(/[()]/g, "");
    if (!/^-?\d+(\.\d{1,2})?$/.test(value)) { return null; }
    var n = Math.round(parseFloat(value) * 100);
    return negative ? -n : n;
  }

  function money(c) {
    var sign = c < 0 ? "-" : "";
    c = Math.abs(c);
    var dollars = Math.floor(c / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + "$" + dollars + "." + String(c % 100).padStart(2, "0");
  }

  function updateTotal() {
    var cell = document.querySelector("[data-line-total]");
    if (!cell) { return; }
    var total = 0, unreadable = false;
    document.querySelectorAll("#line-rows input[name=line_amount]").forEach(function (input) {
      var c = cents(input.value);
      if (c === null) { unreadable = true; } else { total += c; }
    });
    cell.textContent = unreadable ? "check the amounts" : money(total);
  }

  document.addEventListener("DOMContentLoaded", function () {
    showJsOnly(document);
    updateTotal();
  });
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("input[name=line_amount]")) { updateTotal(); }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-remove-line]");
    if (!button) { return; }
    var row = button.closest("tr");
    var body = row && row.parentNode;
    if (body && body.querySelectorAll("tr").length > 1) {
      row.remove();
    } else if (row) {
      row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
    }
    updateTotal();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    showJsOnly(event.detail.target);
    updateTotal();
  });
  // Refusals are shown in place, not dropped: a 422 carries the reasons for the usual
  // target; a 413 (too large) or 400 (expired form) goes into the form's message slot.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    var form = elt && elt.closest && elt.closest("[data-swap-errors]");
    var status = event.detail.xhr.status;
    if (!form) { return; }
    if (status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else if (status === 413 || status === 400) {
      var slot = form.querySelector("[data-upload-error]");
      if (slot) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
        event.detail.target = slot;
        event.detail.swapOverride = "innerHTML";
      }
    }
  });
}());
