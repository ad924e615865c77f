/* The browser's time zone, as a default the user can see and change. Optional: without it the
   configured default (UTC) applies until the user chooses a zone on the account page.
   - Sign-in pages: fills the hidden field, kept on the account of a user who has no zone yet.
   - Account page: says which zone this browser is set to and offers to use it; an empty field
     is filled with it (saved only when the user presses Save). */
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }

  Array.prototype.forEach.call(document.querySelectorAll("input[data-browser-time-zone]"), function (el) {
    el.value = zone;
  });

  var field = document.querySelector("input[name='time_zone']");
  var note = document.getElementById("browser-zone");
  if (!field || !note) { return; }
  var known = Array.prototype.some.call(document.querySelectorAll("#time-zones option"), function (o) {
    return o.value === zone;
  });
  if (!known) { return; }
  if (!field.value) { field.value = zone; }
  if (field.value === zone) {
    note.textContent = note.getAttribute("data-text").replace("{zone}", zone);
    note.hidden = false;
    return;
  }
  var button = document.createElement("button");
  button.type = "button";
  button.className = "link-button";
  button.textContent = note.getAttribute("data-button");
  button.addEventListener("click", function () {
    field.value = zone;
    field.focus();
    button.remove();
  });
  note.textContent = note.getAttribute("data-text").replace("{zone}", zone) + " ";
  note.appendChild(button);
  note.hidden = false;
})();
