// The mapping form: the label mirrors the event name until overridden, and the level
// inputs hide for Event IDs that cannot use them. The server enforces both rules anyway.
(function () {
  "use strict";
  var form = document.getElementById("mapping-form");
  if (!form) { return; }

  var nameInput = form.querySelector("[data-event-name-input]");
  var labelInput = form.querySelector("[data-label-input]");
  var labelSent = form.querySelector("[data-label-sent]");

  function showLabel() {
    var name = nameInput.value.trim();
    var label = labelInput.value.trim();
    labelInput.placeholder = name || "the event name";
    labelSent.textContent = "";
    if (!label && !name) { return; }
    var strong = document.createElement("strong");
    strong.textContent = label || name;
    labelSent.append("Label sent: ", strong, label ? " (custom)" : " (default)");
  }
  nameInput.addEventListener("input", showLabel);
  labelInput.addEventListener("input", showLabel);
  showLabel();

  var nonSequential = (form.dataset.nonSequential || "").split(",");
  var levels = form.querySelector("[data-level-fields]");
  var levelsNotUsed = form.querySelector("[data-levels-not-used]");
  var defaults = {
    main_level_property: "", main_level_value: "1", sub_level_property: "", sub_level_value: "0"
  };
  // What the user typed before picking Event ID 2 or 5, restored if they pick 1, 3 or 4 again.
  var stashed = null;

  function selectedField() {
    var checked = form.querySelector("input[name=event_field]:checked");
    return checked ? checked.value : "";
  }

  function showLevels() {
    var hide = nonSequential.indexOf(selectedField()) !== -1 && !levels.hasAttribute("data-has-errors");
    if (hide && !levels.hidden) {
      stashed = {};
      Object.keys(defaults).forEach(function (name) {
        var input = form.elements[name];
        stashed[name] = input.value;
        input.value = defaults[name];
      });
    } else if (!hide && levels.hidden && stashed) {
      Object.keys(stashed).forEach(function (name) { form.elements[name].value = stashed[name]; });
      stashed = null;
    }
    levels.hidden = hide;
    levelsNotUsed.hidden = !hide;
  }
  form.querySelectorAll("input[name=event_field]").forEach(function (radio) {
    radio.addEventListener("change", showLevels);
  });
  showLevels();
})();
