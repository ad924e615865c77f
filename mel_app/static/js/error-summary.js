/* The error summary (templates/_macros/forms.html): move the keyboard focus to it when the page
   opens, so screen readers announce it and the page shows it, wherever the form was; a link of the
   summary moves the focus into its field and brings the field's label into view. Without this
   script the summary's `autofocus` and its plain #field links do nearly the same. */
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) { return; }
    if (document.activeElement !== summary) { summary.focus(); }
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) { return; }
      var input = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
      if (!input) { return; }
      event.preventDefault();
      var details = input.closest("details");
      if (details) { details.open = true; }
      var label = document.querySelector("label[for='" + input.id + "']");
      var legend = input.closest("fieldset") && input.closest("fieldset").querySelector("legend");
      var visible = label && label.offsetParent !== null ? label : legend || input;
      visible.scrollIntoView();
      input.focus({ preventScroll: true });
      if (history.replaceState) { history.replaceState(null, "", link.getAttribute("href")); }
    });
  });
})();
