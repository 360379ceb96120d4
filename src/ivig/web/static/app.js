// ivig web: small progressive enhancements. No clinical logic here: the server renders
// every field and every figure; this only asks it again when the condition changes.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function refreshFields(form) {
    var box = document.getElementById("condition-fields");
    if (!box) { return; }
    var params = new URLSearchParams();
    var data = new FormData(form);
    data.forEach(function (value, key) {
      if (key === "condition" || key === "indication" || key === "phase" || key.indexOf("findings.") === 0) {
        params.append(key, value);
      }
    });
    fetch("/app/request/fields?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var main = doc.getElementById("main");
        box.innerHTML = main ? main.innerHTML : html;
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
