/* Never lose a word typed in the organisation's form (optional: without JavaScript the server
   keeps a post sent after the session expired, and "Add comment" saves the form's changes).

   - A copy of the unsaved form is kept in this browser's localStorage, under the user, the
     submission and the version it was typed on; never files. It is offered back ("Restore my
     unsaved text" / "Discard") when the page is opened again after a crash, a closed tab or a
     lost connection, and removed once the page shows the same text saved. Signing out clears it
     (the server sends Clear-Site-Data).
   - Without a connection, "Save draft" is held back and the text stays on this device.
   - Leaving the page with unsaved changes asks first (not when the form itself is sent).
   - Every text field with a limit shows how many characters it holds ("1,234 / 20,000").
   The words come from the page (#drafts data-*), translated by the server. */
(function () {
  "use strict";
  var info = document.getElementById("drafts");
  if (!info) { return; }
  var words = info.dataset;
  var locale = document.documentElement.lang || "en";
  var numbers = window.Intl ? new Intl.NumberFormat(locale) : { format: String };

  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key]; });
  }

  // --- Counters ---------------------------------------------------------------------------------
  Array.prototype.forEach.call(document.querySelectorAll("[data-maxlength]"), function (field) {
    var max = parseInt(field.getAttribute("data-maxlength"), 10);
    if (!max || !field.id) { return; }
    var counter = document.createElement("p");
    counter.className = "hint counter";
    counter.id = field.id + "-count";
    field.insertAdjacentElement("afterend", counter);
    var described = field.getAttribute("aria-describedby");
    field.setAttribute("aria-describedby", (described ? described + " " : "") + counter.id);
    function update() {
      var count = field.value.length;
      var text = fill(words.counter, { count: numbers.format(count), max: numbers.format(max) });
      if (count > max) {
        text += " " + fill(words.over, { count: numbers.format(count - max) });
      }
      counter.textContent = text;
      counter.classList.toggle("error", count > max);
    }
    field.addEventListener("input", update);
    update();
  });

  var form = document.getElementById("edit");
  var store = null;
  try { store = window.localStorage; } catch (e) { store = null; }
  var prefix = "mel-draft:u" + words.user + ":s" + words.submission + ":";

  function copies() {
    var found = [];
    if (!store) { return found; }
    for (var i = 0; i < store.length; i++) {
      var key = store.key(i);
      if (key && key.indexOf(prefix) === 0) { found.push(key); }
    }
    return found;
  }
  function forget() { copies().forEach(function (key) { store.removeItem(key); }); }

  if (!form) {
    // The submission cannot be edited any more (submitted, approved): a copy has nowhere to go.
    if (words.editable === "0") { forget(); }
    return;
  }

  // The user's words: every field but files, buttons and hidden fields (token, version, base).
  function kept(el) {
    return el.name && el.type !== "file" && el.type !== "submit" && el.type !== "hidden" &&
      el.type !== "button";
  }
  function snapshot(original) {
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!kept(el)) { return; }
      if (el.type === "checkbox" || el.type === "radio") {
        fields.push([el.name, el.value, original ? el.defaultChecked : el.checked]);
      } else if (el.tagName === "SELECT") {
        var chosen = Array.prototype.filter.call(el.options, function (o) {
          return original ? o.defaultSelected : o.selected;
        }).map(function (o) { return o.value; });
        fields.push([el.name, chosen.join("\n"), true]);
      } else {
        fields.push([el.name, original ? el.defaultValue : el.value, true]);
      }
    });
    return fields;
  }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  var server = snapshot(true);          // what the page came with
  var unsaved = words.unsaved === "1";  // a conflict or a restored text: not saved yet
  var sending = false;

  function changed() { return unsaved || !same(snapshot(false), server); }

  function keyFor(version) { return prefix + "v" + version; }
  function save() {
    if (!store) { return; }
    var version = form.elements.version ? form.elements.version.value : "";
    if (!changed()) { forget(); return; }
    var base = form.elements.base ? form.elements.base.value : "";
    try {
      forget();
      store.setItem(keyFor(version), JSON.stringify({
        at: Date.now(), version: version, base: base, fields: snapshot(false)
      }));
    } catch (e) { /* storage full or refused: the server's draft is all there is */ }
  }
  var timer = null;
  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(save, 400);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  // Fields of other parts of the page that belong to this form (the comment box).
  document.addEventListener("input", function (e) { if (e.target.form === form) { later(); } });
  window.addEventListener("pagehide", function () { if (!sending) { save(); } });
  // Signing out: no copy stays behind for the next person using this browser.
  document.addEventListener("submit", function (event) {
    var action = event.target.getAttribute("action") || "";
    if (/\/logout$/.test(action)) {
      forget();
      store = null;  // nothing is written after this, not even when the page goes
      sending = true;
    }
  });

  // The page's script for automatic saving says when the server has the text.
  form.addEventListener("draft:saved", function () {
    server = snapshot(false);
    unsaved = false;
    forget();
  });

  // --- Offering a copy back ----------------------------------------------------------------------
  function put(fields) {
    var byName = {};
    fields.forEach(function (f) { (byName[f[0]] = byName[f[0]] || []).push(f); });
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!kept(el) || !byName[el.name]) { return; }
      var list = byName[el.name];
      if (el.type === "checkbox" || el.type === "radio") {
        var match = list.filter(function (f) { return f[1] === el.value; })[0];
        el.checked = !!(match && match[2]);
      } else if (el.tagName === "SELECT") {
        var values = String(list[0][1]).split("\n");
        Array.prototype.forEach.call(el.options, function (o) { o.selected = values.indexOf(o.value) >= 0; });
      } else {
        el.value = list.shift()[1];
        el.dispatchEvent(new Event("input", { bubbles: true }));
      }
    });
  }

  function offer() {
    var keys = copies();
    if (!keys.length) { return; }
    var copy = null;
    try { copy = JSON.parse(store.getItem(keys[0])); } catch (e) { copy = null; }
    if (!copy || !copy.fields) { forget(); return; }
    if (same(copy.fields, snapshot(false))) { forget(); return; }  // the page has it: saved
    var banner = document.createElement("div");
    banner.className = "flash flash-warning draft-banner";
    banner.setAttribute("role", "region");
    banner.setAttribute("aria-label", words.restoreTitle);
    var text = document.createElement("p");
    text.textContent = fill(words.restorePrompt, {
      when: new Date(copy.at).toLocaleString(locale)
    });
    var restore = document.createElement("button");
    restore.type = "button";
    restore.textContent = words.restore;
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "secondary";
    discard.textContent = words.discard;
    var actions = document.createElement("div");
    actions.className = "actions";
    actions.appendChild(restore);
    actions.appendChild(discard);
    banner.appendChild(text);
    banner.appendChild(actions);
    form.parentNode.insertBefore(banner, form);
    restore.addEventListener("click", function () {
      put(copy.fields);
      // Saved against the version it was typed on: a save in between is merged, never overwritten.
      if (form.elements.version && copy.version) { form.elements.version.value = copy.version; }
      if (form.elements.base && copy.base) { form.elements.base.value = copy.base; }
      unsaved = true;
      banner.remove();
      say(words.restored);
      save();
    });
    discard.addEventListener("click", function () { forget(); banner.remove(); });
  }

  // --- No connection, leaving the page -----------------------------------------------------------
  var status = document.getElementById("autosave-status");
  function say(text) { if (status) { status.textContent = text; } }

  form.addEventListener("submit", function (event) {
    if (navigator.onLine === false) {
      event.preventDefault();
      event.stopImmediatePropagation();
      save();
      say(words.offline);
      return;
    }
    save();
    sending = true;
  }, true);
  window.addEventListener("offline", function () { save(); say(words.offline); });
  window.addEventListener("online", function () { say(words.online); });

  window.addEventListener("beforeunload", function (event) {
    if (sending || !changed()) { return; }
    save();
    event.preventDefault();
    event.returnValue = "";
  });

  // On a conflict, choosing a version shows it in the field at once (without JavaScript the
  // server puts the chosen one in when the form is saved).
  Array.prototype.forEach.call(document.querySelectorAll("fieldset.clash"), function (set) {
    var field = document.getElementById(set.getAttribute("data-field"));
    var mine = set.querySelector("input[type=hidden]");
    if (!field || !mine || !("defaultValue" in field) || field.type === "checkbox") { return; }
    set.addEventListener("change", function (event) {
      if (event.target.type !== "radio") { return; }
      field.value = event.target.value === "mine" ? mine.value : field.defaultValue;
      field.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });

  offer();
  if (unsaved) { save(); }
})();
