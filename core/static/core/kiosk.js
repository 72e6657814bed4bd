// The door kiosk: posts each scan with the device token; the server decides everything.
// No inline script (strict CSP): settings come from data attributes on <body>, texts from the
// JSON block #kiosk-strings. Input: a USB scanner typing into an always-focused field (Enter
// submits), the on-screen keypad, or the camera (BarcodeDetector, else the vendored jsQR).
// Offline (kiosk mode only): scans go to an IndexedDB queue with their own time and id and are
// replayed in order when the network is back; the server is idempotent on the id. A service
// worker (kiosk-sw.js, kiosk mode only) keeps a copy of the page so that it loads even offline.
(function () {
  "use strict";
  var TOKEN_KEY = "kioskToken";
  var RESULT_MS = 3000;
  var SAME_CODE_MS = 3000; // the camera sees a card many times a second: one scan per card
  var RETRY_MS = 15000;
  var ROSTER_MS = 30000;
  // A request the server has not answered in this long is given up: the scan goes to the offline
  // queue (a stalled database must not hold the door). The replay keeps its client scan id, so a
  // scan the server still commits late is not counted twice.
  var REQUEST_TIMEOUT_MS = Number(document.body.dataset.requestTimeoutMs) || 5000;

  var body = document.body;
  var staffMode = body.dataset.mode === "staff";
  var strings = JSON.parse(document.getElementById("kiosk-strings").textContent);
  var el = function (id) { return document.getElementById(id); };
  var tokenForm = el("token-form");
  var door = el("door");
  var scanForm = el("scan-form");
  var scanInput = el("scan-input");
  var result = el("result");
  var banner = el("offline-banner");

  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (match, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : match;
    });
  }

  function token() { return window.localStorage.getItem(TOKEN_KEY) || ""; }

  // --- the answer on screen, and its sound -------------------------------------------------------

  var resultTimer = null;

  // The server's sentence with each known name in its own <bdi> (an Arabic name inside an English
  // sentence keeps its place), built as DOM nodes: server text never goes through innerHTML.
  function isolatedText(parent, text, names) {
    var parts = [{ text: text }];
    names.filter(function (item) { return item.text; })
      .sort(function (a, b) { return b.text.length - a.text.length; })
      .forEach(function (item) {
        var next = [];
        parts.forEach(function (part) {
          if (part.className !== undefined) { next.push(part); return; }
          part.text.split(item.text).forEach(function (piece, index) {
            if (index) { next.push({ text: item.text, className: item.className }); }
            if (piece) { next.push({ text: piece }); }
          });
        });
        parts = next;
      });
    parts.forEach(function (part) {
      parent.appendChild(part.className !== undefined ? node("bdi", part.className, part.text) : document.createTextNode(part.text));
    });
  }

  function show(colour, message, answer) {
    var student = answer && answer.student;
    var teacher = answer && answer.teacher;
    var session = answer && answer.session;
    var name = student ? student.name : (teacher ? teacher.name : "");
    var group = session ? session.group : "";
    message = message || "";
    result.dataset.colour = colour;
    // Each piece once: the name as the heading unless the sentence already says it (then it is
    // bold there), the group line only when the sentence does not name the group.
    var nameLine = el("result-student");
    var groupLine = el("result-group");
    var messageLine = el("result-message");
    nameLine.textContent = "";
    groupLine.textContent = "";
    messageLine.textContent = "";
    nameLine.hidden = !name || message.indexOf(name) !== -1;
    if (!nameLine.hidden) { nameLine.appendChild(node("bdi", "", name)); }
    result.dataset.named = name && nameLine.hidden ? "in-message" : "";
    isolatedText(messageLine, message, [{ text: name, className: "kiosk-em" }, { text: group, className: "kiosk-em-group" }]);
    groupLine.hidden = !group || message.indexOf(group) !== -1;
    if (!groupLine.hidden) {
      groupLine.appendChild(node("bdi", "", group));
      groupLine.appendChild(document.createTextNode(" · " + session.starts_at));
    }
    var photo = el("result-photo");
    if (student && student.photo) {
      photo.src = student.photo;
      photo.hidden = false;
    } else {
      photo.hidden = true;
      photo.removeAttribute("src");
    }
    window.clearTimeout(resultTimer);
    if (colour !== "idle") { resultTimer = window.setTimeout(idle, RESULT_MS); }
  }

  function idle() { show("idle", strings.ready, null); }

  var audio = null;

  function audioUnlock() {
    // Browsers start sound only after a touch or a key press.
    var AudioContext = window.AudioContext || window.webkitAudioContext;
    if (!audio && AudioContext) { audio = new AudioContext(); }
    if (audio && audio.state === "suspended") { audio.resume(); }
  }

  function beep(colour) {
    if (!audio || audio.state !== "running") { return; }
    // admitted: two rising notes; refused: one low long tone; anything else: one short neutral note
    var tones = { green: [[880, 0, 0.12], [1320, 0.13, 0.15]], red: [[220, 0, 0.6]], yellow: [[330, 0, 0.35], [262, 0.4, 0.35]], offline: [[660, 0, 0.2]] };
    var notes = tones[colour] || [[520, 0, 0.12]];
    var start = audio.currentTime;
    notes.forEach(function (note) {
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      oscillator.type = colour === "green" ? "sine" : "square";
      oscillator.frequency.value = note[0];
      gain.gain.setValueAtTime(0.0001, start + note[1]);
      gain.gain.exponentialRampToValueAtTime(0.25, start + note[1] + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + note[1] + note[2]);
      oscillator.connect(gain);
      gain.connect(audio.destination);
      oscillator.start(start + note[1]);
      oscillator.stop(start + note[1] + note[2] + 0.05);
    });
  }

  // --- talking to the server ---------------------------------------------------------------------

  function headers() {
    return {
      "Content-Type": "application/json",
      "X-CSRFToken": body.dataset.csrf,
      "X-Kiosk-Token": staffMode ? "" : token()
    };
  }

  // fetch, rejected when no answer came within REQUEST_TIMEOUT_MS (as a network failure is).
  function fetchWithin(url, options) {
    if (!window.AbortController) { return fetch(url, options); }
    var controller = new AbortController();
    var timer = window.setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    options.signal = controller.signal;
    return fetch(url, options).then(function (response) {
      window.clearTimeout(timer);
      return response;
    }, function (error) {
      window.clearTimeout(timer);
      throw error;
    });
  }

  function post(scan) {
    return fetchWithin(body.dataset.scanUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: headers(),
      body: JSON.stringify(scan)
    });
  }

  // The page may come from the service worker's copy, made with an older CSRF token: before sending
  // the queue, ask the server for the current one. A network failure rejects (still offline).
  function csrfRefresh() {
    return fetchWithin(body.dataset.scanUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json().catch(function () { return null; }) : null; })
      .then(function (answer) { if (answer && answer.csrf_token) { body.dataset.csrf = answer.csrf_token; } });
  }

  function localIso(date) {
    // ISO 8601 with the tablet's own offset, e.g. 2026-11-26T21:50:03.120+02:00
    var pad = function (n, width) { return String(Math.abs(n)).padStart(width || 2, "0"); };
    var offset = -date.getTimezoneOffset();
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + "T" +
      pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds()) + "." +
      pad(date.getMilliseconds(), 3) + (offset >= 0 ? "+" : "-") + pad(Math.floor(Math.abs(offset) / 60)) + ":" +
      pad(Math.abs(offset) % 60);
  }

  function scanId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return String(Date.now()) + "-" + Math.random().toString(16).slice(2);
  }

  // --- the offline queue (IndexedDB, in scan order) --------------------------------------------------

  var queue = (function () {
    var opened = null;
    function db() {
      if (!opened) {
        opened = new Promise(function (resolve, reject) {
          if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
          var request = window.indexedDB.open("door-kiosk", 1);
          request.onupgradeneeded = function () { request.result.createObjectStore("scans", { keyPath: "seq", autoIncrement: true }); };
          request.onsuccess = function () { resolve(request.result); };
          request.onerror = function () { reject(request.error); };
        });
      }
      return opened;
    }
    // work(store, keep) starts one request and calls keep(value) from its success handler;
    // the promise settles when the transaction is complete (the write is on disk).
    function run(mode, work) {
      return db().then(function (database) {
        return new Promise(function (resolve, reject) {
          var tx = database.transaction("scans", mode);
          var kept = null;
          work(tx.objectStore("scans"), function (value) { kept = value; });
          tx.oncomplete = function () { resolve(kept); };
          tx.onerror = function () { reject(tx.error); };
          tx.onabort = function () { reject(tx.error); };
        });
      });
    }
    return {
      add: function (scan) { return run("readwrite", function (store) { store.add(scan); }); },
      first: function () {
        return run("readonly", function (store, keep) {
          store.openCursor().onsuccess = function (event) {
            var cursor = event.target.result;
            keep(cursor ? { seq: cursor.key, scan: cursor.value } : null);
          };
        });
      },
      remove: function (seq) { return run("readwrite", function (store) { store.delete(seq); }); },
      count: function () {
        return run("readonly", function (store, keep) {
          store.count().onsuccess = function (event) { keep(event.target.result); };
        });
      }
    };
  }());

  var waiting = 0;
  var replaying = false;
  var offline = false;

  function bannerUpdate() {
    return queue.count().then(function (count) {
      waiting = count || 0;
      banner.hidden = !(offline || waiting > 0);
      var text = replaying ? strings.sending : (waiting > 0 ? strings.offlineWaiting : strings.offline);
      banner.textContent = format(text, { count: waiting });
    }, function () { banner.hidden = !offline; });
  }

  // why: the server's own words when it answered "busy" (503 JSON), else "no connection".
  function enqueue(scan, why) {
    offline = true;
    return queue.add(scan).then(bannerUpdate).then(function () {
      show("offline", why ? why + " " + strings.busySaved : strings.savedOffline, { student: { name: scan.code } });
      beep("offline");
    }, function () {
      show("white", strings.noConnection, null);
    });
  }

  function replay() {
    if (staffMode || replaying || !token()) { return; }
    replaying = true;
    var dropped = 0;
    function next() {
      return queue.first().then(function (item) {
        if (!item) { offline = false; return null; }
        return post(item.scan).then(function (response) {
          if (response.ok || response.status === 400 || response.status === 413) {
            // 400: too old or malformed, the server will never take it; do not block the rest
            if (!response.ok) { dropped += 1; }
            return queue.remove(item.seq).then(bannerUpdate).then(next);
          }
          if (response.status === 401) { pairingLost(); }
          return null; // 429, 5xx: try again later, keeping the order
        });
      });
    }
    bannerUpdate()
      .then(csrfRefresh)
      .then(next)
      .catch(function () { offline = true; })
      .then(function () {
        replaying = false;
        if (dropped) { show("white", format(strings.dropped, { count: dropped }), null); }
        bannerUpdate();
        if (!offline) { rosterRefresh(); }
      });
  }

  // --- a scan ------------------------------------------------------------------------------------------

  function answered(answer) {
    if (answer.error) { show("white", answer.error, null); beep("white"); return; }
    show(answer.colour, answer.message, answer);
    beep(answer.colour);
    rosterRefresh();
  }

  function submit(code) {
    code = (code || "").trim();
    if (!code) { return; }
    // The admin's pairing QR shown to the door camera: pair with it, never send it as a scan (the
    // scan log would keep the token).
    var pairLink = /#pair=([A-Za-z0-9_-]{16,200})$/.exec(code);
    if (pairLink && !staffMode) { pairWith(pairLink[1]); return; }
    if (code.indexOf("#pair=") !== -1) { show("white", strings.pairLinkBad, null); return; }
    var scan = { code: code, client_scan_id: scanId(), at: localIso(new Date()) };
    if (!staffMode && (offline || waiting > 0 || navigator.onLine === false)) {
      enqueue(scan); // keep the order: nothing overtakes the scans already waiting
      return;
    }
    // Live scans are decided at the server's own time: no "at".
    post({ code: scan.code, client_scan_id: scan.client_scan_id }).then(function (response) {
      if (response.status === 401 && !staffMode) { pairingLost(); return null; }
      if (response.status >= 500 && !staffMode) {
        // 503 carries a translated sentence to show; a proxy's HTML error page does not.
        return response.json().catch(function () { return {}; }).then(function (answer) {
          return enqueue(scan, answer && answer.error).then(function () { return null; });
        });
      }
      return response.json();
    }).then(function (answer) {
      if (answer) { answered(answer); }
    }).catch(function () {
      if (staffMode) { show("white", strings.noConnection, null); return; }
      enqueue(scan);
    });
  }

  scanForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = scanInput.value;
    scanInput.value = "";
    submit(code);
  });

  el("keypad").addEventListener("click", function (event) {
    var key = event.target.closest("[data-key]");
    if (!key) { return; }
    var value = key.dataset.key;
    if (value === "enter") {
      var code = scanInput.value;
      scanInput.value = "";
      submit(code);
    } else if (value === "back") {
      scanInput.value = scanInput.value.slice(0, -1);
    } else if (value === "clear") {
      scanInput.value = "";
    } else {
      scanInput.value += value;
    }
    scanInput.focus();
  });

  // The scanner types wherever the focus is: keep it on the scan field.
  function refocus() {
    if (!door.hidden && document.activeElement !== scanInput) { scanInput.focus({ preventScroll: true }); }
  }
  scanInput.addEventListener("blur", function () { window.setTimeout(refocus, 50); });
  document.addEventListener("keydown", function (event) {
    audioUnlock();
    if (door.hidden || event.target === scanInput || event.target.id === "unpair" || event.ctrlKey || event.altKey || event.metaKey) { return; }
    if (event.key.length === 1 || event.key === "Enter") { refocus(); }
  }, true);
  document.addEventListener("pointerdown", audioUnlock);

  // --- the roster beside the scan box ------------------------------------------------------------------

  function node(tag, className, text) {
    var element = document.createElement(tag);
    if (className) { element.className = className; }
    if (text !== undefined) { element.textContent = text; }
    return element;
  }

  function rosterRender(sessions) {
    var box = el("roster");
    box.textContent = "";
    if (!sessions.length) { box.appendChild(node("p", "kiosk-muted", strings.noClass)); return; }
    sessions.forEach(function (session) {
      var card = node("section", "roster-session");
      card.appendChild(node("h3", "", session.group));
      var meta = session.starts_at + " · " + session.room + " · " +
        (session.status === "cancelled" ? strings.cancelled : (session.teacher_in ? strings.teacherIn : strings.teacherNotIn));
      card.appendChild(node("p", "roster-meta", meta));
      var counts = node("dl", "roster-counts");
      [["expected", "", strings.expected], ["in", "is-in", strings["in"]], ["late", "is-late", strings.late],
        ["refused", "is-refused", strings.refusedCount]].forEach(function (item) {
        var cell = node("div", item[1]);
        cell.appendChild(node("dt", "", item[2]));
        cell.appendChild(node("dd", "", String(session.counts[item[0]])));
        cell.dataset.count = item[0];
        counts.appendChild(cell);
      });
      card.appendChild(counts);
      [[strings.refusedCount, session.refused], [strings.late, session.late], [strings.waiting, session.waiting],
        [strings["in"], session.present]].forEach(function (list) {
        if (!list[1].length) { return; }
        var line = node("p", "roster-names");
        line.appendChild(node("strong", "", list[0] + ": "));
        line.appendChild(document.createTextNode(list[1].join("، ")));
        card.appendChild(line);
      });
      box.appendChild(card);
    });
  }

  var rosterPending = false;
  var rosterShown = false;

  function rosterRefresh() {
    if (rosterPending || door.hidden || !body.dataset.rosterUrl) { return; }
    rosterPending = true;
    fetchWithin(body.dataset.rosterUrl, { credentials: "same-origin", headers: { "X-Kiosk-Token": staffMode ? "" : token() } })
      .then(function (response) {
        // revoked while idle: say so within one roster refresh, not only at the next scan
        if (response.status === 401 && !staffMode) { pairingLost(); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (data) { if (data) { rosterRender(data.sessions); rosterShown = true; } })
      .catch(function () {
        // Offline: the banner says so; the roster waits. A page reloaded offline never had one, and
        // its "no class at this door" from the template would be wrong: say the list needs the network.
        if (!rosterShown) {
          var box = el("roster");
          box.textContent = "";
          box.appendChild(node("p", "kiosk-muted", strings.rosterOffline));
        }
      })
      .then(function () { rosterPending = false; });
  }

  // --- the camera ---------------------------------------------------------------------------------------

  var camera = { stream: null, timer: null, detector: null, lastCode: "", lastAt: 0 };
  var cameraButton = el("camera-toggle");
  cameraButton.hidden = !(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);

  function jsqrLoad() {
    if (window.jsQR) { return Promise.resolve(window.jsQR); }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = body.dataset.jsqrUrl;
      script.onload = function () { resolve(window.jsQR); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function decoderMake() {
    if ("BarcodeDetector" in window) {
      return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        if (formats.indexOf("qr_code") === -1) { throw new Error("no qr_code"); }
        var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return function (video) {
          return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : ""; });
        };
      }).catch(jsqrDecoder);
    }
    return jsqrDecoder();
  }

  function jsqrDecoder() {
    return jsqrLoad().then(function (jsQR) {
      var canvas = el("camera-canvas");
      var context = canvas.getContext("2d", { willReadFrequently: true });
      return function (video) {
        var width = video.videoWidth;
        var height = video.videoHeight;
        if (!width || !height) { return Promise.resolve(""); }
        var scale = Math.min(1, 640 / width); // small frames decode fast on a cheap tablet
        canvas.width = Math.round(width * scale);
        canvas.height = Math.round(height * scale);
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        var frame = context.getImageData(0, 0, canvas.width, canvas.height);
        var found = jsQR(frame.data, frame.width, frame.height, { inversionAttempts: "dontInvert" });
        return Promise.resolve(found ? found.data : "");
      };
    });
  }

  function cameraStop() {
    window.clearTimeout(camera.timer);
    if (camera.stream) { camera.stream.getTracks().forEach(function (track) { track.stop(); }); }
    camera.stream = null;
    el("camera").hidden = true;
    cameraButton.setAttribute("aria-pressed", "false");
    cameraButton.textContent = strings.cameraOn;
  }

  function cameraStart() {
    var video = el("camera-video");
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment", width: { ideal: 1280 } }, audio: false })
      .then(function (stream) {
        camera.stream = stream;
        video.srcObject = stream;
        el("camera").hidden = false;
        cameraButton.setAttribute("aria-pressed", "true");
        cameraButton.textContent = strings.cameraOff;
        return video.play().then(decoderMake);
      })
      .then(function (decode) {
        function tick() {
          if (!camera.stream) { return; }
          decode(video).then(function (code) {
            var now = Date.now();
            if (code && (code !== camera.lastCode || now - camera.lastAt > SAME_CODE_MS)) {
              camera.lastCode = code;
              camera.lastAt = now;
              submit(code);
            }
          }).catch(function () { /* a frame that could not be read: try the next one */ })
            .then(function () { camera.timer = window.setTimeout(tick, 200); });
        }
        tick();
      })
      .catch(function () {
        cameraStop();
        show("white", strings.cameraDenied, null);
      });
  }

  cameraButton.addEventListener("click", function () {
    if (camera.stream) { cameraStop(); } else { cameraStart(); }
    scanInput.focus();
  });

  // --- pairing, full screen, start ------------------------------------------------------------------------

  var tokenInput = el("token-input");
  var tokenMessage = el("token-message");

  // A line under the token field: "checking…" (info) or why the token was not kept (error).
  function tokenSay(text, kind) {
    tokenMessage.textContent = text || "";
    tokenMessage.dataset.kind = kind || "";
    tokenMessage.hidden = !text;
  }

  function ready() {
    var paired = staffMode || Boolean(token());
    tokenForm.hidden = paired;
    door.hidden = !paired;
    if (el("unpair")) { el("unpair").hidden = !paired; }
    if (paired) {
      tokenSay("");
      idle();
      scanInput.focus();
      rosterRefresh();
      replay();
    } else {
      cameraStop();
      tokenInput.focus();
    }
  }

  function pairingLost() {
    // 401 while scanning: the kiosk was revoked (or its token is wrong). Say so on the token form.
    window.localStorage.removeItem(TOKEN_KEY);
    ready();
    tokenSay(strings.refused, "error");
    beep("red");
  }

  // A token is kept only once the server knows it: the roster answers 200 for a good token, 401
  // for a wrong or revoked one. Without a network nothing is kept: the form says so and keeps it.
  function tokenCheck(candidate) {
    return fetch(body.dataset.rosterUrl, { credentials: "same-origin", headers: { "X-Kiosk-Token": candidate } })
      .then(function (response) {
        if (response.ok) { return { ok: true }; }
        return response.json().catch(function () { return {}; }).then(function (answer) {
          return { ok: false, message: response.status === 401 ? strings.refused : (answer.error || strings.noConnection) };
        });
      }, function () { return { ok: false, offline: true, message: strings.pairOffline }; });
  }

  var pairing = false;

  function pairWith(candidate) {
    candidate = (candidate || "").trim();
    if (!candidate || pairing) { return; }
    pairing = true;
    el("token-save").disabled = true;
    tokenForm.hidden = false;
    door.hidden = true;
    tokenSay(strings.checking, "info");
    tokenCheck(candidate).then(function (check) {
      pairing = false;
      el("token-save").disabled = false;
      if (check.ok) {
        window.localStorage.setItem(TOKEN_KEY, candidate);
        tokenInput.value = "";
        ready();
        return;
      }
      if (token()) {
        // already paired: a bad pairing link does not undo the good token
        ready();
        show("white", check.message, null);
        return;
      }
      tokenInput.value = check.offline ? candidate : "";
      tokenSay(check.message, "error");
      tokenInput.focus();
    });
  }

  // The admin's QR code opens /kiosk/#pair=<token>: take the token and clear the address bar at
  // once, so the token is neither left on screen nor kept in the history.
  function pairFromAddress() {
    var hash = window.location.hash;
    if (hash.indexOf("#pair=") !== 0) { return false; }
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    var candidate = hash.slice("#pair=".length);
    if (staffMode) { return false; }
    if (!/^[A-Za-z0-9_-]{16,200}$/.test(candidate)) {
      ready();
      if (!token()) { tokenSay(strings.pairLinkBad, "error"); } else { show("white", strings.pairLinkBad, null); }
      return true;
    }
    pairWith(candidate);
    return true;
  }

  tokenForm.addEventListener("submit", function (event) {
    event.preventDefault();
    audioUnlock();
    pairWith(tokenInput.value);
  });

  // Forgetting the token unpairs the door: only a deliberate 2-second hold on the small settings
  // control (a tap shows how), then the confirmation. A student's tap does nothing.
  var HOLD_MS = 2000;
  var unpair = el("unpair");
  if (unpair) {
    var holdTimer = null;
    var hintTimer = null;
    var hint = el("unpair-hint");
    var holdStart = function () {
      if (holdTimer) { return; }
      hint.hidden = true;
      unpair.classList.add("is-holding");
      holdTimer = window.setTimeout(function () {
        holdTimer = null;
        unpair.classList.remove("is-holding");
        if (window.confirm(strings.confirmForget)) {
          window.localStorage.removeItem(TOKEN_KEY);
          ready();
        } else {
          refocus();
        }
      }, HOLD_MS);
    };
    var holdEnd = function () {
      if (!holdTimer) { return; }
      window.clearTimeout(holdTimer);
      holdTimer = null;
      unpair.classList.remove("is-holding");
      hint.textContent = strings.holdToForget;
      hint.hidden = false;
      window.clearTimeout(hintTimer);
      hintTimer = window.setTimeout(function () { hint.hidden = true; }, RESULT_MS);
      refocus();
    };
    unpair.addEventListener("pointerdown", function (event) { event.preventDefault(); holdStart(); });
    ["pointerup", "pointerleave", "pointercancel"].forEach(function (type) { unpair.addEventListener(type, holdEnd); });
    unpair.addEventListener("contextmenu", function (event) { event.preventDefault(); });
    unpair.addEventListener("keydown", function (event) {
      if ((event.key === "Enter" || event.key === " ") && !event.repeat) { event.preventDefault(); holdStart(); }
    });
    unpair.addEventListener("keyup", function (event) {
      if (event.key === "Enter" || event.key === " ") { holdEnd(); }
    });
  }

  el("fullscreen").addEventListener("click", function () {
    var root = document.documentElement;
    if (document.fullscreenElement) { document.exitFullscreen(); } else if (root.requestFullscreen) { root.requestFullscreen().catch(function () {}); }
    scanInput.focus();
  });

  window.addEventListener("online", replay);
  window.addEventListener("offline", function () { if (!staffMode) { offline = true; bannerUpdate(); } });
  window.setInterval(function () { if (offline || waiting) { replay(); } }, RETRY_MS);
  window.setInterval(rosterRefresh, ROSTER_MS);

  // Only the tablet's page is kept for offline reloads; the staff page lives behind a login.
  function workerRegister() {
    var url = body.dataset.swUrl;
    if (staffMode || !url || !("serviceWorker" in navigator)) { return; }
    var scope = new URL(".", new URL(url, window.location.href)).pathname; // /kiosk/
    navigator.serviceWorker.register(url, { scope: scope }).catch(function () {
      /* no worker (private mode, plain http): the kiosk works, only an offline reload will not */
    });
  }

  if (!staffMode) {
    // Reloaded while the network is down (the page then comes from the service worker): say so
    // at once, and queue the scans from the first one.
    if (navigator.onLine === false) { offline = true; }
    bannerUpdate();
  }
  if (!pairFromAddress()) { ready(); }
  window.addEventListener("load", workerRegister);
}());
