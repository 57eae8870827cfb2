// The Live events page (templates/apps/_live_events.html) polls every 2 s through htmx. A tab in the
// background asks nothing: each poll is cancelled while the page is hidden, and one is made at
// once when it is shown again. (htmx's own `[document.visibilityState === 'visible']` filter
// needs eval, which the CSP forbids.) Without JavaScript, the Refresh link reloads the page.
(function () {
  "use strict";

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var element = event.detail && event.detail.elt;
    if (element && element.hasAttribute("data-live-poll") && document.visibilityState !== "visible") {
      event.preventDefault();
    }
  });

  document.addEventListener("visibilitychange", function () {
    var live = document.querySelector("[data-live-poll]");
    if (live && document.visibilityState === "visible" && window.htmx) {
      window.htmx.trigger(live, "live-refresh");
    }
  });
})();
