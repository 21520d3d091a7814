// Autosave for the form page: a small progressive enhancement. The page works
// fully without it (every action is a plain form POST); with it, the draft is
// saved in the background a few seconds after typing stops, through the JSON
// API (PUT …/draft, the session cookie signs it, the browser's same-origin
// headers pass the API's CSRF check), and the revision field follows, so the
// buttons keep working. No page text here: the messages come from data-*
// attributes the server filled from its catalogues.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var status = document.getElementById("autosave-status");
  if (!form || !status || !window.fetch || !form.dataset.draftUrl) {
    return;
  }
  var revisionField = form.querySelector("input[name='revision']");
  var delayMs = 2500;
  var timer = null;
  var saving = false;
  var again = false;
  var stopped = false;
  var pendingSubmitter = null;
  // For each row sent (blank rows left out), the row index on the page.
  var sentRowIndices = [];

  function show(kind, detail) {
    var text = status.dataset[kind] || "";
    status.textContent = detail ? text + " " + detail : text;
    status.className = "autosave autosave-" + kind;
    status.hidden = false;
  }

  function twoDigits(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function clockOf(ms) {
    var at = new Date(ms);
    return twoDigits(at.getHours()) + ":" + twoDigits(at.getMinutes());
  }

  // The same reading of the fields as the server's content_from_form.
  function content() {
    var values = {};
    var explanations = {};
    var rows = {};
    for (var i = 0; i < form.elements.length; i++) {
      var field = form.elements[i];
      if (!field.name || field.disabled) {
        continue;
      }
      var value = field.value.trim();
      if (field.name.indexOf("v.") === 0) {
        if (value) { values[field.name.slice(2)] = value; }
      } else if (field.name.indexOf("x.") === 0) {
        if (value) { explanations[field.name.slice(2)] = field.value; }
      } else if (field.name.indexOf("r.") === 0) {
        var rest = field.name.slice(2);
        var dot = rest.indexOf(".");
        var index = parseInt(rest.slice(0, dot), 10);
        if (value && dot > 0 && index >= 0) {
          rows[index] = rows[index] || {};
          rows[index][rest.slice(dot + 1)] = value;
        }
      }
    }
    sentRowIndices = Object.keys(rows).map(Number).sort(function (a, b) { return a - b; });
    var body = {
      values: values,
      explanations: explanations,
      rows: sentRowIndices.map(function (index) { return rows[index]; })
    };
    if (revisionField && revisionField.value !== "") {
      body.revision = parseInt(revisionField.value, 10);
    }
    return body;
  }

  function clearMarks() {
    var marked = form.querySelectorAll("[data-autosave-invalid]");
    for (var i = 0; i < marked.length; i++) {
      marked[i].removeAttribute("aria-invalid");
      marked[i].removeAttribute("data-autosave-invalid");
    }
  }

  // `cod_emit` → v.cod_emit; `rows[0].hours` → the page's row of that sent row.
  function fieldOf(indicator) {
    var row = /^rows\[(\d+)\]\.(.+)$/.exec(indicator);
    var name = "v." + indicator;
    if (row) {
      var pageIndex = sentRowIndices[parseInt(row[1], 10)];
      name = "r." + pageIndex + "." + row[2];
    }
    return form.elements.namedItem(name);
  }

  function mark(problems) {
    clearMarks();
    for (var i = 0; i < problems.length; i++) {
      var field = fieldOf(problems[i].indicator);
      if (field && field.setAttribute) {
        field.setAttribute("aria-invalid", "true");
        field.setAttribute("data-autosave-invalid", "");
      }
    }
  }

  function finished() {
    saving = false;
    if (pendingSubmitter) {
      var submitter = pendingSubmitter;
      pendingSubmitter = null;
      form.requestSubmit(submitter);
    } else if (again) {
      again = false;
      schedule();
    }
  }

  function save() {
    timer = null;
    if (stopped) {
      return;
    }
    if (saving) {
      again = true;
      return;
    }
    saving = true;
    show("saving");
    fetch(form.dataset.draftUrl, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(content())
    }).then(function (response) {
      return response.json().then(function (answer) {
        return { ok: response.ok, answer: answer };
      });
    }).then(function (result) {
      var error = result.answer && result.answer.error;
      if (result.ok) {
        revisionField.value = result.answer.revision;
        clearMarks();
        show("saved", clockOf(result.answer.saved_at_ms));
      } else if (error && error.code === "RPT005") {
        stopped = true;
        show("conflict");
      } else if (error && error.code === "RPT001") {
        mark((error.details && error.details.problems) || []);
        show("problems");
      } else {
        show("failed", error && error.code ? "(" + error.code + ")" : "");
      }
    }).catch(function () {
      show("failed");
    }).then(finished);
  }

  function schedule() {
    if (stopped) {
      return;
    }
    if (timer) {
      clearTimeout(timer);
    }
    timer = setTimeout(save, delayMs);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  // A button pressed while a background save is under way waits for it, so
  // the form posts the revision that save produced.
  form.addEventListener("submit", function (event) {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (saving) {
      event.preventDefault();
      pendingSubmitter = event.submitter || null;
    }
  });
}());
