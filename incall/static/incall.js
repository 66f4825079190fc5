// In-call tools for the console pages (docs/incall.md). No inline script: the console's CSP.
// Markup the console adds where it wants them:
//   <p id="incall-presence" hidden></p>                       counsellor: supervisor present?
//   <button data-incall-escalate="police|emergency|child_protection">  counsellor: bring in
//   <button data-incall-supervise="listen|whisper|barge|leave" data-counsellor="<id>">  manager
(function () {
  "use strict";
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";
  const LABELS = { listen: "écoute", whisper: "vous parle (seul·e)", barge: "parle à tous" };

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || "Erreur");
    return data;
  }

  const presence = document.getElementById("incall-presence");
  if (presence) {
    const poll = async () => {
      try {
        const response = await fetch("/incall/api/presence", { credentials: "same-origin" });
        const data = await response.json();
        presence.hidden = !data.supervised;
        presence.textContent = data.supervised
          ? "Un cadre de permanence " + (LABELS[data.mode] || "est en ligne") + "."
          : "";
      } catch (err) {
        /* the next poll will tell */
      }
    };
    poll();
    setInterval(poll, 5000);
  }

  document.addEventListener("click", async (event) => {
    const escalate = event.target.closest("[data-incall-escalate]");
    if (escalate) {
      const label = escalate.textContent.trim();
      if (!window.confirm("Appeler " + label + " et l'ajouter à l'appel en cours ?")) return;
      escalate.disabled = true;
      try {
        await post("/incall/escalate", { target: escalate.dataset.incallEscalate });
        escalate.textContent = label + " : appel en cours";
      } catch (err) {
        window.alert(err.message);
        escalate.disabled = false;
      }
      return;
    }
    const supervise = event.target.closest("[data-incall-supervise]");
    if (supervise) {
      const mode = supervise.dataset.incallSupervise;
      const counsellor = supervise.dataset.counsellor;
      try {
        if (mode === "leave") await post("/incall/supervise/leave", { counsellor });
        else await post("/incall/supervise", { counsellor, mode });
      } catch (err) {
        window.alert(err.message);
      }
    }
  });
})();
