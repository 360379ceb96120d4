// ivig web: small progressive enhancements. No clinical logic here: the server renders
// every field and every figure; this only asks it again when the condition changes.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The condition's fields are merged into the form in place: a field already on the page is
  // never replaced, moved or emptied (so focus and typed values survive); a field the new
  // condition does not need is hidden and disabled (not submitted); a new one is inserted.
  var asked = 0;

  function syncText(box, fresh, id) {
    var live = box.querySelector("#" + id);
    var next = fresh.querySelector("#" + id);
    if (!live || !next) { return; }
    if (live.textContent !== next.textContent) { live.textContent = next.textContent; }
    live.hidden = next.hidden;
  }

  function syncIndication(box, fresh) {
    var live = box.querySelector("#f-indication");
    var next = fresh.querySelector("#f-indication");
    if (!live || !next) { return; }
    live.disabled = next.disabled;
    if (live.innerHTML === next.innerHTML) { return; }
    var chosen = live.value;
    live.innerHTML = next.innerHTML;
    if (chosen && live.querySelector("option[value='" + chosen.replace(/'/g, "") + "']")) {
      live.value = chosen;
    }
  }

  function show(field, on) {
    field.hidden = !on;
    Array.prototype.forEach.call(field.querySelectorAll("input, select, textarea"), function (c) {
      c.disabled = !on;
    });
  }

  function syncFindings(box, fresh) {
    var grid = box.querySelector("#findings-grid");
    var nextGrid = fresh.querySelector("#findings-grid");
    if (!grid || !nextGrid) { return; }
    var live = {};
    Array.prototype.forEach.call(grid.children, function (f) { live[f.getAttribute("data-field")] = f; });
    var wanted = {};
    var after = null;
    Array.prototype.forEach.call(nextGrid.children, function (f) {
      var name = f.getAttribute("data-field");
      wanted[name] = true;
      var here = live[name];
      if (here) {
        show(here, true);
      } else {
        here = document.importNode(f, true);
        grid.insertBefore(here, after ? after.nextSibling : grid.firstChild);
      }
      after = here;
    });
    Object.keys(live).forEach(function (name) {
      if (!wanted[name] && live[name] !== document.activeElement.closest(".field")) {
        show(live[name], false);
      }
    });
  }

  function refreshFields(form) {
    var box = document.getElementById("condition-fields");
    if (!box) { return; }
    var params = new URLSearchParams();
    ["condition", "indication", "phase"].forEach(function (key) {
      var control = form.elements.namedItem(key);
      if (control && control.value) { params.append(key, control.value); }
    });
    var ticket = ++asked;
    fetch("/app/request/fields?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null || ticket !== asked) { return; }  // a later answer is coming
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("main") || doc.body;
        syncIndication(box, fresh);
        syncText(box, fresh, "condition-name");
        syncText(box, fresh, "findings-legend");
        syncText(box, fresh, "findings-note");
        syncFindings(box, fresh);
        box.setAttribute("data-loaded", params.get("condition") || "");
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("request-form");
    if (form) {
      var timer = null;
      var condition = document.getElementById("f-condition");
      condition.addEventListener("change", function () { refreshFields(form); });
      condition.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { refreshFields(form); }, 350);
      });
      form.addEventListener("change", function (event) {
        if (event.target && (event.target.id === "f-indication" || event.target.id === "f-phase")) {
          refreshFields(form);
        }
      });
    }
    Array.prototype.forEach.call(document.querySelectorAll(".js-print"), function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-src]"), function (box) {
      fetch(box.getAttribute("data-src"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var main = new DOMParser().parseFromString(html, "text/html").getElementById("main");
          if (main) {
            var crumbs = main.querySelector(".crumbs");
            if (crumbs) { crumbs.remove(); }
            box.innerHTML = main.innerHTML;
            var form = box.querySelector("form");
            if (form) { form.setAttribute("action", "/app/dashboard"); }
          }
        });
    });
    var errors = document.getElementById("form-errors");
    if (errors) { errors.setAttribute("tabindex", "-1"); errors.focus(); }
  });
})();
