"""A call leg's life: ringing, answering, running TwiML as Twilio does, ending.

One `Interpreter` per leg, run on the leg's own thread. Every request it makes is signed and
carries the call's standard parameters plus the verb's own. Control flow:

* a verb returns `CONTINUE` (next verb), `END` (the line hangs up) or a `Transfer` (fetch a new
  document: Gather/Dial/Enqueue action, Redirect);
* `Interrupted` (REST redirect, dequeue or hang-up) and `PartyHangup` (the simulated person
  hangs up) are raised out of any wait; verbs that hold resources (a queue, a conference, a
  dialled leg) release them and notify their action URL before letting the signal through;
* a TwiML request that fails goes to the fallback URL with ErrorCode/ErrorUrl; if that fails
  too the caller hears Twilio's application-error message and the call ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from simulator import twiml
from simulator.model import (
    API_VERSION,
    NEVER,
    HangupCommand,
    Interrupted,
    Leg,
    LegSignal,
    Member,
    Participant,
    PartyHangup,
    RedirectCommand,
)
from simulator.twiml import TwimlError, Verb
from simulator.webhooks import Document, WebhookError

if TYPE_CHECKING:
    from simulator.core import Simulator

log = logging.getLogger("simulator.calls")

APPLICATION_ERROR_TEXT = "We are sorry, an application error has occurred. Goodbye."


@dataclass(frozen=True)
class Transfer:
    """Continue with the document at ``url`` (or the inline ``twiml``)."""

    url: str | None
    method: str = "POST"
    params: dict[str, str] = field(default_factory=dict)
    twiml: str | None = None


class _Flow:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


CONTINUE = _Flow("CONTINUE")
END = _Flow("END")

Step = Transfer | _Flow


class ApplicationError(Exception):
    """The call cannot go on: Twilio plays its error message and hangs up."""

    def __init__(self, code: int) -> None:
        super().__init__(str(code))
        self.code = code


class _Rejected(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class _Preempted(Exception):
    """A wait ended because the situation changed (e.g. a conference started)."""


class Interpreter:
    """Runs one leg from its first ring to its end."""

    def __init__(self, sim: Simulator, leg: Leg) -> None:
        self.sim = sim
        self.cfg = sim.config
        self.net = sim.net
        self.leg = leg
        self._until: Callable[[], bool] | None = None
        self._first_request = True
        self._in_wait = False  # running a waitUrl document (its Gathers are queue offers)

    # -- lifecycle ------------------------------------------------------------------------

    def run(self) -> None:
        """The leg's thread."""
        leg = self.leg
        try:
            if leg.direction == "inbound":
                self._inbound()
            elif leg.direction == "outbound-api":
                self._outbound_api()
            else:
                self._dial_child()
            self._end("completed", "line")
        except _Rejected as exc:
            self._end(exc.status, "line", "reject")
        except ApplicationError as exc:
            self._application_error(exc.code)
        except Interrupted as exc:
            command = exc.command
            if isinstance(command, HangupCommand):
                self._end_by_command(command)
            else:  # a redirect that arrived after the last document: the call had ended
                self._end("completed", "line")
        except PartyHangup as exc:
            status = "completed" if leg.answered_at is not None else "canceled"
            self._end(status, "caller", exc.reason)
        except Exception:
            log.exception("simulator_fault call_sid=%s", leg.sid)
            self._end("failed", "error", "simulator-fault")
        finally:
            self.sim.webhooks.close_session()
            if not leg.done.is_set():  # a fault inside _end itself: never leave a waiter hanging
                with self.net.lock:
                    if leg.live:
                        leg.status, leg.ended_by = "failed", "error"
                        leg.ended_at = self.net.clock.now()
                leg.done.set()

    def _end_by_command(self, command: HangupCommand) -> None:
        status = command.status
        if self.leg.answered_at is None and status == "completed":
            status = "canceled"
        by = {"api": "api", "stop": "stop"}.get(command.source, "line")
        self._end(status, by, command.source)

    def _application_error(self, code: int) -> None:
        leg = self.leg
        leg.app_error = code
        leg.log(f"application error {code}")
        self.net.count("application_errors")
        try:
            self._answer()
            self._say_text(APPLICATION_ERROR_TEXT)
        except LegSignal:
            pass
        self._end("completed", "error", f"application-error-{code}")

    def _set_status(self, status: str) -> None:
        with self.net.lock:
            self.leg.status = status
            self.leg.date_updated = self.net.clock.rfc2822()

    def _answer(self) -> None:
        leg = self.leg
        with self.net.lock:
            if leg.answered_at is not None:
                return
            leg.answered_at = self.net.clock.now()
            leg.start_time = self.net.clock.rfc2822()
            leg.status = "in-progress"
            leg.date_updated = leg.start_time
            self._wake_parent()
        leg.log("answered")
        self._status_event("answered", "in-progress")

    def _wake_parent(self) -> None:
        """A dialling parent waits on this leg's state (lock held)."""
        parent = self.net.calls.get(self.leg.parent_sid or "")
        if parent is not None:
            parent.cond.notify_all()

    def _end(self, status: str, by: str, reason: str | None = None) -> None:
        leg, net = self.leg, self.net
        with net.lock:
            if leg.member is not None:
                net.dequeue(leg.member)
            if leg.participant is not None:
                net.leave_conference(leg.participant)
            if leg.joining is not None:
                net.drop_pending(leg.joining)
            for child in leg.children:
                if child.live:
                    child.command(HangupCommand("parent"))
            net.unbridge(leg)
            leg.status = status
            leg.ended_at = net.clock.now()
            leg.end_time = net.clock.rfc2822()
            leg.date_updated = leg.end_time
            leg.ended_by = by
            leg.end_reason = reason
            leg.timers.clear()
            leg.pending.clear()
            self._wake_parent()
        leg.log(f"ended {status} by {by}" + (f" ({reason})" if reason else ""))
        self._status_event("completed", status)
        leg.done.set()
        self.sim.leg_ended(leg)

    # -- parameters and requests ------------------------------------------------------------

    def params(self, status: str | None = None) -> dict[str, str]:
        """Twilio's standard request parameters for this call."""
        leg = self.leg
        p = {
            "AccountSid": self.net.account_sid,
            "CallSid": leg.sid,
            "From": leg.from_,
            "To": leg.to,
            "Caller": leg.from_,
            "Called": leg.to,
            "CallStatus": status or leg.status,
            "Direction": leg.direction,
            "ApiVersion": API_VERSION,
        }
        if leg.parent_sid:
            p["ParentCallSid"] = leg.parent_sid
        for side, number in (("From", leg.from_), ("To", leg.to)):
            if number.startswith("+33"):
                p[f"{side}Country"] = "FR"
        if leg.direction == "inbound" and leg.from_.startswith("client:"):
            p["ApplicationSid"] = self.cfg.twiml_app_sid
        return p

    def _status_event(self, event: str, status: str) -> None:
        leg = self.leg
        if not leg.status_callback or event not in leg.status_callback_events:
            return
        with self.net.lock:
            sequence = leg.sequence
            leg.sequence += 1
        p = self.params(status)
        p.update(
            CallbackSource="call-progress-events",
            SequenceNumber=str(sequence),
            Timestamp=self.net.clock.rfc2822(),
        )
        if event == "completed":
            p["CallDuration"] = str(leg.duration())
            p["Duration"] = str((leg.duration() + 59) // 60)
        self.sim.dispatcher.submit(leg.status_callback, leg.status_callback_method, p)

    def _request_params(self, extra: dict[str, str] | None) -> dict[str, str]:
        p = self.params()
        if self._first_request:
            # Custom parameters (Voice SDK) and SIP headers come with the first request only.
            p.update(self.leg.extra_params)
            self._first_request = False
        if extra:
            p.update(extra)
        return p

    def fetch(self, url: str, method: str, extra: dict[str, str] | None = None) -> Document:
        """Request TwiML for the call, falling back as Twilio does; else `ApplicationError`."""
        leg = self.leg
        params = self._request_params(extra)
        leg.log(f"{method} {url}")
        try:
            return self.sim.webhooks.fetch(url, method, params)
        except WebhookError as exc:
            self.net.count("webhook_failures")
            leg.log(f"request failed {exc.code} {exc.message}")
            if not leg.fallback_url:
                raise ApplicationError(exc.code) from exc
            self.net.count("fallback_used")
            fallback = dict(params, ErrorCode=str(exc.code), ErrorUrl=url)
            leg.log(f"{leg.fallback_method} {leg.fallback_url} (fallback)")
            try:
                return self.sim.webhooks.fetch(leg.fallback_url, leg.fallback_method, fallback)
            except WebhookError as exc2:
                self.net.count("webhook_failures")
                raise ApplicationError(exc2.code) from exc2

    def notify(self, url: str, method: str, extra: dict[str, str]) -> None:
        """A request whose answer does not drive the call (the call has moved on or ended)."""
        self.leg.log(f"{method} {url} (answer ignored)")
        self.sim.webhooks.notify(url, method, self._request_params(extra))

    def load(self, transfer: Transfer, base: str) -> Document:
        """The document a transfer leads to."""
        if transfer.twiml is not None:
            try:
                return Document(base, twiml.parse(transfer.twiml))
            except TwimlError as exc:
                raise ApplicationError(exc.code) from exc
        assert transfer.url is not None
        return self.fetch(transfer.url, transfer.method, transfer.params)

    @staticmethod
    def resolve(base: str, url: str) -> str:
        """A URL from TwiML, relative ones resolved against the current document's URL."""
        return urljoin(base, url.strip()) if url.strip() else base

    # -- the three kinds of legs ------------------------------------------------------------

    def _inbound(self) -> None:
        leg = self.leg
        self._status_event("initiated", "initiated")
        self._set_status("ringing")
        self._status_event("ringing", "ringing")
        doc = self.fetch(leg.url or "", leg.method)
        if doc.verbs and doc.verbs[0].name == "Reject":
            reason = doc.verbs[0].attr("reason", "rejected")
            raise _Rejected("busy" if reason == "busy" else "no-answer")
        self._answer()
        self.drive(doc)

    def _ring(self, answer_after: float | None, give_up_after: float) -> bool:
        """Ring until answered (True) or until ``give_up_after`` (False)."""
        leg, clock = self.leg, self.net.clock
        wait = give_up_after if answer_after is None else min(answer_after, give_up_after)
        deadline = clock.now() + wait
        while True:
            try:
                leg.sleep(deadline - clock.now())
                break
            except Interrupted as exc:
                command = exc.command
                if isinstance(command, RedirectCommand):  # not answered yet: new instructions
                    leg.url, leg.method, leg.twiml = command.url, command.method, command.twiml
                    continue
                raise
        return answer_after is not None and answer_after <= give_up_after

    def _outbound_api(self) -> None:
        leg = self.leg
        self._set_status("initiated")
        self._status_event("initiated", "initiated")
        if leg.to == self.cfg.helpline_number:
            leg.log("calls to the helpline's own number are not simulated")
            raise _Rejected("failed")
        self._set_status("ringing")
        self._status_event("ringing", "ringing")
        b = leg.behaviour
        answer_after = b.answer_delay if b.answers else None
        if not self._ring(answer_after, leg.timeout):
            raise _Rejected("no-answer")
        self._answer()
        if leg.joining is not None and leg.url is None and leg.twiml is None:
            self._participant(leg.joining)
            return
        doc = self.load(Transfer(leg.url, leg.method, {}, leg.twiml), leg.url or "")
        self.drive(doc)

    def _participant(self, p: Participant) -> None:
        """A leg created by the Participants resource: in the conference once answered, and
        hung up when it leaves it (there is no TwiML to continue with)."""
        leg, net = self.leg, self.net
        if not net.admit(p):
            leg.log("the conference ended before the participant answered")
            return
        leg.log(f"joined conference {p.conference.friendly_name} (participant)")
        try:
            leg.sleep(NEVER, until=lambda: p.removed)
        except LegSignal:
            net.leave_conference(p)
            raise
        leg.log("left conference")

    def _dial_child(self) -> None:
        leg = self.leg
        self._set_status("initiated")
        self._status_event("initiated", "initiated")
        self._set_status("ringing")
        self._status_event("ringing", "ringing")
        b = leg.behaviour
        answer_after = b.answer_delay if b.answers else None
        # The parent's <Dial timeout> decides when to give up; the child just rings.
        self._ring(answer_after, NEVER)
        self._answer()
        leg.sleep(NEVER)

    # -- running documents ------------------------------------------------------------------

    def drive(self, doc: Document) -> None:
        """Run documents until the call ends (returns when the line hangs up)."""
        while True:
            try:
                step = self.run_verbs(doc)
                if not isinstance(step, Transfer):
                    return
                doc = self.load(step, doc.url)
            except Interrupted as exc:
                command = exc.command
                if not isinstance(command, RedirectCommand):
                    raise
                self.leg.log("redirected" + (" (dequeued)" if command.dequeue else ""))
                doc = self.load(Transfer(command.url, command.method, {}, command.twiml), doc.url)

    def run_verbs(self, doc: Document) -> Step:
        """Run one document's verbs; END at its end."""
        for verb in doc.verbs:
            step = self.verb(verb, doc)
            if step is not CONTINUE:
                return step
        return END

    def verb(self, verb: Verb, doc: Document) -> Step:
        """Run one verb."""
        name = verb.name
        if name in ("Say", "Play", "Pause"):
            self.sound(verb)
            return CONTINUE
        if name == "Gather":
            return self.gather(verb, doc)
        if name == "Redirect":
            return Transfer(self.resolve(doc.url, verb.text), verb.attr("method", "POST"))
        if name in ("Hangup", "Reject"):
            return END
        if name == "Leave":
            return CONTINUE  # outside a queue, Twilio ignores it
        if name == "Enqueue":
            return self.enqueue(verb, doc)
        if name == "Dial":
            return self.dial(verb, doc)
        self.leg.log(f"<{name}> is not simulated: skipped")
        return CONTINUE

    # -- sounds -----------------------------------------------------------------------------

    def pause(self, seconds: float) -> None:
        """Let simulated time pass; interruptible; `_Preempted` when `_until` turns true."""
        if not self.leg.sleep(seconds, until=self._until):
            raise _Preempted

    def _say_text(self, text: str) -> None:
        self.leg.transcript.append(text)
        self.pause(twiml.say_seconds(text, self.cfg.say_chars_per_second))

    def sound(self, verb: Verb) -> None:
        """Say, Play or Pause."""
        if verb.name == "Say":
            for _ in range(twiml.loops(verb)):
                self._say_text(verb.text)
        elif verb.name == "Play":
            digits = verb.attr("digits")
            if digits:
                self.pause(0.5 * len(digits))
                return
            one = twiml.play_seconds(
                verb.text, self.cfg.play_seconds, self.cfg.play_default_seconds
            )
            self.pause(one * twiml.loops(verb))
        else:
            self.pause(verb.number("length", 1))

    # -- Gather -----------------------------------------------------------------------------

    def gather(self, verb: Verb, doc: Document) -> Step:
        """Prompts, then the party's keys; posts Digits to the action, else falls through."""
        action = self.resolve(doc.url, verb.attr("action"))
        method = verb.attr("method", "POST")
        timeout = verb.number("timeout", 5)
        num_digits = int(verb.number("numDigits", 0))
        finish = verb.attrs.get("finishOnKey", "#")[:1]
        for child in verb.children:
            self.sound(child)
        behaviour = self.leg.behaviour
        in_queue = self._in_wait
        dtmf = "dtmf" in verb.attr("input", "dtmf")
        keys = behaviour.keys_for_gather(in_queue=in_queue) if dtmf else None
        if keys and in_queue:
            self.leg.pressed_in_queue = True
        digits, finished_on = "", ""
        if keys and behaviour.key_delay <= timeout:
            self.pause(behaviour.key_delay)
            for i, key in enumerate(keys):
                if i:
                    self.pause(behaviour.inter_digit)
                if finish and key == finish:
                    finished_on = key
                    break
                digits += key
                if num_digits and len(digits) >= num_digits:
                    break
            else:
                self.pause(timeout)  # no terminating key: Twilio waits out the timeout
        else:
            self.pause(timeout)
        self.leg.log(f"gather digits={digits!r}")
        if digits or verb.flag("actionOnEmptyResult", False):
            params = {"Digits": digits}
            if finished_on:
                params["FinishedOnKey"] = finished_on
            return Transfer(action, method, params)
        return CONTINUE

    # -- Enqueue ----------------------------------------------------------------------------

    def enqueue(self, verb: Verb, doc: Document) -> Step:
        """Wait in a queue, looping on waitUrl, until dequeued, left, or hung up."""
        leg, net = self.leg, self.net
        action = self.resolve(doc.url, verb.attr("action")) if verb.attr("action") else None
        method = verb.attr("method", "POST")
        q = net.queue_named(verb.text.strip() or "default", create=True)
        assert q is not None
        member = net.enqueue(leg, q)
        if member is None:
            leg.queue_results.append("queue-full")
            leg.log(f"queue {q.friendly_name} full")
            if action:
                return Transfer(action, method, {"QueueResult": "queue-full"})
            return CONTINUE
        leg.log(f"enqueued in {q.friendly_name}")
        patience = leg.behaviour.patience
        if patience is not None:
            with net.lock:
                if leg.enqueued_at is not None:
                    leg.set_timer("patience", leg.enqueued_at + patience)
        try:
            result = self._wait_in_queue(member, verb, doc)
        except Interrupted as exc:
            net.dequeue(member)
            redirected = isinstance(exc.command, RedirectCommand)
            self._queue_exit(member, action, method, "redirected" if redirected else "hangup")
            raise
        except PartyHangup:
            net.dequeue(member)
            leg.hung_up_in_queue = True
            self._queue_exit(member, action, method, "hangup")
            raise
        net.dequeue(member)
        if result == "hangup":
            self._queue_exit(member, action, method, "hangup")
            return END
        return self._queue_exit(member, action, method, result, notify_only=False)

    def _queue_exit(
        self,
        member: Member,
        action: str | None,
        method: str,
        result: str,
        notify_only: bool = True,
    ) -> Step:
        leg = self.leg
        leg.queue_results.append(result)
        leg.log(f"left queue: {result}")
        params = {
            "QueueResult": result,
            "QueueSid": member.queue.sid,
            "QueueTime": str(int(self.net.clock.now() - member.enqueued_at)),
        }
        if action is None:
            return CONTINUE
        if notify_only:
            self.notify(action, method, params)
            return CONTINUE
        return Transfer(action, method, params)

    def queue_params(self, member: Member) -> dict[str, str]:
        """What Twilio tells the waitUrl about the caller's place in the queue."""
        with self.net.lock:
            q, now = member.queue, self.net.clock.now()
            position = q.position(member) if member in q.members else 0
            return {
                "QueueSid": q.sid,
                "QueuePosition": str(position),
                "QueueTime": str(int(now - member.enqueued_at)),
                "AvgQueueTime": str(q.average_wait(now)),
                "CurrentQueueSize": str(len(q.members)),
                "MaxQueueSize": str(q.max_size),
            }

    def _wait_in_queue(self, member: Member, verb: Verb, doc: Document) -> str:
        """Loop on the waitUrl; returns leave, hangup or error (dequeues arrive as signals)."""
        wait_url = verb.attrs.get("waitUrl")
        if wait_url is None or not wait_url.strip():
            # Twilio's default hold music, or silence: nothing to fetch.
            self.pause(NEVER)
        url = self.resolve(doc.url, wait_url or "")
        method = verb.attr("waitUrlMethod", "POST")
        while True:
            started = self.net.clock.now()
            wait_doc = self._fetch_wait(url, method, {}, member)
            if wait_doc is None:
                return "error"
            result = self._run_wait_doc(wait_doc, member)
            if result != "again":
                return result
            if self.net.clock.now() - started < 1:
                self.pause(1)  # an empty wait document must not spin

    def _fetch_wait(
        self, url: str, method: str, extra: dict[str, str], member: Member
    ) -> Document | None:
        params = self.queue_params(member)
        params.update(extra)
        try:
            self.leg.log(f"{method} {url} (queue wait)")
            return self.sim.webhooks.fetch(url, method, self._request_params(params))
        except WebhookError as exc:
            self.net.count("wait_url_errors")
            self.leg.log(f"wait url failed {exc.code} {exc.message}")
            return None

    def _run_wait_doc(self, doc: Document, member: Member) -> str:
        self._in_wait = True
        try:
            return self._run_wait_docs(doc, member)
        finally:
            self._in_wait = False

    def _run_wait_docs(self, doc: Document, member: Member) -> str:
        while True:
            step: Step = CONTINUE
            for verb in doc.verbs:
                if verb.name not in twiml.WAIT_URL_VERBS:
                    self.leg.log(f"<{verb.name}> is not allowed in a waitUrl document")
                    self.net.count("wait_url_errors")
                    return "error"
                if verb.name == "Leave":
                    return "leave"
                if verb.name == "Hangup":
                    return "hangup"
                step = self.verb(verb, doc)
                if step is not CONTINUE:
                    break
            if not isinstance(step, Transfer):
                return "again"
            assert step.url is not None
            fetched = self._fetch_wait(step.url, step.method, step.params, member)
            if fetched is None:
                return "error"
            doc = fetched

    # -- Dial -------------------------------------------------------------------------------

    def dial(self, verb: Verb, doc: Document) -> Step:
        """Connect to a conference or to another party; then the action or the next verb."""
        leg = self.leg
        action = self.resolve(doc.url, verb.attr("action")) if verb.attr("action") else None
        method = verb.attr("method", "POST")
        nouns = list(verb.children) or [Verb("Number", {}, verb.text)]
        if len(nouns) > 1:
            leg.log("simultaneous dialling is not simulated: first noun only")
        noun = nouns[0]
        if verb.attr("record") not in ("", "false", "do-not-record"):
            leg.log(f"record={verb.attr('record')} (not simulated)")
        with self.net.lock:
            leg.dial_started_at = self.net.clock.now()
        outcome: dict[str, str] = {"DialCallStatus": "failed"}
        try:
            if noun.name == "Conference":
                self.conference(noun, doc, outcome)
            elif noun.name in ("Number", "Client", "Sip"):
                self.dial_party(noun, verb, doc, outcome)
            else:
                leg.log(f"<Dial><{noun.name}> is not simulated")
        except Interrupted as exc:
            # Redirected elsewhere: the new document takes over; a hang-up still reports.
            if action and isinstance(exc.command, HangupCommand):
                self.notify(action, method, outcome)
            raise
        except PartyHangup:
            if action:
                self.notify(action, method, outcome)
            raise
        if action:
            return Transfer(action, method, outcome)
        return CONTINUE

    def conference(self, noun: Verb, doc: Document, outcome: dict[str, str]) -> None:
        """Join a conference and stay until it ends, the leg is removed, or a signal."""
        leg, net = self.leg, self.net
        events = frozenset(noun.attr("statusCallbackEvent").replace(",", " ").split())
        callback = noun.attr("statusCallback")
        attrs = {
            "muted": noun.flag("muted", False),
            "start_on_enter": noun.flag("startConferenceOnEnter", True),
            "end_on_exit": noun.flag("endConferenceOnExit", False),
            "label": noun.attrs.get("participantLabel"),
            "coaching": bool(noun.attr("coach")),  # coach="CA…": heard only by that leg
            "call_sid_to_coach": noun.attr("coach") or None,
            "status_callback": self.resolve(doc.url, callback) if callback else None,
            "status_callback_method": noun.attr("statusCallbackMethod", "POST"),
            "status_callback_events": events or frozenset({"start", "end"}),
        }
        p = net.join_conference(leg, noun.text.strip(), attrs)
        leg.log(f"joined conference {noun.text.strip()}")
        # Twilio reports "answered" for a <Dial><Conference> and sends no DialCallSid/Duration.
        outcome["DialCallStatus"] = "answered"
        try:
            wait_url = noun.attrs.get("waitUrl")
            if wait_url and wait_url.strip() and not p.conference.started:
                url = self.resolve(doc.url, wait_url)
                if not self._conference_wait(p, url, noun.attr("waitMethod", "POST")):
                    net.leave_conference(p)
                    outcome["DialCallStatus"] = "failed"
                    return
            leg.sleep(NEVER, until=lambda: p.removed)
        except LegSignal:
            net.leave_conference(p)
            raise
        leg.log("left conference")

    def _conference_wait(self, p: Participant, url: str, method: str) -> bool:
        """Run the conference waitUrl until the conference starts; False if it failed."""
        self._until = lambda: p.conference.started or p.removed
        extra = {"ConferenceSid": p.conference.sid, "FriendlyName": p.conference.friendly_name}
        try:
            while True:
                try:
                    doc = self.sim.webhooks.fetch(url, method, self._request_params(extra))
                except WebhookError:
                    self.net.count("wait_url_errors")
                    return False
                step: Step = CONTINUE
                for verb in doc.verbs:
                    if verb.name not in twiml.CONFERENCE_WAIT_VERBS:
                        continue
                    step = self.verb(verb, doc)
                    if step is not CONTINUE:
                        break
                if not isinstance(step, Transfer) or step.url is None:
                    return True  # the document ran out: silence until the start
                url, method = step.url, step.method
        except _Preempted:
            return True
        finally:
            self._until = None

    def dial_party(self, noun: Verb, verb: Verb, doc: Document, outcome: dict[str, str]) -> None:
        """Ring a number or client; bridge on answer until one side hangs up."""
        leg, net = self.leg, self.net
        target = noun.text.strip()
        identity = [c.text.strip() for c in noun.children if c.name == "Identity"]
        if noun.name == "Client":
            target = "client:" + (identity[0] if identity else target)
        callback = noun.attr("statusCallback")
        events = frozenset(noun.attr("statusCallbackEvent").replace(",", " ").split())
        child = self.sim.new_outbound_leg(
            to=target,
            from_=verb.attr("callerId") or leg.from_,
            direction="outbound-dial",
            parent=leg,
            status_callback=self.resolve(doc.url, callback) if callback else None,
            status_callback_method=noun.attr("statusCallbackMethod", "POST"),
            status_callback_events=events or frozenset({"completed"}),
        )
        outcome.update(DialCallStatus="canceled", DialCallSid=child.sid, DialBridged="false")
        timeout = verb.number("timeout", 30)
        try:
            leg.sleep(timeout, until=lambda: child.answered_at is not None or not child.live)
        except LegSignal:
            with net.lock:
                child.command(HangupCommand("parent", "canceled"))
            raise
        if child.answered_at is None:
            with net.lock:
                if child.live:
                    child.command(HangupCommand("timeout", "no-answer"))
                    status = "no-answer"
                else:
                    status = child.status
            outcome["DialCallStatus"] = status
            return
        net.bridge(leg, child)
        outcome.update(DialCallStatus="completed", DialBridged="true")
        try:
            leg.sleep(NEVER, until=lambda: not child.live)
        except LegSignal:
            with net.lock:
                child.command(HangupCommand("parent"))
            raise
        finally:
            net.unbridge(leg, child)
        outcome["DialCallDuration"] = str(child.duration())
