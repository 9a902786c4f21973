(function () {
  "use strict";
  var table = document.getElementById("board");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  rows.forEach(function (row, i) { row.dataset.order = String(i); });
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var fields = ["task", "metric", "protocol", "q"];
  var inputs = {};
  fields.forEach(function (name) { inputs[name] = document.getElementById("filter-" + name); });
  var state = {};
  var shown = document.getElementById("shown");
  var none = document.getElementById("no-rows");

  function read() {
    var params = new URLSearchParams(window.location.hash.slice(1));
    fields.forEach(function (name) {
      var fallback = name === "metric" ? table.dataset.defaultMetric : "";
      state[name] = params.has(name) ? params.get(name) : fallback;
      inputs[name].value = state[name];
      if (inputs[name].value !== state[name]) { inputs[name].value = ""; state[name] = ""; }
    });
    state.sort = params.get("sort") || "";
    state.dir = params.get("dir") === "desc" ? "desc" : "asc";
  }

  function write() {
    var params = new URLSearchParams();
    fields.forEach(function (name) { params.set(name, state[name]); });
    if (state.sort) { params.set("sort", state.sort); params.set("dir", state.dir); }
    var hash = "#" + params.toString();
    if (window.location.hash !== hash) {
      try { window.history.replaceState(null, "", hash); } catch (e) { /* state stays in memory */ }
    }
  }

  function matches(row) {
    var q = state.q.toLowerCase();
    return (!state.task || row.dataset.task === state.task) &&
      (!state.metric || row.dataset.metric === state.metric) &&
      (!state.protocol || row.dataset.protocol === state.protocol) &&
      (!q || row.dataset.model.toLowerCase().indexOf(q) >= 0);
  }

  function sortValue(row, index) {
    var cell = row.cells[index];
    var raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    var number = parseFloat(raw);
    return isNaN(number) || raw === "" ? raw.toLowerCase() : number;
  }

  function apply() {
    var visible = 0;
    rows.forEach(function (row) {
      row.hidden = !matches(row);
      if (!row.hidden) { visible += 1; }
    });
    var index = -1;
    heads.forEach(function (th, i) {
      var on = state.sort && th.dataset.key === state.sort;
      if (on) { index = i; }
      if (th.dataset.key) {
        th.setAttribute("aria-sort", on ? (state.dir === "desc" ? "descending" : "ascending") : "none");
      }
    });
    var ordered = rows.slice();
    if (index >= 0) {
      var sign = state.dir === "desc" ? -1 : 1;
      ordered.sort(function (a, b) {
        var x = sortValue(a, index), y = sortValue(b, index);
        if (typeof x !== typeof y) { x = String(x); y = String(y); }
        if (x < y) { return -sign; }
        if (x > y) { return sign; }
        return Number(a.dataset.order) - Number(b.dataset.order);
      });
    }
    ordered.forEach(function (row) { body.appendChild(row); });
    shown.textContent = String(visible);
    none.hidden = visible > 0;
  }

  function update() { write(); apply(); }

  heads.forEach(function (th) {
    if (!th.dataset.key) { return; }
    th.tabIndex = 0;
    var toggle = function () {
      if (state.sort === th.dataset.key) {
        state.dir = state.dir === "asc" ? "desc" : "asc";
      } else {
        state.sort = th.dataset.key;
        state.dir = th.dataset.first === "desc" ? "desc" : "asc";
      }
      update();
    };
    th.addEventListener("click", toggle);
    th.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); toggle(); }
    });
  });
  fields.forEach(function (name) {
    inputs[name].addEventListener(name === "q" ? "input" : "change", function () {
      state[name] = inputs[name].value;
      update();
    });
  });
  window.addEventListener("hashchange", function () { read(); apply(); });
  read();
  apply();
  table.dataset.ready = "1";
}());
