// Validate as you type: a moment after the text (or the files) stop changing, post the form (the text, the
// page's CSRF token and the files the scenario names) to /edit/check and list the problems `fab2token validate`
// would print beside the text. Text only: nothing the server returns is parsed as HTML.
(function () {
  "use strict";
  var form = document.querySelector("form.editor");
  if (!form) { return; }
  var text = form.querySelector("textarea[name=text]");
  var live = document.getElementById("live");
  var timer = null;
  var asked = 0;

  function show(result) {
    live.textContent = "";
    live.className = result.ok ? "notice" : "error";
    var head = document.createElement("b");
    if (result.ok) {
      head.textContent = "OK: " + result.scenario + " validates";
      live.appendChild(head);
      return;
    }
    var n = result.problems.length;
    head.textContent = n + " problem" + (n === 1 ? "" : "s") + " as you type";
    live.appendChild(head);
    var list = document.createElement("ul");
    result.problems.forEach(function (p) {
      var item = document.createElement("li");
      item.className = "live-problem";
      item.textContent = p;
      list.appendChild(item);
    });
    live.appendChild(list);
  }

  function check() {
    var mine = ++asked;
    var body = new FormData(form);  // the text, the CSRF token and the files it carries
    fetch("/edit/check", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (result) { if (result && mine === asked) { show(result); } })
      .catch(function () { /* the submit buttons still validate on the server */ });
  }

  function later() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(check, 500);
  }
  text.addEventListener("input", later);
  form.addEventListener("change", function (e) { if (e.target !== text) { later(); } });  // a file chosen or removed
})();
