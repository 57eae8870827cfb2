// Time inputs take UTC ISO-8601 ("2025-03-01T00:00Z") or a span ago ("24h"), as text, so the same
// value works with or without JavaScript (delivery/forms.py::TimeField); without this script the
// label says UTC. With it, each field shows one time, in the browser's local time:
// - a date-and-time picker in local time, its zone named in the label, takes the text input's place
//   and writes UTC into it (the text input, hidden, is what the form sends);
// - "Type a time instead" brings the text input back, in UTC, for ISO-8601 or "24h";
// - each preset link (1 h, 24 h, 7 d) fills the field with that time ago instead of reloading.
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

  function zoneName(date) {
    try {
      var parts = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(date);
      var zone = parts.find(function (part) { return part.type === "timeZoneName"; });
      return zone ? zone.value : "local";
    } catch (error) {
      return "local";
    }
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

  // The field's two ways in: the picker (local time) or the text input (UTC, or "24h").
  function showPicker(input, picker, zoneNote, switcher, usePicker) {
    input.hidden = usePicker;
    picker.hidden = !usePicker;
    input.required = !usePicker && picker.dataset.required === "true";
    picker.required = usePicker && picker.dataset.required === "true";
    document.querySelectorAll("label[for='" + (usePicker ? input.id : picker.id) + "']").forEach(function (label) {
      label.htmlFor = usePicker ? picker.id : input.id;
    });
    if (zoneNote) { zoneNote.textContent = usePicker ? "your time, " + zoneName(new Date()) : "UTC, or 24h for a span ago"; }
    switcher.textContent = usePicker ? "Type a time instead" : "Pick a time instead";
  }

  function enhanceInput(input) {
    var picker = document.createElement("input");
    picker.type = "datetime-local";
    picker.className = "time-picker";
    picker.id = input.id + "-local";
    picker.dataset.required = input.required ? "true" : "false";
    ["aria-describedby", "aria-invalid"].forEach(function (name) {
      if (input.hasAttribute(name)) { picker.setAttribute(name, input.getAttribute(name)); }
    });
    var field = input.closest(".field");
    var zoneNote = field ? field.querySelector("[data-time-zone]") : null;
    var switcher = document.createElement("button");
    switcher.type = "button";
    switcher.className = "link-button time-switch";
    function fromText() {
      var date = input.value ? parsed(input.value) : null;
      picker.value = date ? localText(date) : "";
    }
    picker.addEventListener("input", function () {
      var local = picker.value ? new Date(picker.value) : null;
      input.value = local && !isNaN(local.getTime()) ? utcText(local) : "";
    });
    input.addEventListener("input", fromText);
    switcher.addEventListener("click", function () {
      fromText();
      showPicker(input, picker, zoneNote, switcher, picker.hidden);
      (picker.hidden ? input : picker).focus();
    });
    fromText();
    input.insertAdjacentElement("afterend", picker);
    // A value the picker cannot show ("24h" typed, or an error to fix) stays in the text input.
    var usePicker = !input.value || (Boolean(picker.value) && !input.hasAttribute("aria-invalid"));
    var after = field ? field.querySelector("[data-time-presets]") || picker : picker;
    after.insertAdjacentElement("afterend", switcher);
    showPicker(input, picker, zoneNote, switcher, usePicker);
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
          var picker = document.getElementById(input.id + "-local");
          (picker && !picker.hidden ? picker : input).focus();
        });
      });
    });
    root.querySelectorAll("input[data-time-input]").forEach(function (input) {
      if (input.dataset.enhanced) { return; }
      input.dataset.enhanced = "true";
      enhanceInput(input);
    });
  }

  enhance(document);
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();
