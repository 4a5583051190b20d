// evalkit report: sortable tables and the sample browser.
// Model and dataset text only ever reaches the DOM through textContent, never parsed as HTML.
(function () {
  "use strict";

  // ---- sortable tables -------------------------------------------------------------------
  function sortKey(row, column) {
    var cell = row.cells[column];
    var raw = cell ? cell.getAttribute("data-sort") : null;
    if (raw === null || raw === "") { return null; }
    var number = Number(raw);
    return isNaN(number) ? raw.toLowerCase() : number;
  }

  function compare(a, b, ascending) {
    if (a === null && b === null) { return 0; }
    if (a === null) { return 1; }   // missing values always last
    if (b === null) { return -1; }
    var order = a < b ? -1 : (a > b ? 1 : 0);
    return ascending ? order : -order;
  }

  function sortTable(table, column, header) {
    var ascending = header.getAttribute("aria-sort") === "descending";
    var headers = table.tHead.rows[0].cells;
    for (var i = 0; i < headers.length; i++) { headers[i].removeAttribute("aria-sort"); }
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (x, y) { return compare(sortKey(x, column), sortKey(y, column), ascending); });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (header, column) {
      var button = header.querySelector("button.sort");
      if (button) { button.addEventListener("click", function () { sortTable(table, column, header); }); }
    });
  });

  // ---- sample browser --------------------------------------------------------------------
  var PAGE = 20;
  var list = document.getElementById("sample-list");
  var count = document.getElementById("sample-count");
  var filters = {
    benchmark: document.getElementById("filter-benchmark"),
    run: document.getElementById("filter-run"),
    outcome: document.getElementById("filter-outcome"),
    text: document.getElementById("filter-text")
  };
  var state = { data: null, matches: [], page: 0, lowerTexts: null, lowerOutputs: null };

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function addOptions(select, names) {
    names.forEach(function (name, index) {
      var option = element("option", "", name);
      option.value = String(index);
      select.appendChild(option);
    });
  }

  async function inflate(payload) {
    if (payload.encoding !== "gzip+base64") { throw new Error("unknown sample encoding " + payload.encoding); }
    if (typeof DecompressionStream === "undefined") { throw new Error("this browser lacks DecompressionStream"); }
    var binary = atob(payload.data);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }

  function lowered() {
    if (state.lowerTexts === null) {
      state.lowerTexts = state.data.texts.map(function (t) { return t.toLowerCase(); });
      state.lowerOutputs = state.data.rows.output.map(function (t) { return t.toLowerCase(); });
    }
  }

  function applyFilters() {
    var rows = state.data.rows;
    var bench = filters.benchmark.value === "" ? -1 : Number(filters.benchmark.value);
    var run = filters.run.value === "" ? -1 : Number(filters.run.value);
    var outcome = filters.outcome.value;
    var query = filters.text.value.trim().toLowerCase();
    if (query) { lowered(); }
    var matches = [];
    for (var i = 0; i < rows.run.length; i++) {
      if (bench >= 0 && rows.bench[i] !== bench) { continue; }
      if (run >= 0 && rows.run[i] !== run) { continue; }
      if (outcome && rows.outcome[i] !== outcome) { continue; }
      if (query && state.lowerOutputs[i].indexOf(query) < 0 &&
          state.lowerTexts[rows.prompt[i]].indexOf(query) < 0 &&
          state.lowerTexts[rows.target[i]].indexOf(query) < 0 &&
          (!rows.extracted || rows.extracted[i].toLowerCase().indexOf(query) < 0) &&
          rows.id[i].toLowerCase().indexOf(query) < 0) { continue; }
      matches.push(i);
    }
    state.matches = matches;
    state.page = 0;
    render();
  }

  function block(parent, title, text, className) {
    var wrap = element("div", "block");
    wrap.appendChild(element("h4", "", title));
    wrap.appendChild(element("pre", className, text));
    parent.appendChild(wrap);
  }

  function card(i) {
    var rows = state.data.rows;
    var article = element("article", "sample");
    article.setAttribute("data-outcome", rows.outcome[i]);
    var head = element("header");
    head.appendChild(element("span", "badge " + rows.outcome[i], rows.outcome[i]));
    head.appendChild(element("strong", "model", state.data.runs[rows.run[i]]));
    head.appendChild(element("span", "bench", state.data.benchmarks[rows.bench[i]]));
    head.appendChild(element("code", "sample-id", rows.id[i]));
    head.appendChild(element("span", "muted scores", rows.scores[i]));
    article.appendChild(head);
    var details = element("details");
    details.appendChild(element("summary", "", "Prompt (exact text sent)"));
    details.appendChild(element("pre", "prompt", state.data.texts[rows.prompt[i]]));
    article.appendChild(details);
    var io = element("div", "io");
    block(io, "Output", rows.output[i], "output");
    if (rows.extracted && rows.extracted[i]) { block(io, "Extracted answer (what was scored)", rows.extracted[i], "extracted"); }
    block(io, "Target", state.data.texts[rows.target[i]], "target");
    if (rows.error[i]) { block(io, "Error", rows.error[i], "error"); }
    if (rows.judgments && rows.judgments[i]) {
      block(io, "Judgments", rows.judgments[i], "judgments" + (rows.judgments[i].indexOf("INVALID") >= 0 ? " invalid" : ""));
    }
    article.appendChild(io);
    return article;
  }

  function render() {
    var total = state.matches.length;
    var start = state.page * PAGE;
    var end = Math.min(total, start + PAGE);
    list.replaceChildren();
    for (var k = start; k < end; k++) { list.appendChild(card(state.matches[k])); }
    count.textContent = total === 0 ? "no matching samples" :
      "showing " + (start + 1) + "–" + end + " of " + total.toLocaleString("en") + " samples";
    document.getElementById("page-prev").disabled = state.page === 0;
    document.getElementById("page-next").disabled = end >= total;
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }

  async function start() {
    var meta = JSON.parse(document.getElementById("report-data").textContent);
    try {
      state.data = await inflate(meta.samples);
    } catch (err) {
      count.textContent = "cannot show samples: " + err.message;
      return;
    }
    addOptions(filters.benchmark, state.data.benchmarks);
    addOptions(filters.run, state.data.runs);
    ["benchmark", "run", "outcome"].forEach(function (name) {
      filters[name].addEventListener("change", applyFilters);
    });
    filters.text.addEventListener("input", debounce(applyFilters, 150));
    document.getElementById("sample-filters").addEventListener("submit", function (e) { e.preventDefault(); });
    document.getElementById("page-prev").addEventListener("click", function () { state.page -= 1; render(); });
    document.getElementById("page-next").addEventListener("click", function () { state.page += 1; render(); });
    applyFilters();
    document.body.setAttribute("data-samples-ready", "1");
  }

  start();
}());
