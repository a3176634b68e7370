// Lead table filters and map-to-table linking. The page is complete without JavaScript;
// this only narrows what is shown. data-ready="true" tells the browser test it ran.
(function () {
  "use strict";
  var table = document.getElementById("lead-table");
  var rows = table ? Array.prototype.slice.call(table.tBodies[0].rows) : [];
  var filter = document.getElementById("lead-filter");
  var level = document.getElementById("lead-level");
  var referral = document.getElementById("lead-referral");
  var count = document.getElementById("lead-count");
  var total = count ? count.textContent.split("/")[1] : "";
  var region = "";

  function apply() {
    var text = filter ? filter.value.trim().toLowerCase() : "";
    var levels = level && level.value !== "all" ? level.value.split(",") : null;
    var shown = 0;
    rows.forEach(function (row) {
      var ok = (!levels || levels.indexOf(row.getAttribute("data-level")) >= 0) &&
        (!region || row.getAttribute("data-region") === region) &&
        (!referral || !referral.checked || row.getAttribute("data-referral") === "true") &&
        (!text || row.textContent.toLowerCase().indexOf(text) >= 0);
      row.classList.toggle("hidden", !ok);
      if (ok) { shown += 1; }
    });
    if (count) {
      count.textContent = "显示 " + shown + " /" + total + (region ? "（" + region + "）" : "");
    }
  }

  function selectCounty(node) {
    var code = node.getAttribute("data-code");
    region = region === code ? "" : code;
    Array.prototype.forEach.call(document.querySelectorAll("g.county"), function (g) {
      g.classList.toggle("selected", g.getAttribute("data-code") === region);
    });
    apply();
    if (region && table) { table.scrollIntoView({ behavior: "smooth", block: "start" }); }
  }

  Array.prototype.forEach.call(document.querySelectorAll("g.county"), function (g) {
    g.addEventListener("click", function () { selectCounty(g); });
    g.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); selectCounty(g); }
    });
  });
  [filter, level, referral].forEach(function (el) {
    if (el) { el.addEventListener("input", apply); el.addEventListener("change", apply); }
  });
  var clear = document.getElementById("lead-clear");
  if (clear) {
    clear.addEventListener("click", function () {
      if (filter) { filter.value = ""; }
      if (level) { level.value = "all"; }
      if (referral) { referral.checked = false; }
      region = "";
      Array.prototype.forEach.call(document.querySelectorAll("g.county.selected"), function (g) {
        g.classList.remove("selected");
      });
      apply();
    });
  }
  apply();
  document.documentElement.setAttribute("data-ready", "true");
})();
