// Progressive enhancement for the quiz page: a countdown to the deadline the server enforces.
// Without JavaScript the page states the deadline in words; the server refuses late answers.
(function () {
  "use strict";
  var box = document.getElementById("quiz-deadline");
  if (!box) { return; }
  var deadline = Date.parse(box.getAttribute("data-deadline"));
  var out = box.querySelector(".quiz-timer");
  if (isNaN(deadline) || !out) { return; }
  var labelLeft = box.getAttribute("data-label-left") || "";
  var labelOver = box.getAttribute("data-label-over") || "";
  var announced = {};

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var left = Math.round((deadline - Date.now()) / 1000);
    if (left <= 0) {
      out.textContent = labelOver;
      out.setAttribute("aria-live", "assertive");
      box.classList.add("flash-error");
      return;
    }
    var minutes = Math.floor(left / 60);
    out.textContent = labelLeft + " " + minutes + ":" + pad(left % 60);
    // Announce to screen readers only at a few moments, not every second.
    if ((left <= 300 && !announced[5]) || (left <= 60 && !announced[1])) {
      announced[left <= 60 ? 1 : 5] = true;
      out.setAttribute("aria-live", "polite");
    } else {
      out.setAttribute("aria-live", "off");
    }
    window.setTimeout(tick, 1000);
  }
  tick();
})();
