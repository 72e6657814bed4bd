// Live preview of a message template: fills {placeholders} with the example values the page
// embeds (json_script) as staff type. Unknown names stay visible as typed; the server refuses them.
(function () {
  "use strict";
  var data = document.getElementById("template-preview-samples");
  if (!data) { return; }
  var samples = JSON.parse(data.textContent);

  function render(text) {
    // {{ and }} are literal braces, as in the server's renderer.
    return text.replace(/\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g, function (match, name) {
      if (match === "{{") { return "{"; }
      if (match === "}}") { return "}"; }
      return Object.prototype.hasOwnProperty.call(samples, name) ? String(samples[name]) : match;
    });
  }

  function show(target, text) {
    target.textContent = "";
    render(text).split("\n").forEach(function (line, index) {
      if (index) { target.appendChild(document.createElement("br")); }
      target.appendChild(document.createTextNode(line));
    });
  }

  document.querySelectorAll("[data-preview-for]").forEach(function (target) {
    var source = document.getElementById(target.getAttribute("data-preview-for"));
    if (!source) { return; }
    var update = function () { show(target, source.value); };
    source.addEventListener("input", update);
    update();
  });
})();
