// Times on pages are written in UTC as <time datetime="...Z"> (trackerui/dashboard/templatetags/dashboard_tags.py).
// This shows each in the browser's local time, keeps UTC in the tooltip, and keeps relative times
// ("next attempt in 8 s", "3 min ago") true by ticking them. Without it, the UTC text stays.
(function () {
  "use strict";

  function pad(number) { return String(number).padStart(2, "0"); }

  function zoneName(date) {
    try {
      var parts = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(date);
      var zone = parts.find(function (part) { return part.type === "timeZoneName"; });
      return zone ? zone.value : "";
    } catch (error) {
      return "";
    }
  }

  function local(date, withSeconds) {
    var text = date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " +
      pad(date.getHours()) + ":" + pad(date.getMinutes()) + (withSeconds ? ":" + pad(date.getSeconds()) : "");
    var zone = zoneName(date);
    return zone ? text + " " + zone : text;
  }

  function span(seconds) {
    if (seconds < 60) { return seconds + " s"; }
    if (seconds < 3600) { return Math.floor(seconds / 60) + " min"; }
    if (seconds < 86400) { return Math.floor(seconds / 3600) + " h"; }
    return Math.floor(seconds / 86400) + " d";
  }

  function relative(date, now, due) {
    var seconds = Math.round((date.getTime() - now) / 1000);
    // A next attempt whose time has come is being sent, not "1 s ago".
    if (due && seconds <= 0) { return "due now"; }
    if (seconds === 0) { return "now"; }
    return seconds > 0 ? "in " + span(seconds) : span(-seconds) + " ago";
  }

  function show(element, now) {
    var date = new Date(element.getAttribute("datetime"));
    if (isNaN(date.getTime())) { return; }
    var absolute = local(date, element.hasAttribute("data-seconds"));
    if (!element.dataset.utcTitle) { element.dataset.utcTitle = element.title || ""; }
    if (element.hasAttribute("data-relative")) {
      element.textContent = relative(date, now, element.hasAttribute("data-due"));
      element.title = absolute + " · " + element.dataset.utcTitle;
    } else {
      element.textContent = absolute;
      element.title = element.dataset.utcTitle;
    }
  }

  function showAll(root) {
    var now = Date.now();
    (root || document).querySelectorAll("time[datetime]").forEach(function (element) { show(element, now); });
  }

  showAll(document);
  // Content that htmx swaps in is shown the same way.
  document.addEventListener("htmx:load", function (event) { showAll(event.target); });
  window.setInterval(function () {
    var now = Date.now();
    document.querySelectorAll("time[data-relative]").forEach(function (element) { show(element, now); });
  }, 1000);
})();
