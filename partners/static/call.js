// The 3018 call page: get a voice token for the page's platform from /call/token, then call
// with the Twilio Voice JS SDK (loaded only when installed). No key ever reaches the browser.
(function () {
  "use strict";
  var root = document.getElementById("call-page");
  if (!root) return;
  var texts = {};
  try { texts = JSON.parse(root.dataset.texts || "{}"); } catch (e) { texts = {}; }
  var platform = root.dataset.platform || "unknown";
  var maxRef = parseInt(root.dataset.maxRef || "128", 10);
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var button = document.getElementById("call-button");
  var hangup = document.getElementById("hangup-button");
  var statusLine = document.getElementById("call-status");
  var langLink = document.getElementById("lang-link");
  var device = null;
  var call = null;

  // The report reference rides in the fragment (#ref=…), which browsers never send to a
  // server: it reaches the helpline only as the call's custom parameter.
  function reportRef() {
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    var ref = (params.get("ref") || "").trim();
    var pattern = new RegExp("^[A-Za-z0-9._:-]{1," + maxRef + "}$");
    return pattern.test(ref) ? ref : null;
  }

  if (langLink && window.location.hash) {
    langLink.href = langLink.href.split("#")[0] + window.location.hash;
  }

  function say(key) {
    if (statusLine) statusLine.textContent = texts[key] || "";
  }

  function idle() {
    call = null;
    if (button) { button.hidden = false; button.disabled = false; }
    if (hangup) hangup.hidden = true;
  }

  function failed(error) {
    var status = error && error.status;
    var code = error && error.code;
    if (status === 429) say("busy");
    else if (status === 403) say("expired");
    else if ((error && error.name === "NotAllowedError") || code === 31401 || code === 31208) say("mic");
    else say("unavailable");
    idle();
  }

  function fetchToken() {
    return fetch(root.dataset.tokenUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ platform: platform })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok && data.token) return data.token;
        var error = new Error("no token");
        error.status = response.status;
        throw error;
      });
    });
  }

  function ensureDevice(token) {
    if (device) {
      device.updateToken(token);
      return device;
    }
    device = new window.Twilio.Device(token, { closeProtection: true });
    device.on("error", failed);
    device.on("tokenWillExpire", function () {
      fetchToken().then(function (fresh) { device.updateToken(fresh); }).catch(function () {});
    });
    return device;
  }

  function start() {
    if (!window.Twilio || !window.Twilio.Device) { say("unavailable"); return; }
    button.disabled = true;
    say("connecting");
    fetchToken()
      .then(function (token) {
        var params = { platform: platform };
        var ref = reportRef();
        if (ref) params.ref = ref;
        return ensureDevice(token).connect({ params: params });
      })
      .then(function (current) {
        call = current;
        button.hidden = true;
        hangup.hidden = false;
        say("ringing");
        current.on("accept", function () { say("in_call"); });
        current.on("disconnect", function () { say("ended"); idle(); });
        current.on("cancel", function () { say("ended"); idle(); });
        current.on("reject", function () { say("busy"); idle(); });
        current.on("error", failed);
      })
      .catch(failed);
  }

  if (button) button.addEventListener("click", start);
  if (hangup) {
    hangup.addEventListener("click", function () {
      if (call) call.disconnect();
      else if (device) device.disconnectAll();
      idle();
    });
  }
})();
