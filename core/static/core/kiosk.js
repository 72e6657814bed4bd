// The door kiosk: posts each scan with the device token; the server decides everything.
// No inline script (strict CSP): configuration comes from data attributes on <body>.
(function () {
  "use strict";
  var TOKEN_KEY = "kioskToken";
  var body = document.body;
  var tokenForm = document.getElementById("token-form");
  var scanForm = document.getElementById("scan-form");
  var scanInput = document.getElementById("scan-input");
  var result = document.getElementById("result");
  var resultMessage = document.getElementById("result-message");
  var resultStudent = document.getElementById("result-student");

  function show(colour, message, student) {
    result.dataset.colour = colour;
    resultMessage.textContent = message || "";
    resultStudent.textContent = student || "";
  }

  function scanId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return String(Date.now()) + "-" + Math.random().toString(16).slice(2);
  }

  // On the supervisor's page the staff login authenticates: no device token.
  var staffMode = body.dataset.mode === "staff";

  function ready() {
    var hasToken = staffMode || Boolean(window.localStorage.getItem(TOKEN_KEY));
    tokenForm.hidden = hasToken;
    scanForm.hidden = !hasToken;
    (hasToken ? scanInput : document.getElementById("token-input")).focus();
  }

  tokenForm.addEventListener("submit", function (event) {
    event.preventDefault();
    window.localStorage.setItem(TOKEN_KEY, document.getElementById("token-input").value.trim());
    ready();
  });

  scanForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = scanInput.value;
    scanInput.value = "";
    if (!code.trim()) { return; }
    fetch(body.dataset.scanUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": body.dataset.csrf,
        "X-Kiosk-Token": staffMode ? "" : (window.localStorage.getItem(TOKEN_KEY) || "")
      },
      body: JSON.stringify({ code: code, client_scan_id: scanId() })
    }).then(function (response) {
      if (response.status === 401 && !staffMode) {
        window.localStorage.removeItem(TOKEN_KEY);
        show("red", body.dataset.refused, "");
        ready();
        return null;
      }
      return response.json();
    }).then(function (answer) {
      if (!answer) { return; }
      if (answer.error) { show("white", answer.error, ""); return; }
      show(answer.colour, answer.message, answer.student ? answer.student.name + " · " + answer.student.code : "");
    }).catch(function () {
      show("white", body.dataset.offline, "");
    }).finally(function () {
      scanInput.focus();
    });
  });

  ready();
}());
