// Progressive enhancement: a section marked data-reveal-for="NAME" data-reveal-value="VALUE" is
// shown only while the radio button NAME=VALUE is chosen (the wizard's key-source step shows
// the CSR upload only for "I generated my key myself"). Without JavaScript every section stays
// visible and the form works the same.
(function () {
  "use strict";
  document.querySelectorAll("[data-reveal-for]").forEach(function (section) {
    var name = section.getAttribute("data-reveal-for");
    var value = section.getAttribute("data-reveal-value");
    var form = section.closest("form") || document;
    var radios = form.querySelectorAll('input[type="radio"][name="' + name + '"]');
    if (!radios.length) { return; }
    function update() {
      var chosen = form.querySelector('input[type="radio"][name="' + name + '"]:checked');
      section.hidden = !chosen || chosen.value !== value;
    }
    radios.forEach(function (radio) {
      radio.setAttribute("aria-controls", section.id || "");
      radio.addEventListener("change", update);
    });
    update();
  });
})();
