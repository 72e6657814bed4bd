// The door kiosk's service worker: lets /kiosk/ load again while the network is down (a tablet
// that reloads or restarts offline would otherwise show the browser's error page and stop taking
// scans). Served by core/web/kiosk_worker.py at /kiosk/sw.js, so its scope is /kiosk/ and nothing else.
//
// - The page: network first (a fresh page and CSRF token whenever the server answers), the last
//   good copy when it does not. A cached response keeps its own headers, CSP included.
// - Static files: from the cache, refreshed in the background. Their names are hashed in
//   production (manifest storage), so nothing here names a static file: the page says which
//   ones it uses, and the worker reads them out of the page (and fonts out of its stylesheets).
// - Scans, the CSRF token (/kiosk/scan/) and the roster never come from a cache: the worker
//   leaves them alone, so a failure reaches kiosk.js, whose offline queue takes over.
"use strict";

// Raise the number when this file's caching changes: activate deletes every other cache.
var CACHE = "door-kiosk-v1";
var PAGE = "/kiosk/";
var STATIC_PREFIX = "/static/"; // settings.STATIC_URL

function sameOrigin(url) {
  return url.origin === self.location.origin;
}

function isStatic(url) {
  return sameOrigin(url) && url.pathname.indexOf(STATIC_PREFIX) === 0;
}

// The static files a document names: src/href/data-* attributes of the page, url(...) of a
// stylesheet. A regular expression is enough for our own templates and stylesheets.
function namedAssets(text, base) {
  var pattern = /(?:\b(?:src|href|data-[\w-]+)\s*=\s*"([^"]+)")|(?:url\(\s*["']?([^"')]+)["']?\s*\))/g;
  var found = [];
  var match;
  while ((match = pattern.exec(text)) !== null) {
    var url;
    try {
      url = new URL(match[1] || match[2], base);
    } catch (error) {
      continue; // not a URL (an attribute that only looked like one)
    }
    url.hash = "";
    if (isStatic(url) && found.indexOf(url.href) === -1) { found.push(url.href); }
  }
  return found;
}

function isStylesheet(href) {
  return /\.css$/.test(new URL(href).pathname);
}

// A stylesheet names its fonts: keep them too, or an offline reload loses the Arabic face.
function keepFonts(cache, css, href) {
  return Promise.all(namedAssets(css, href).map(function (font) { return keepOnce(cache, font); }))
    .then(function (lists) { return [].concat.apply([], lists); });
}

// Keeps one static file unless it is kept already; answers the files kept for it (with fonts).
function keepOnce(cache, href) {
  return cache.match(href, { ignoreVary: true }).then(function (hit) {
    if (hit) {
      return isStylesheet(href) ? hit.text().then(function (css) { return keepFonts(cache, css, href); }) : [];
    }
    return fetch(href, { credentials: "same-origin" }).then(function (response) {
      if (response.status !== 200) { throw new Error(href + ": HTTP " + response.status); }
      var kept = cache.put(href, response.clone());
      if (!isStylesheet(href)) { return kept.then(function () { return []; }); }
      return Promise.all([kept, response.text()]).then(function (done) { return keepFonts(cache, done[1], href); });
    });
  }).then(function (fonts) { return [href].concat(fonts); });
}

// Keeps a fresh page and every static file it names, and forgets the cached static files it no
// longer names (the old hashed names after a deploy), so the cache does not grow with each deploy.
function pageKeep(response) {
  return caches.open(CACHE).then(function (cache) {
    return Promise.all([cache.put(PAGE, response.clone()), response.text()]).then(function (done) {
      var assets = namedAssets(done[1], self.location.origin + PAGE);
      // One file that cannot be fetched now must not cost the page and the others their copy.
      var kept = assets.map(function (href) { return keepOnce(cache, href).catch(function () { return []; }); });
      return Promise.all(kept).then(function (lists) {
        var wanted = {};
        lists.forEach(function (list) { list.forEach(function (href) { wanted[href] = true; }); });
        return cache.keys().then(function (requests) {
          return Promise.all(requests.filter(function (request) {
            return isStatic(new URL(request.url)) && !wanted[request.url];
          }).map(function (request) { return cache.delete(request); }));
        });
      });
    });
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    fetch(PAGE, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error(PAGE + ": HTTP " + response.status); }
      return pageKeep(response);
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) { return name !== CACHE; }).map(function (name) {
        return caches.delete(name);
      }));
    }).then(function () { return self.clients.claim(); })
  );
});

function pageCopy() {
  return caches.match(PAGE, { cacheName: CACHE, ignoreSearch: true, ignoreVary: true });
}

function pageRequest(event) {
  return fetch(event.request).then(function (response) {
    if (response.ok && response.type === "basic" && !response.redirected) {
      // Kept after the answer is sent; a failure to keep it only costs the offline copy.
      event.waitUntil(pageKeep(response.clone()).catch(function () {}));
    } else if (response.status >= 500) {
      // The server answers but is down (a deploy, a crash): the last good page beats an error.
      return pageCopy().then(function (hit) { return hit || response; });
    }
    return response;
  }, function (error) {
    return pageCopy().then(function (hit) {
      if (hit) { return hit; }
      throw error; // never loaded online on this tablet: the browser's own offline page
    });
  });
}

function staticRequest(event) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(event.request, { ignoreVary: true }).then(function (hit) {
      var fresh = fetch(event.request).then(function (response) {
        // 200 only: the Cache API refuses partial (206) answers, and errors are not worth keeping
        if (response.status === 200 && response.type === "basic") {
          return cache.put(event.request, response.clone()).then(function () { return response; });
        }
        return response;
      });
      if (hit) {
        // Stale while revalidate: offline, the refresh fails quietly and the cached copy stands.
        event.waitUntil(fresh.catch(function () {}));
        return hit;
      }
      return fresh;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (request.mode === "navigate" && sameOrigin(url) && url.pathname === PAGE) {
    event.respondWith(pageRequest(event));
  } else if (isStatic(url)) {
    event.respondWith(staticRequest(event));
  }
  // Anything else (scans, the CSRF token, the roster, photos) goes to the network untouched.
});
