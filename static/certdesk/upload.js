// Progressive enhancement of the certificate upload: dropping a file on the zone puts it in
// the file input. Without JavaScript the plain file input and the text area still work.
(function () {
  "use strict";
  document.querySelectorAll("[data-dropzone]").forEach(function (zone) {
    var input = document.getElementById(zone.getAttribute("data-dropzone"));
    if (!input || typeof DataTransfer === "undefined") { return; }
    var hint = zone.querySelector(".dropzone-hint");
    if (hint) { hint.hidden = false; }
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
      }
    });
  });
})();
