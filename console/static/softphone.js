// The browser softphone shared by the counsellor console (console.js) and the duty managers'
// live panel (incall.js): a Twilio Voice JS SDK Device registered with an access token from
// the server, renewed when the SDK warns it will expire. The page decides what to do with an
// incoming call and what to say; this file only talks to the SDK and the token endpoint.
// Plain JavaScript, no inline script (the pages' CSP forbids it).
window.HelplineSoftphone = (function () {
  "use strict";

  function available() {
    return !!(window.Twilio && window.Twilio.Device);
  }

  // POST the token endpoint with the session's CSRF token; resolves to the JWT.
  function fetchToken(url, csrf) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRF-Token": csrf,
      },
      body: "{}",
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          if (!response.ok || !data.token) {
            var error = new Error(data.detail || "jeton refusé");
            error.status = response.status;
            throw error;
          }
          return data.token;
        });
    });
  }

  // options: tokenUrl, csrf, and callbacks
  //   onStatus(text, kind)  what to show ("info", "ok", "warning")
  //   onReady(ready)        registered (true) or not (false)
  //   onIncoming(call)      a call rings in the browser
  //   messages: {ready, unregistered, missing, after} texts of the page (after: appended to
  //             a failure)
  // Resolves to the Device, or null when the SDK is missing or the token refused.
  function start(options) {
    var say = options.onStatus || function () {};
    var ready = options.onReady || function () {};
    var messages = options.messages || {};
    if (!available()) {
      say(
        messages.missing || "Softphone indisponible : le module d'appel n'est pas chargé.",
        "warning"
      );
      return Promise.resolve(null);
    }
    return fetchToken(options.tokenUrl, options.csrf)
      .then(function (token) {
        var device = new window.Twilio.Device(token, {
          closeProtection: "Un appel est en cours : quitter la page le couperait.",
          codecPreferences: ["opus", "pcmu"],
        });
        device.on("registered", function () {
          say(messages.ready || "Softphone prêt.", "ok");
          ready(true);
        });
        device.on("unregistered", function () {
          say(messages.unregistered || "Softphone déconnecté.", "warning");
          ready(false);
        });
        device.on("error", function (error) {
          var why = error && error.message ? error.message : "erreur";
          say("Softphone indisponible (" + why + ").", "warning");
        });
        device.on("incoming", function (call) {
          if (options.onIncoming) {
            options.onIncoming(call);
          }
        });
        device.on("tokenWillExpire", function () {
          fetchToken(options.tokenUrl, options.csrf)
            .then(function (fresh) {
              device.updateToken(fresh);
            })
            .catch(function () {
              say("Le jeton du softphone n'a pas pu être renouvelé.", "warning");
            });
        });
        return Promise.resolve(device.register()).then(function () {
          return device;
        });
      })
      .catch(function (error) {
        say(
          "Softphone indisponible : " +
            (error && error.message ? error.message : "connexion impossible") +
            "." +
            (messages.after ? " " + messages.after : ""),
          "warning"
        );
        return null;
      });
  }

  return { available: available, start: start, fetchToken: fetchToken };
})();
