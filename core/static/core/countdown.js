// The auto-cancel countdowns on today's board and the dashboard (R6): each clock counts down to
// its data-cancel-at every second, using the server's clock (data-now) rather than the device's.
// A minute after a clock runs out the page reloads once, to show the class cancelled.
(function () {
  "use strict";
  var list = document.querySelector("[data-countdowns]");
  if (!list) { return; }
  var offset = (Date.parse(list.getAttribute("data-now")) || Date.now()) - Date.now();
  var timers = Array.prototype.slice.call(list.querySelectorAll("[data-cancel-at]"));
  var reloadScheduled = false;

  function pad(number) { return (number < 10 ? "0" : "") + number; }

  function tick() {
    var now = Date.now() + offset;
    timers.forEach(function (timer) {
      var left = Math.max(0, Math.round((Date.parse(timer.getAttribute("data-cancel-at")) - now) / 1000));
      var clock = timer.querySelector(".countdown-clock");
      if (left > 0) {
        clock.textContent = Math.floor(left / 60) + ":" + pad(left % 60);
        return;
      }
      clock.textContent = timer.getAttribute("data-over-text");
      timer.classList.add("is-over");
      if (!reloadScheduled) {
        reloadScheduled = true;
        window.setTimeout(function () { window.location.reload(); }, 65000);
      }
    });
  }

  tick();
  window.setInterval(tick, 1000);
}());
