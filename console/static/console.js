// The counsellor console: live state (polling /console/api/state every 2 s), state buttons
// without reloading the page (a reload would drop the softphone), and the browser softphone
// (Twilio Voice JS SDK, when /console/static/vendor/twilio.min.js is installed).
// Plain JavaScript, no framework, no inline script (the page's CSP forbids them); the DOM is
// only ever filled with textContent, never HTML.
(function () {
  "use strict";

  var POLL_MS = 2000;
  var DIGIT_DELAY_MS = 1500; // let the offer's <Gather> start before pressing 1
  var root = document.getElementById("console");
  if (!root) {
    return;
  }
  var own = root.dataset.own === "1";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var last = null; // the last state received
  var incoming = null; // the offer ringing in the browser (a Twilio Call)
  var deviceReady = false;

  function $(id) {
    return document.getElementById(id);
  }

  function setText(id, text) {
    var el = $(id);
    if (el) {
      el.textContent = text == null ? "" : String(text);
    }
  }

  function show(id, visible) {
    var el = $(id);
    if (el) {
      el.hidden = !visible;
    }
  }

  function duration(seconds) {
    if (seconds == null) {
      return "—";
    }
    if (seconds < 60) {
      return seconds + " s";
    }
    var s = seconds % 60;
    return Math.floor(seconds / 60) + " min " + (s < 10 ? "0" : "") + s + " s";
  }

  function message(text, kind) {
    var el = $("message");
    if (!el) {
      return;
    }
    el.textContent = text || "";
    el.className = "notice notice-" + (kind || "info");
    el.hidden = !text;
  }

  function softphoneStatus(text, kind) {
    var el = $("softphone-status");
    if (el) {
      el.textContent = text;
      el.className = "notice notice-" + (kind || "info");
    }
  }

  function request(method, url, body) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") {
      headers["X-CSRF-Token"] = csrf;
      headers["Content-Type"] = "application/json";
    }
    return fetch(url, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      if (response.status === 401) {
        window.location.assign(root.dataset.loginUrl);
        throw new Error("logged out");
      }
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

  // --- rendering -------------------------------------------------------------------------

  function renderState(data) {
    last = data;
    var c = data.counsellor;
    if (!c) {
      return;
    }
    var badge = $("state-badge");
    if (badge) {
      badge.textContent = c.state_label;
      badge.className = "badge state-" + c.state;
    }
    setText("state-reason", c.reason_label || "");
    setText("state-since", "depuis " + duration(c.since_s));
    show("state-wrapup", c.wrap_up_left_s != null);
    if (c.wrap_up_left_s != null) {
      setText("state-wrapup", "· fin du post-appel dans " + duration(c.wrap_up_left_s));
    }
    if (own) {
      var actions = data.actions || [];
      ["available", "break", "offline"].forEach(function (name) {
        var button = $("btn-" + name);
        if (button) {
          button.disabled = actions.indexOf(name) < 0;
        }
      });
      setText(
        "btn-available",
        c.state === "wrap_up" ? "Terminer le post-appel" : "Je suis disponible"
      );
      show("busy-note", actions.length === 0);
    }
    renderCall(data.call);
  }

  function renderCall(call) {
    show("call-empty", !call);
    show("call", !!call);
    if (!call) {
      show("incall", false);
      updateCallButtons();
      return;
    }
    setText("call-status", call.status === "offered" ? "Un appel vous est proposé" : "Appel en cours");
    setText("call-platform", call.platform_label);
    setText("call-caller-type", call.caller_type_label);
    setText("call-language", call.language_label);
    setText("call-waited", duration(call.waited_s));
    show("call-expires-row", call.expires_in_s != null);
    setText("call-expires", duration(call.expires_in_s));
    show("call-ref-row", !!call.platform_ref);
    setText("call-ref", call.platform_ref || "");
    show("incall", call.status === "on_call"); // in-call tools (incall.js): only once accepted
    updateCallButtons();
  }

  function updateCallButtons() {
    if (!own) {
      return;
    }
    var accept = $("btn-accept");
    var decline = $("btn-decline");
    var hangup = $("btn-hangup");
    var offered = !!(last && last.call && last.call.status === "offered");
    var browser = !!(last && last.softphone);
    if (accept) {
      accept.hidden = !browser;
      accept.disabled = !(offered && deviceReady && incoming);
    }
    if (decline) {
      decline.hidden = !browser;
      decline.disabled = !(offered && deviceReady && incoming);
    }
    if (hangup) {
      hangup.hidden = !(incoming && incoming.status && incoming.status() === "open" && !offered);
    }
  }

  // --- polling ---------------------------------------------------------------------------

  function poll() {
    request("GET", root.dataset.stateUrl)
      .then(function (result) {
        if (result.ok) {
          renderState(result.data);
        } else if (result.data && result.data.detail) {
          message(result.data.detail, "error");
        }
      })
      .catch(function () {
        /* a network hiccup: the next poll tries again */
      })
      .then(function () {
        window.setTimeout(poll, POLL_MS);
      });
  }

  // --- state buttons ---------------------------------------------------------------------

  function onStateSubmit(event) {
    event.preventDefault();
    var form = event.currentTarget;
    var body = { state: form.dataset.state };
    var reason = form.querySelector('select[name="reason"]');
    if (reason) {
      body.reason = reason.value;
    }
    var button = form.querySelector('button[type="submit"]');
    if (button) {
      button.disabled = true;
    }
    request("POST", root.dataset.setStateUrl, body)
      .then(function (result) {
        if (result.ok) {
          message("État mis à jour : " + result.data.counsellor.state_label + ".", "info");
          renderState(result.data);
        } else {
          message((result.data && result.data.detail) || "Le changement n'a pas abouti.", "error");
          if (button) {
            button.disabled = false;
          }
        }
      })
      .catch(function () {
        message("La console ne répond pas. Vérifiez la connexion et réessayez.", "error");
        if (button) {
          button.disabled = false;
        }
      });
  }

  // --- softphone -------------------------------------------------------------------------

  function forgetIncoming() {
    incoming = null;
    updateCallButtons();
  }

  function onIncoming(call) {
    incoming = call;
    call.on("cancel", forgetIncoming);
    call.on("reject", forgetIncoming);
    call.on("disconnect", forgetIncoming);
    call.on("accept", updateCallButtons);
    updateCallButtons();
    var accept = $("btn-accept");
    if (accept && !accept.disabled) {
      accept.focus();
    }
  }

  function accept() {
    var call = incoming;
    if (!call) {
      return;
    }
    var button = $("btn-accept");
    if (button) {
      button.disabled = true;
    }
    message("Connexion à l'appel…", "info");
    var pressOne = function () {
      window.setTimeout(function () {
        // The offer's TwiML asks the counsellor's leg to press 1: that is the acceptance.
        if (incoming === call) {
          call.sendDigits("1");
          message("Appel accepté.", "info");
        }
      }, DIGIT_DELAY_MS);
    };
    if (call.status() === "pending") {
      call.once("accept", pressOne);
      call.accept();
    } else {
      pressOne();
    }
  }

  function decline() {
    var call = incoming;
    if (!call) {
      return;
    }
    if (call.status() === "pending") {
      call.reject();
    } else {
      call.sendDigits("2"); // any digit but 1 declines the offer
    }
    message("Appel refusé : il est proposé à un autre écoutant.", "info");
  }

  function hangup() {
    if (incoming) {
      incoming.disconnect();
    }
  }

  function startSoftphone() {
    if (!own || !last || !last.softphone) {
      return;
    }
    if (!window.HelplineSoftphone) {
      softphoneStatus(
        "Softphone indisponible : le module d'appel dans le navigateur n'est pas chargé.",
        "warning"
      );
      return;
    }
    // The SDK's device is shared code (softphone.js); what an incoming call means is ours.
    window.HelplineSoftphone.start({
      tokenUrl: root.dataset.tokenUrl,
      csrf: csrf,
      onStatus: softphoneStatus,
      onReady: function (ready) {
        deviceReady = ready;
        updateCallButtons();
      },
      onIncoming: onIncoming,
      messages: {
        ready: "Softphone prêt : les appels proposés sonneront ici.",
        unregistered: "Softphone déconnecté : les appels ne peuvent pas sonner ici.",
        missing:
          "Softphone indisponible : le module d'appel dans le navigateur n'est pas chargé. " +
          "Vous pouvez gérer votre état ici ; prévenez la coordination pour recevoir les appels.",
        after: "Vous pouvez gérer votre état ici.",
      },
    });
  }

  // --- start -----------------------------------------------------------------------------

  Array.prototype.forEach.call(document.querySelectorAll("form.state-form"), function (form) {
    form.addEventListener("submit", onStateSubmit);
  });
  var acceptButton = $("btn-accept");
  if (acceptButton) {
    acceptButton.addEventListener("click", accept);
  }
  var declineButton = $("btn-decline");
  if (declineButton) {
    declineButton.addEventListener("click", decline);
  }
  var hangupButton = $("btn-hangup");
  if (hangupButton) {
    hangupButton.addEventListener("click", hangup);
  }

  request("GET", root.dataset.stateUrl)
    .then(function (result) {
      if (result.ok) {
        renderState(result.data);
        startSoftphone();
      }
    })
    .catch(function () {})
    .then(function () {
      window.setTimeout(poll, POLL_MS);
    });
})();
