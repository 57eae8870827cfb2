// Time inputs take UTC ISO-8601 ("2025-03-01T00:00Z") or a span ago ("24h"), as text, so the same
// value works with or without JavaScript (delivery/forms.py::TimeField). With this script:
// - each preset link (1 h, 24 h, 7 d) fills its input with that time ago, in UTC, instead of reloading;
// - each input gets a date-and-time picker in the browser's local time, which writes UTC into it.
(function () {
  "use strict";

  var UNITS = { s: 1, m: 60, h: 3600, d: 86400 };

  function pad(number) { return String(number).padStart(2, "0"); }

  function utcText(date) {
    return date.getUTCFullYear() + "-" + pad(date.getUTCMonth() + 1) + "-" + pad(date.getUTCDate()) +
      "T" + pad(date.getUTCHours()) + ":" + pad(date.getUTCMinutes()) + "Z";
  }

  function localText(date) {
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes());
  }

  function ago(preset) {
    var match = /^(\d+)([smhd])$/.exec(preset);
    return match ? new Date(Date.now() - Number(match[1]) * UNITS[match[2]] * 1000) : null;
  }

  function parsed(text) {
    var span = ago(text.trim());
    if (span) { return span; }
    var date = new Date(/Z|[+-]\d\d:?\d\d$/.test(text) ? text : text.replace(" ", "T") + "Z");
    return isNaN(date.getTime()) ? null : date;
  }

  function enhance(root) {
    root.querySelectorAll("[data-time-presets]").forEach(function (group) {
      if (group.dataset.enhanced) { return; }
      group.dataset.enhanced = "true";
      var input = document.getElementById(group.dataset.timePresets);
      if (!input) { return; }
      group.querySelectorAll("a[data-preset]").forEach(function (link) {
        link.addEventListener("click", function (event) {
          var date = ago(link.dataset.preset);
          if (!date) { return; }
          event.preventDefault();
          input.value = utcText(date);
          input.dispatchEvent(new Event("input", { bubbles: true }));
          input.focus();
        });
      });
    });
    root.querySelectorAll("input[data-time-input]").forEach(function (input) {
      if (input.dataset.enhanced) { return; }
      input.dataset.enhanced = "true";
      var picker = document.createElement("input");
      picker.type = "datetime-local";
      picker.className = "time-picker";
      picker.setAttribute("aria-label", "Pick a date and time (your local time)");
      function fromText() {
        var date = input.value ? parsed(input.value) : null;
        picker.value = date ? localText(date) : "";
      }
      picker.addEventListener("change", function () {
        if (!picker.value) { return; }
        var local = new Date(picker.value);
        if (!isNaN(local.getTime())) { input.value = utcText(local); }
      });
      input.addEventListener("input", fromText);
      fromText();
      input.insertAdjacentElement("afterend", picker);
    });
  }

  enhance(document);
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();
