// Progressive enhancement: a "Copy" button beside a read-only value (the calendar feed URL).
// The button is hidden in the page and shown only here, so without JavaScript people select
// and copy the value themselves. <button data-copy="ID"> copies the field #ID; an element with
// data-copy-status="ID" says what happened (role="status", read by screen readers).
(function () {
  "use strict";
  function say(id, text) {
    var status = document.querySelector('[data-copy-status="' + id + '"]');
    if (status) { status.textContent = text; }
  }
  function copyBySelection(field) {
    field.focus();
    field.select();
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var id = button.getAttribute("data-copy");
    var field = document.getElementById(id);
    if (!field) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () { say(id, "Copied."); };
      var failed = function () {
        field.focus();
        field.select();
        say(id, "Press Ctrl+C (or \u2318C) to copy the selected URL.");
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          if (copyBySelection(field)) { done(); } else { failed(); }
        });
      } else if (copyBySelection(field)) {
        done();
      } else {
        failed();
      }
    });
  });
})();
