/* Print buttons on print layouts and the timetable: a static file, so no inline script is needed
   under the strict CSP of our own pages. */
(function () {
  "use strict";
  function bind() {
    document.querySelectorAll("[data-print-page]").forEach(function (button) {
      button.addEventListener("click", function () {
        window.print();
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", bind);
  } else {
    bind();
  }
})();
