(function () {
  "use strict";
  // Every page's only script. First it records what goes wrong (script errors, failed loads,
  // content-security-policy violations, console.error) into <html data-js-errors>, so a test
  // can read them from the DOM a headless browser dumps; then it wires sorting, filtering and
  // expanding, and marks <html data-js-ready="1">.
  var root = document.documentElement, errors = [];
  function note(message) {
    errors.push(String(message).slice(0, 300));
    root.setAttribute("data-js-errors", errors.join(" | "));
  }
  window.addEventListener("error", function (e) {
    var t = e.target;
    note(e.message || "failed to load " + ((t && (t.src || t.href)) || (t && t.tagName)));
  }, true);
  window.addEventListener("unhandledrejection", function (e) { note("rejection: " + e.reason); });
  document.addEventListener("securitypolicyviolation", function (e) {
    note("blocked: " + e.violatedDirective + " " + e.blockedURI);
  });
  var consoleError = console.error;
  console.error = function () {
    note(Array.prototype.join.call(arguments, " "));
    return consoleError.apply(console, arguments);
  };

  function key(cell) {
    var v = cell.getAttribute("data-v");
    if (v === null) v = cell.textContent.trim();
    if (v === "") return [2, ""];
    var n = Number(v);
    return isNaN(n) ? [1, v.toLowerCase()] : [0, n];
  }
  function sortBy(th) {
    var table = th.closest("table"), body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var desc = th.getAttribute("aria-sort") === "ascending";
    Array.prototype.forEach.call(th.parentNode.children, function (h) {
      h.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", desc ? "descending" : "ascending");
    var rows = Array.prototype.slice.call(body.rows).map(function (r, i) {
      return [key(r.cells[col] || r), i, r];
    });
    rows.sort(function (a, b) {
      var x = a[0], y = b[0];
      if (x[0] !== y[0]) return x[0] - y[0];  // numbers, then text, then blanks (always last)
      if (x[1] < y[1]) return desc ? 1 : -1;
      if (x[1] > y[1]) return desc ? -1 : 1;
      return a[1] - b[1];
    });
    rows.forEach(function (r) { body.appendChild(r[2]); });
  }
  function fromFragment() {
    // #sort=TABLE:COLUMN[:desc] clicks a header as a reader would (used by the browser tests).
    var m = /^#sort=([\w-]+):(\d+)(:desc)?$/.exec(location.hash);
    if (!m) return;
    var table = document.getElementById(m[1]);
    var th = table && table.tHead && table.tHead.rows[0].cells[+m[2]];
    if (!th) { note("no column " + m[2] + " in table " + m[1]); return; }
    th.removeAttribute("aria-sort");
    th.click();
    if (m[3]) th.click();
  }
  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable thead th"), function (th) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(th); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortBy(th); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("input[data-filter]"), function (input) {
      var body = document.getElementById(input.getAttribute("data-filter")).tBodies[0];
      input.addEventListener("input", function () {
        var q = input.value.trim().toLowerCase();
        Array.prototype.forEach.call(body.rows, function (r) {
          r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
        });
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("button[data-open]"), function (b) {
      b.addEventListener("click", function () {
        var open = b.getAttribute("data-open") === "1";
        Array.prototype.forEach.call(document.querySelectorAll("main details"), function (d) {
          d.open = open;
        });
      });
    });
    fromFragment();
    window.addEventListener("hashchange", fromFragment);
  }
  root.setAttribute("data-js-errors", "");
  document.addEventListener("DOMContentLoaded", function () {
    try { init(); root.setAttribute("data-js-ready", "1"); } catch (e) { note(e); }
  });
})();
