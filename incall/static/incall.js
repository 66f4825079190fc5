// In-call tools on the console's and the dashboard's pages (docs/incall.md). No inline script
// and no HTML from data: the console's CSP, textContent only. Each part starts only when its
// markup is on the page:
//   counsellor (console.html, #incall, shown by console.js during an accepted call)
//     #incall-presence                     a supervisor is on my call (GET /incall/api/presence)
//     [data-incall-escalate=police|emergency|child_protection] with data-name, data-number
//     #incall-confirm, #incall-results     press, then confirm; dialling / added / failed, retry
//   duty manager (dashboard/index.html)
//     [data-incall-supervise=listen|whisper|barge|leave][data-counsellor]  join, change, leave
//     #supervisor-phone                    the manager's softphone (softphone.js), which
//                                          receives the supervisor leg
// dashboard.js draws the team table's supervision cells with `HelplineIncall.supervisionCell`.
window.HelplineIncall = (function () {
  "use strict";

  var PRESENCE_MS = 2000; // how often a counsellor on a call asks whether a supervisor is there
  var CONFIRM_MS = 10000; // an unanswered confirmation goes away: no dialling by a late click
  var EXPECT_MS = 30000; // a supervisor leg ringing this soon after a click is answered at once
  var PRESENCE = {
    listen: "Un cadre de permanence écoute cet appel (micro coupé).",
    whisper: "Un cadre de permanence vous parle : vous seul·e l'entendez.",
    barge: "Un cadre de permanence est dans la conversation : l'appelant l'entend aussi.",
  };
  var MODES = ["listen", "whisper", "barge"];

  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  function $(id) {
    return document.getElementById(id);
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

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
  }

  // POST JSON with the session's CSRF token; resolves to {ok, status, data}.
  function post(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRF-Token": csrf,
      },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          return { ok: response.ok, status: response.status, data: data };
        });
    });
  }

  function detail(result, fallback) {
    return (result && result.data && result.data.detail) || fallback;
  }

  // --- counsellor: safeguarding escalation --------------------------------------------------

  var area = $("incall");
  var confirmBox = $("incall-confirm");
  var pending = null; // the escalation button waiting for its confirmation
  var confirmTimer = null;

  function service(button) {
    return {
      target: button.dataset.incallEscalate,
      name: button.dataset.name,
      number: button.dataset.number,
    };
  }

  function cancelConfirm() {
    if (confirmTimer) {
      window.clearTimeout(confirmTimer);
      confirmTimer = null;
    }
    if (confirmBox) {
      confirmBox.hidden = true;
    }
    var was = pending;
    pending = null;
    return was;
  }

  function askConfirm(button) {
    if (!confirmBox) {
      return;
    }
    cancelConfirm();
    var s = service(button);
    pending = button;
    $("incall-confirm-text").textContent =
      "Appeler " + s.name + " (" + s.number + ") et l'ajouter à l'appel en cours ?";
    $("incall-confirm-yes").textContent = "Oui, appeler le " + s.number;
    confirmBox.hidden = false;
    $("incall-confirm-yes").focus();
    confirmTimer = window.setTimeout(cancelConfirm, CONFIRM_MS);
  }

  function resultLine(target) {
    var list = $("incall-results");
    var line = list.querySelector('[data-incall-result="' + target + '"]');
    if (!line) {
      line = el("li");
      line.setAttribute("data-incall-result", target);
      list.appendChild(line);
    }
    return line;
  }

  function showResult(button, text, kind, retry) {
    var line = resultLine(service(button).target);
    clear(line);
    line.className = "notice notice-" + kind;
    line.appendChild(el("span", text));
    if (retry) {
      var again = el("button", "Réessayer", "danger");
      again.type = "button";
      again.addEventListener("click", function () {
        escalate(button); // confirmed already: a child in danger must not wait for a second one
      });
      line.appendChild(document.createTextNode(" "));
      line.appendChild(again);
      again.focus();
    }
  }

  function escalate(button) {
    var s = service(button);
    var label = s.name + " (" + s.number + ")";
    button.disabled = true;
    showResult(button, label + " : appel en cours…", "info");
    post("/incall/escalate", { target: s.target })
      .then(function (result) {
        if (result.ok) {
          var added = label + " : appel passé, le service rejoint l'appel dès qu'il décroche.";
          showResult(button, added, "ok");
        } else if (result.status === 409 && result.data.title === "already_dialled") {
          showResult(button, label + " : " + detail(result, "déjà en cours d'appel."), "info");
        } else {
          var why = detail(result, "L'appel n'a pas pu être passé.");
          showResult(button, label + " : échec. " + why, "error", true);
        }
      })
      .catch(function () {
        showResult(button, label + " : échec, la console ne répond pas.", "error", true);
      })
      .then(function () {
        button.disabled = false;
      });
  }

  // --- counsellor: is a supervisor on my call? ----------------------------------------------

  var presence = $("incall-presence");
  var wasOnCall = false;

  function pollPresence() {
    var onCall = !!area && !area.hidden;
    if (!onCall) {
      if (wasOnCall) {
        // The call is over: nothing of it stays on the page for the next one.
        cancelConfirm();
        clear($("incall-results"));
      }
      wasOnCall = false;
      presence.hidden = true;
      window.setTimeout(pollPresence, PRESENCE_MS);
      return;
    }
    wasOnCall = true;
    fetch("/incall/api/presence", {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data) {
          presence.hidden = !data.supervised;
          presence.textContent = data.supervised ? PRESENCE[data.mode] || PRESENCE.listen : "";
        }
      })
      .catch(function () {
        /* the next poll will tell */
      })
      .then(function () {
        window.setTimeout(pollPresence, PRESENCE_MS);
      });
  }

  // --- duty manager: supervision buttons ----------------------------------------------------

  var phone = $("supervisor-phone");
  var expecting = 0; // when the manager last asked to join a call (ms)
  var leg = null; // the supervisor leg in the manager's browser

  function phoneStatus(text, kind) {
    var box = $("supervisor-phone-status");
    if (box) {
      box.textContent = text;
      box.className = "notice notice-" + (kind || "info");
    }
  }

  function notify(text, kind) {
    var box = $("incall-message");
    if (box) {
      box.textContent = text || "";
      box.className = "notice notice-" + (kind || "info");
      box.hidden = !text;
    }
  }

  function supervisionKey(c) {
    if (!c.on_call) {
      return "";
    }
    return c.supervision ? c.supervision.login + ":" + c.supervision.mode : "-";
  }

  // Fill a team row's supervision cell: who listens and how, and the manager's buttons.
  // Left alone when nothing changed (so a button keeps the focus between two snapshots).
  function supervisionCell(cell, c, me, labels) {
    var key = supervisionKey(c);
    if (cell.getAttribute("data-supervision") === key) {
      return;
    }
    var focused = cell.contains(document.activeElement)
      ? document.activeElement.getAttribute("data-incall-supervise")
      : null;
    cell.setAttribute("data-supervision", key);
    clear(cell);
    if (!c.on_call) {
      return;
    }
    var s = c.supervision;
    var who = s ? s.login + " " + s.mode_label : "Personne n'écoute";
    cell.appendChild(el("span", who, "c-supervision"));
    if (s && s.login !== me) {
      return; // one supervisor per call
    }
    var buttons = el("span", null, "supervise-buttons");
    MODES.concat(s ? ["leave"] : []).forEach(function (mode) {
      var button = el("button", mode === "leave" ? "Quitter" : labels[mode] || mode);
      button.type = "button";
      button.setAttribute("data-incall-supervise", mode);
      button.setAttribute("data-counsellor", c.id);
      if (mode !== "leave") {
        button.setAttribute("aria-pressed", s && s.mode === mode ? "true" : "false");
      }
      button.appendChild(el("span", " (" + c.name + ")", "visually-hidden"));
      buttons.appendChild(document.createTextNode(" "));
      buttons.appendChild(button);
      if (mode === focused) {
        window.setTimeout(function () {
          button.focus();
        }, 0);
      }
    });
    cell.appendChild(buttons);
  }

  function supervise(button) {
    var mode = button.dataset.incallSupervise;
    var counsellor = button.dataset.counsellor;
    var leaving = mode === "leave";
    button.disabled = true;
    if (!leaving) {
      expecting = Date.now();
    }
    var request = leaving
      ? post("/incall/supervise/leave", { counsellor: counsellor })
      : post("/incall/supervise", { counsellor: counsellor, mode: mode });
    request
      .then(function (result) {
        if (result.ok) {
          notify("");
          document.dispatchEvent(
            new CustomEvent("incall:supervision", {
              detail: { counsellor: counsellor, mode: mode },
            })
          );
        } else {
          expecting = 0;
          notify(detail(result, "La demande n'a pas abouti."), "error");
        }
      })
      .catch(function () {
        notify("Le serveur ne répond pas ; réessayez.", "error");
      })
      .then(function () {
        button.disabled = false;
      });
  }

  // --- duty manager: the softphone that receives the supervisor leg -------------------------

  function showHangup(visible) {
    var hangup = $("supervisor-hangup");
    if (hangup) {
      hangup.hidden = !visible;
    }
    var answer = $("supervisor-answer");
    if (answer) {
      answer.hidden = !(leg && !visible);
    }
  }

  function onLeg(call) {
    leg = call;
    var forget = function () {
      if (leg === call) {
        leg = null;
      }
      showHangup(false);
      phoneStatus("Softphone prêt : les écoutes arriveront ici.", "ok");
    };
    call.on("disconnect", forget);
    call.on("cancel", forget);
    call.on("reject", forget);
    call.on("accept", function () {
      showHangup(true);
      phoneStatus("En ligne : vous êtes dans l'appel.", "ok");
    });
    if (Date.now() - expecting < EXPECT_MS) {
      expecting = 0;
      call.accept(); // the manager just asked for this leg
    } else {
      phoneStatus("Un appel d'écoute sonne : décrochez pour le rejoindre.", "info");
      showHangup(false);
    }
  }

  function startPhone() {
    if (phone.dataset.sdk !== "1" || !window.HelplineSoftphone) {
      return; // the page already says why
    }
    window.HelplineSoftphone.start({
      tokenUrl: phone.dataset.tokenUrl,
      csrf: csrf,
      onStatus: phoneStatus,
      onIncoming: onLeg,
      messages: {
        ready: "Softphone prêt : les écoutes arriveront ici.",
        unregistered: "Softphone déconnecté : vous ne pouvez pas écouter d'appel.",
        missing: "Softphone indisponible : le module d'appel n'est pas chargé.",
      },
    });
    var hangup = $("supervisor-hangup");
    if (hangup) {
      hangup.addEventListener("click", function () {
        if (leg) {
          leg.disconnect(); // Twilio's status callback ends the supervision
        }
      });
    }
    var answer = $("supervisor-answer");
    if (answer) {
      answer.addEventListener("click", function () {
        if (leg) {
          leg.accept();
        }
      });
    }
  }

  // --- wiring -------------------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) {
      return;
    }
    var escalateButton = target.closest("[data-incall-escalate]");
    if (escalateButton) {
      askConfirm(escalateButton);
      return;
    }
    if (target.closest("#incall-confirm-yes")) {
      var chosen = cancelConfirm();
      if (chosen) {
        escalate(chosen);
      }
      return;
    }
    if (target.closest("#incall-confirm-no")) {
      var dropped = cancelConfirm();
      if (dropped) {
        dropped.focus();
      }
      return;
    }
    var superviseButton = target.closest("[data-incall-supervise]");
    if (superviseButton) {
      supervise(superviseButton);
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && pending) {
      cancelConfirm().focus();
    }
  });

  if (presence) {
    pollPresence();
  }
  if (phone) {
    startPhone();
  }

  return { supervisionCell: supervisionCell };
})();
