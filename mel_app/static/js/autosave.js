/* Saves the open draft every 30 seconds while the page is open, and when the page is hidden.
   Optional: without it, "Save draft" does the same. The server refuses a save made on an
   outdated version (someone else saved in between); then this script stops and says so, and
   "Save draft" shows both versions side by side. Files are only sent by "Save draft". */
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave-url]");
  if (!form || !window.fetch || !window.FormData) { return; }
  var url = form.getAttribute("data-autosave-url");
  var seconds = parseInt(form.getAttribute("data-autosave-seconds"), 10) || 30;
  var status = document.getElementById("autosave-status");
  var busy = false, stopped = false, submitPending = false, submitter = null;

  function say(text) { if (status) { status.textContent = text; } }

  // The form's content as text; with `original`, as the server sent it. Comparing contents
  // (rather than listening for typing) also catches what was typed before this script ran.
  function content(original) {
    var parts = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "file" || el.type === "submit" || el.type === "hidden") { return; }
      var value;
      if (el.type === "checkbox" || el.type === "radio") {
        value = original ? el.defaultChecked : el.checked;
      } else if (el.tagName === "SELECT") {
        value = Array.prototype.map.call(el.options, function (o) {
          return original ? o.defaultSelected : o.selected;
        }).join(",");
      } else {
        value = original ? el.defaultValue : el.value;
      }
      parts.push(el.name + "=" + value);
    });
    return parts.join("\n");
  }

  var saved = content(true);   // what the server holds
  var refused = null;          // content the server refused as invalid: not sent again

  form.addEventListener("submit", function (event) {
    if (busy) {
      // Let the automatic save finish first, so the form carries the version it produced.
      event.preventDefault();
      submitPending = true;
      submitter = event.submitter || null;
      return;
    }
    stopped = true;
  });

  function finish() {
    busy = false;
    if (submitPending) {
      submitPending = false;
      stopped = true;
      if (form.requestSubmit) {
        if (submitter) { form.requestSubmit(submitter); } else { form.requestSubmit(); }
      } else {
        form.submit();
      }
    }
  }

  function save() {
    if (busy || stopped) { return; }
    var current = content(false);
    if (current === saved || current === refused) { return; }
    busy = true;
    var data = new FormData(form);
    Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
      data.delete(input.name);
    });
    fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) { return { status: response.status, body: body }; });
    }).then(function (result) {
      if (result.status === 200 && result.body.ok) {
        form.elements.version.value = result.body.version;
        if (form.elements.base && result.body.base) { form.elements.base.value = result.body.base; }
        saved = current;
        say(result.body.message);
        // drafts.js: the server has this text now, the copy on this device can go.
        form.dispatchEvent(new CustomEvent("draft:saved"));
      } else {
        say(result.body.message || "");
        if (result.status === 422) { refused = current; }
        // 401: signed out after a time without activity; "Save draft" keeps the text.
        if (result.status === 409 || result.status === 403 || result.status === 401) { stopped = true; }
      }
    }).catch(function () {
      var drafts = document.getElementById("drafts");
      say(drafts && drafts.dataset.offline ? drafts.dataset.offline
        : (status ? status.getAttribute("data-offline-message") : ""));
    }).then(finish, finish);
  }

  window.setInterval(save, seconds * 1000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { save(); }
  });
})();
