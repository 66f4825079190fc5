// Warm transfer on the counsellor's console (console/_transfer.html, docs/incall.md).
// No inline script and no HTML from data (the console's CSP): textContent only.
//   [data-transfer-skill]   ask for a colleague with that skill  (POST /incall/transfer)
//   #transfer-complete      hand over once the colleague joined  (POST /incall/transfer/complete)
//   #transfer-cancel        "stay with me": keep the caller      (POST /incall/transfer/cancel)
//   #transfer-status        what is happening                    (GET /incall/api/transfer)
(function () {
  "use strict";

  var POLL_MS = 2000; // how often the state is asked for while the section is on screen
  var box = document.getElementById("transfer");
  if (!box) {
    return;
  }
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var statusLine = document.getElementById("transfer-status");
  var completeButton = document.getElementById("transfer-complete");
  var cancelButton = document.getElementById("transfer-cancel");
  var skillButtons = Array.prototype.slice.call(box.querySelectorAll("[data-transfer-skill]"));
  var labels = {};
  skillButtons.forEach(function (b) {
    labels[b.getAttribute("data-transfer-skill")] = b.getAttribute("data-label");
  });
  var busy = false;

  function label(skill) {
    return labels[skill] || skill || "";
  }

  function say(text, kind) {
    statusLine.hidden = !text;
    statusLine.textContent = text || "";
    statusLine.className = "notice " + (kind || "notice-info");
  }

  function show(state) {
    var s = state.state || "none";
    var who = state.colleague || "votre collègue";
    var running = s === "waiting" || s === "offering" || s === "joined";
    var colleagueSide = state.role === "colleague";
    skillButtons.forEach(function (b) {
      b.disabled = busy || running || colleagueSide;
      b.hidden = colleagueSide;
    });
    completeButton.hidden = !(s === "joined" && !colleagueSide);
    cancelButton.hidden = !(running && !colleagueSide);
    completeButton.disabled = cancelButton.disabled = busy;
    if (colleagueSide) {
      say("Transfert de " + (state.from || "un·e collègue") + " (" + label(state.skill) + ")" +
        (s === "joined" ? " : écoutez la présentation, l'appel vous sera ensuite confié." : "."));
    } else if (s === "waiting") {
      say("En attente d'un·e collègue " + label(state.skill) +
        " : l'appelant reste avec vous. Vous pouvez rester avec lui.");
    } else if (s === "offering") {
      say("Le téléphone de " + who + " (" + label(state.skill) + ") sonne…");
    } else if (s === "joined") {
      say(who + " a rejoint l'appel : présentez la situation, puis passez la main.", "notice-ok");
    } else if (s === "completed") {
      say("Appel confié à " + who + ".", "notice-ok");
    } else if (s === "canceled") {
      say(state.reason === "colleague_left"
        ? "Votre collègue a quitté l'appel : l'appelant reste avec vous."
        : "Transfert arrêté : l'appelant reste avec vous.");
    } else {
      say("");
    }
  }

  function request(method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRF-Token"] = csrf;
      options.body = JSON.stringify(body || {});
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () {
        return {};
      }).then(function (data) {
        return { ok: response.ok, data: data };
      });
    });
  }

  function act(url, body) {
    busy = true;
    return request("POST", url, body).then(function (answer) {
      busy = false;
      if (answer.ok) {
        show(answer.data);
      } else {
        say(answer.data.detail || "Action impossible pour le moment.", "notice-error");
      }
    }, function () {
      busy = false;
      say("Le serveur ne répond pas ; réessayez.", "notice-error");
    });
  }

  function poll() {
    if (box.offsetParent === null || busy) {
      return; // the call area is hidden (no accepted call), or an action is on its way
    }
    request("GET", box.getAttribute("data-state-url")).then(function (answer) {
      if (answer.ok && !busy) {
        show(answer.data);
      }
    }, function () {});
  }

  skillButtons.forEach(function (b) {
    b.addEventListener("click", function () {
      act(box.getAttribute("data-request-url"), { skill: b.getAttribute("data-transfer-skill") });
    });
  });
  completeButton.addEventListener("click", function () {
    act(box.getAttribute("data-complete-url"));
  });
  cancelButton.addEventListener("click", function () {
    act(box.getAttribute("data-cancel-url"));
  });
  poll();
  window.setInterval(poll, POLL_MS);
})();
