// The quiz countdown: counts the server's remaining time down on the page. The server keeps
// the real deadline; without this script the page shows the time left when it was loaded.
(function () {
  "use strict";
  var box = document.getElementById("time-left");
  if (!box) return;
  var clock = box.querySelector("time.countdown");
  var end = Date.now() + Number(box.dataset.seconds) * 1000;
  function tick() {
    var left = Math.max(0, Math.round((end - Date.now()) / 1000));
    var minutes = Math.floor(left / 60);
    var seconds = left % 60;
    clock.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
    clock.setAttribute("datetime", "PT" + left + "S");
    if (left === 0) {
      box.classList.add("time-up");
      return;
    }
    window.setTimeout(tick, 1000);
  }
  tick();
})();
