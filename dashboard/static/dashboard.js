// The duty managers' live panel: server-sent events from /dashboard/stream ("now": the whole
// panel as JSON; "figures": fetch today's figures again), state changes without reloading.
// Plain JavaScript, no framework, no inline script (the CSP forbids them). Data from the
// server only ever reaches the page through textContent; the figures fragment is HTML the
// server rendered (and escaped) itself.
(function () {
  "use strict";

  var root = document.getElementById("live");
  if (!root) {
    return;
  }
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var source = null;
  var pollTimer = null;

  function $(id) {
    return document.getElementById(id);
  }

  function setText(id, text) {
    var el = $(id);
    if (el) {
      el.textContent = text == null ? "" : String(text);
    }
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text != null) {
      node.textContent = String(text);
    }
    if (className) {
      node.className = className;
    }
    return node;
  }

  function row(cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (text) {
      tr.appendChild(el("td", text));
    });
    return tr;
  }

  function replaceRows(tableId, rows) {
    var body = document.querySelector("#" + tableId + " tbody");
    if (!body) {
      return;
    }
    while (body.firstChild) {
      body.removeChild(body.firstChild);
    }
    rows.forEach(function (tr) {
      body.appendChild(tr);
    });
  }

  function message(text, kind) {
    var box = $("live-message");
    if (!box) {
      return;
    }
    box.textContent = text || "";
    box.className = "notice notice-" + (kind || "info");
    box.hidden = !text;
  }

  // -- rendering ----------------------------------------------------------------------------

  function renderStatus(data) {
    var state = $("line-state");
    if (state) {
      state.textContent = data.open ? "Ligne ouverte" : "Ligne fermée";
      state.className = "badge " + (data.open ? "state-available" : "state-offline");
    }
    setText(
      "line-next",
      data.next_change ? (data.open ? "ferme le " : "ouvre le ") + data.next_change : ""
    );
    setText("updated", data.now_local);
    setText("count-waiting", data.counts.waiting);
    setText("longest-wait", data.longest_wait);
    setText("count-available", data.counts.available);
    setText("count-on-call", data.counts.on_call);
    setText("count-logged-in", data.counts.logged_in);
    setText("count-callbacks-missed", data.counts.callbacks_missed);
  }

  function renderAlerts(alerts) {
    var list = $("alerts");
    if (!list) {
      return;
    }
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    alerts.forEach(function (a) {
      var item = el("li", a.text, "notice notice-" + (a.level === "error" ? "error" : "warning"));
      item.setAttribute("data-kind", a.kind);
      list.appendChild(item);
    });
  }

  function renderWaiting(waiting) {
    replaceRows(
      "waiting",
      waiting.map(function (w) {
        return row([
          w.position,
          w.waited,
          w.platform_label,
          w.caller_type_label,
          w.language_label,
          w.skill_label,
          w.status_label,
        ]);
      })
    );
    $("nobody-waiting").hidden = waiting.length > 0;
  }

  function renderOffers(offers) {
    replaceRows(
      "offers",
      offers.map(function (o) {
        return row([
          o.counsellor,
          o.platform_label,
          o.caller_type_label,
          o.ringing,
          o.expires_in_s + " s",
        ]);
      })
    );
    $("no-offers").hidden = offers.length > 0;
  }

  function renderMissedCallbacks(missed) {
    replaceRows(
      "missed-callbacks",
      missed.map(function (m) {
        return row([m.at, m.platform_label, m.caller_type_label, m.tries, m.reason_label, m.call_sid]);
      })
    );
    $("no-missed-callbacks").hidden = missed.length > 0;
  }

  function stateForm(c, data) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = root.dataset.stateUrl.replace("__ID__", encodeURIComponent(c.id));
    form.className = "state-form";
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = csrf;
    form.appendChild(token);
    var label = el("label", "Nouvel état de " + c.name, "visually-hidden");
    label.htmlFor = "state-" + c.id;
    form.appendChild(label);
    var select = document.createElement("select");
    select.name = "state";
    select.id = "state-" + c.id;
    c.actions.forEach(function (a) {
      var option = el("option", data.action_labels[a] || a);
      option.value = a;
      select.appendChild(option);
    });
    form.appendChild(select);
    var reasonLabel = el("label", "Motif de la pause", "visually-hidden");
    reasonLabel.htmlFor = "reason-" + c.id;
    form.appendChild(reasonLabel);
    var reason = document.createElement("select");
    reason.name = "reason";
    reason.id = "reason-" + c.id;
    reason.className = "reason";
    Object.keys(data.break_reasons).forEach(function (key) {
      var option = el("option", data.break_reasons[key]);
      option.value = key;
      reason.appendChild(option);
    });
    form.appendChild(reason);
    var button = el("button", "Appliquer");
    button.type = "submit";
    button.appendChild(el("span", " à " + c.name, "visually-hidden"));
    form.appendChild(button);
    syncReason(form);
    return form;
  }

  // The break reason only matters when "break" is chosen.
  function syncReason(form) {
    var state = form.querySelector('select[name="state"]');
    var reason = form.querySelector('select[name="reason"]');
    if (state && reason) {
      reason.hidden = state.value !== "break";
    }
  }

  function fillActions(cell, c, data) {
    while (cell.firstChild) {
      cell.removeChild(cell.firstChild);
    }
    if (c.actions.length) {
      cell.appendChild(stateForm(c, data));
    } else {
      cell.appendChild(el("span", "pendant l'appel", "muted"));
    }
  }

  function renderTeam(data) {
    var body = document.querySelector("#team tbody");
    if (!body) {
      return;
    }
    var existing = {};
    Array.prototype.forEach.call(body.querySelectorAll("tr[data-id]"), function (tr) {
      existing[tr.getAttribute("data-id")] = tr;
    });
    data.counsellors.forEach(function (c) {
      var tr = existing[c.id];
      delete existing[c.id];
      if (!tr) {
        tr = document.createElement("tr");
        tr.setAttribute("data-id", c.id);
        var name = el("th", c.name, "c-name");
        name.scope = "row";
        tr.appendChild(name);
        var cells = ["c-state", "c-since", "c-skills", "c-calls", "c-actions", "c-supervise"];
        cells.forEach(function (cls) {
          tr.appendChild(el("td", null, cls));
        });
        tr.setAttribute("data-actions", "-");
      }
      body.appendChild(tr); // keeps the server's order (also moves existing rows)
      tr.querySelector(".c-name").textContent = c.name;
      var state = tr.querySelector(".c-state");
      while (state.firstChild) {
        state.removeChild(state.firstChild);
      }
      state.appendChild(el("span", c.state_label, "badge state-" + c.state));
      if (c.reason_label) {
        state.appendChild(document.createTextNode(" "));
        state.appendChild(el("span", c.reason_label, "c-reason"));
      }
      tr.querySelector(".c-since").textContent = c.since;
      tr.querySelector(".c-skills").textContent = c.skills.join(", ");
      tr.querySelector(".c-calls").textContent = c.calls_today;
      // Rebuild the form only when the choices change and nobody is using it.
      var actions = c.actions.join(",");
      var cell = tr.querySelector(".c-actions");
      if (tr.getAttribute("data-actions") !== actions && !cell.contains(document.activeElement)) {
        fillActions(cell, c, data);
        tr.setAttribute("data-actions", actions);
      }
      // Who listens to the call, and the manager's Listen / Whisper / Barge / Leave (incall.js).
      if (window.HelplineIncall) {
        window.HelplineIncall.supervisionCell(
          tr.querySelector(".c-supervise"),
          c,
          root.dataset.login,
          data.supervise_labels || {}
        );
      }
    });
    Object.keys(existing).forEach(function (id) {
      body.removeChild(existing[id]);
    });
    $("no-team").hidden = data.counsellors.length > 0;
  }

  function renderAnnouncement(announcement) {
    var box = $("announcement-now");
    if (!box) {
      return;
    }
    box.hidden = !announcement;
    setText("announcement-text", announcement ? announcement.text : "");
    setText("announcement-left", announcement ? announcement.expires_in : "");
  }

  function render(data) {
    renderStatus(data);
    renderAlerts(data.alerts);
    renderWaiting(data.waiting);
    renderOffers(data.offers);
    renderMissedCallbacks(data.missed_callbacks || []);
    renderTeam(data);
    renderAnnouncement(data.announcement);
  }

  // -- figures ------------------------------------------------------------------------------

  function refreshFigures() {
    fetch(root.dataset.figuresUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok || response.redirected) {
          throw new Error("figures");
        }
        return response.text();
      })
      .then(function (html) {
        var box = $("figures");
        if (box) {
          box.innerHTML = html; // rendered and escaped by the server's template
        }
      })
      .catch(function () {
        /* the next nudge tries again */
      });
  }

  // -- live connection ----------------------------------------------------------------------

  function connection(text) {
    setText("connection", text ? "· " + text : "");
  }

  // The panel again now, without touching the connection's status (after a supervision change).
  function refresh() {
    fetch(root.dataset.nowUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok || response.redirected) {
          throw new Error("session");
        }
        return response.json();
      })
      .then(render)
      .catch(function () {
        /* the stream or the next poll brings it */
      });
  }

  function poll() {
    fetch(root.dataset.nowUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok || response.redirected) {
          throw new Error("session");
        }
        return response.json();
      })
      .then(function (data) {
        render(data);
        connection("mise à jour toutes les 5 s");
      })
      .catch(function () {
        connection("connexion perdue : rechargez la page (session expirée ?)");
      });
  }

  function connect() {
    if (!window.EventSource) {
      poll();
      pollTimer = window.setInterval(poll, 5000);
      return;
    }
    source = new EventSource(root.dataset.streamUrl);
    source.addEventListener("now", function (event) {
      render(JSON.parse(event.data));
      connection("en direct");
    });
    source.addEventListener("figures", refreshFigures);
    source.onerror = function () {
      // Each connection ends after ~25 s and the browser reconnects by itself; only a
      // refused one (session over: the login page is not an event stream) closes for good.
      if (source.readyState === EventSource.CLOSED) {
        connection("reconnexion…");
        window.setTimeout(function () {
          poll();
          connect();
        }, 5000);
      }
    };
  }

  // -- state changes ------------------------------------------------------------------------

  root.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.classList.contains("state-form")) {
      syncReason(form);
    }
  });

  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("state-form") || !window.fetch) {
      return; // other forms post normally
    }
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) {
      button.disabled = true;
    }
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf },
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return { ok: false, message: "Refusé (session expirée ?). Rechargez la page." };
          })
          .then(function (body) {
            message(body.message, body.ok ? "ok" : "error");
          });
      })
      .catch(function () {
        message("Le serveur ne répond pas ; réessayez.", "error");
      })
      .then(function () {
        if (button) {
          button.disabled = false;
        }
        if (!source || source.readyState !== 1) {
          poll();
        }
      });
  });

  document.addEventListener("incall:supervision", refresh);

  Array.prototype.forEach.call(root.querySelectorAll("form.state-form"), syncReason);
  connect();
  window.addEventListener("beforeunload", function () {
    if (source) {
      source.close();
    }
    if (pollTimer) {
      window.clearInterval(pollTimer);
    }
  });
})();
