/* Print buttons on print layouts and the timetable: a static file, so no inline script is needed
   under the strict CSP of our own pages. */
(function () {
  "use strict";
  // A receipt counts its prints (the server marks the next one COPY): the browser's print event
  // covers the button and Ctrl+P alike; after the first, this page shows the COPY mark too.
  function countPrints() {
    var form = document.querySelector("[data-printed-form]");
    if (!form) { return; }
    window.addEventListener("beforeprint", function () {
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" });
    });
    window.addEventListener("afterprint", function () {
      var mark = document.querySelector("[data-copy-mark]");
      if (mark) { mark.hidden = false; }
    });
  }
  function bind() {
    document.querySelectorAll("[data-print-page]").forEach(function (button) {
      button.addEventListener("click", function () {
        window.print();
      });
    });
    countPrints();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", bind);
  } else {
    bind();
  }
})();
