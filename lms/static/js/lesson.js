// Reading time on a lesson page: the seconds the page was visible are sent to the server when
// the page is hidden (another tab, the phone locked, the page closed). Progressive: without
// this script the lesson still reads and "mark complete" still works.
(function () {
  "use strict";
  var tracker = document.getElementById("lesson-time");
  if (!tracker || !navigator.sendBeacon) {
    return;
  }
  var url = tracker.dataset.url;
  var token = tracker.dataset.csrfToken;
  var visibleSince = document.visibilityState === "visible" ? Date.now() : null;
  var pending = 0; // milliseconds visible and not yet reported

  function pause() {
    if (visibleSince !== null) {
      pending += Date.now() - visibleSince;
      visibleSince = null;
    }
  }

  function report() {
    pause();
    var seconds = Math.floor(pending / 1000);
    if (seconds < 1) {
      return;
    }
    var data = new FormData();
    data.append("csrf_token", token);
    data.append("seconds", String(seconds));
    if (navigator.sendBeacon(url, data)) {
      pending -= seconds * 1000;
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      report();
    } else if (visibleSince === null) {
      visibleSince = Date.now();
    }
  });
  window.addEventListener("pagehide", report);
})();
