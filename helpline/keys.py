"""Every Redis key name in the project lives here, and only here.

All keys of one helpline share the hash tag ``{<helpline id>}`` so that a Lua script touching
several of them also runs on Redis Cluster. A test (tests/test_keys.py) pins the exact strings.

| key (after ``hl:{3018}:``)   | type   | written by                | TTL / lifetime                          |
|------------------------------|--------|---------------------------|-----------------------------------------|
| ``call:<CallSid>``           | hash   | ivr (record), acd (outcome)| ``privacy.call_record_ttl`` from config |
| ``hours:exceptions``         | hash   | ivr.hours_store (CLI, dashboard) | none; cleared by ``hours clear``   |
| ``hours:seq``                | string | ivr.hours_store           | none (id counter)                       |
| ``acd:queue:<skill>:<lang>`` | zset   | acd Lua; CallSid scored by order key (ms, lower first); one per pool (skill and language) | while waiting, not offered |
| ``acd:queue:any``            | zset   | acd Lua; callers whose skill was relaxed | while waiting            |
| ``acd:relax``                | zset   | acd Lua; CallSid scored by time its skill relaxes (ms) | while waiting |
| ``acd:waiting``              | zset   | acd Lua; every waiting CallSid by enqueue time (ms) | while waiting    |
| ``acd:order``                | zset   | acd Lua; every waiting CallSid (offered too) by order key (ms): positions | while waiting |
| ``acd:caller:<CallSid>``     | hash   | acd Lua; waiting caller (platform, skill, priority…) | until outcome + TTL |
| ``acd:counsellors``          | set    | acd Lua; ids of known counsellors | none                            |
| ``acd:counsellor:<id>``      | hash   | acd Lua; profile and state | none                                   |
| ``acd:idle:<skill>:<lang>``  | zset   | acd Lua; available counsellor ids by idle-since (ms), one per pool | while available |
| ``acd:idle:any``             | zset   | acd Lua; every available counsellor id by idle-since (ms) | while available |
| ``acd:states``               | hash   | acd Lua; logged-in (not offline) counsellor id → state | while logged in |
| ``acd:reservation:<rid>``    | hash   | acd Lua; pending or accepted offer | TTL after it ends              |
| ``acd:offers``               | zset   | acd Lua; open reservation ids by expiry (ms) | while open           |
| ``acd:wrapups``              | zset   | acd Lua; counsellor ids by wrap-up end (ms) | while in wrap-up      |
| ``acd:seq``                  | string | acd Lua; reservation id counter | none                              |
| ``acd:handle_times``         | list   | acd Lua; recent handle times (s), capped | none                      |
| ``acd:twilio_queue_sid``     | string | acd.views (every waitUrl request) | none                                  |
| ``acd:dispatch_pending``     | string | acd.jobs.request_dispatch; deleted when the dispatch job starts | 10 s |
| ``acd:announced:<CallSid>``  | string | acd.views (waitUrl); last announcement slot (QueueTime // announce_every) | max_wait + 1 h |
| ``acd:caller:xfer-<rid>``    | hash   | acd Lua (transfer_start/step); a warm transfer of call ``<rid>``: a caller-like queue entry (kind, state, skill, from) in its skill's pool queue | while live; a day once over |
| ``acd:transfers``            | hash   | acd Lua (transfer_start/step); live warm transfers, ``xfer-<rid>`` → the id of the counsellor who asked (never offered it) | entries removed when the transfer ends |
| ``acd:offer_seq:<rid>``      | zset   | acd.views (offer status callbacks); counsellor leg CallSid → highest SequenceNumber seen | 1 day |
| ``acd:call_check:<rid>``     | string | acd.jobs (sweep, SET NX); the call of ``<rid>`` was last checked with Twilio (a lost end) | ``call_check_every`` |
| ``acd:callback:<CallSid>``   | string | acd Lua (callback_request); the caller's number for virtual hold, AES-GCM sealed (acd/callback.py), never in clear | deleted when the callback is answered or missed for good; else ``callback_ttl`` + 15 min |
| ``acd:callbacks``            | zset   | acd Lua; callers waiting for a callback, CallSid → deadline (ms) | until they are answered or missed |
| ``acd:callback_retry``       | zset   | acd Lua; callers whose callback was not answered, CallSid → next attempt not before (ms) | until that time (reserve moves them back) |
| ``acd:callbacks_missed``     | zset   | acd Lua; callbacks missed for good (duty managers' list), CallSid → when (ms) | entries pruned after 24 h |
| ``events``                   | stream | every transition (acd, ivr); capped with MAXLEN ~ | capped          |
| ``worker:heartbeat``         | string | the RQ worker process (ms) | 60 s                                   |
| ``announcement``             | string | duty managers; played to waiting callers | optional expiry         |
| ``stats:calls``              | hash   | outcome recording; ``<platform>:<outcome>`` → count | none          |
| ``console:users``            | set    | console.users (CLI); logins of console users | none                  |
| ``console:user:<login>``     | hash   | console.users (CLI); role, password hash, counsellor id, disabled, epoch | none |
| ``console:session:<hash>``   | hash   | console.auth at login; login, epoch (key = SHA-256 of the cookie's token) | 12 h |
| ``console:login_failures:<login>`` | zset | console.auth (Lua); attempts since the last success, by time (ms) | 15 min |
| ``partners:keys``           | set    | partners.apikeys (CLI, Lua); ids of every partner API key ever issued | none |
| ``partners:key:<key id>``   | hash   | partners.apikeys (CLI, Lua); platform, SHA-256 of the key, label, created/expires/revoked (ms), last use | none (kept revoked, for the audit) |
| ``partners:rate:<scope>``   | zset   | partners.limits (Lua); sliding window of one limit (tokens, calls, figures per platform or per hashed client), unique member -> ms | the window |
| ``partners:active:<platform>`` | zset | partners.limits (Lua); CallSids of the platform's calls in progress, by start (ms) | entries pruned after ``partners.stale_call`` |
| ``partners:tag_mismatches`` | hash   | partners.identity.count_mismatch; platform -> calls whose claimed tag contradicted their token | none |
| ``partners:refused``        | hash   | partners.limits (Lua); ``<platform>:<reason>`` -> calls refused by a limit | none |
| ``audit``                   | stream | dashboard (every duty manager's action, Lua or XADD): at, who, action, target, before/after JSON | ``dashboard.audit_retention_days`` (dashboard.jobs) |
| ``acd:overrides``           | hash   | dashboard (Lua, audited); runtime overrides of ``[acd]``: ``max_waiting``, ``max_wait``, ``priority.platform.<tag>``; to be read by the ACD | none; cleared field by field |
| ``roster:<YYYY-MM-DD>``     | hash   | dashboard; shift id -> JSON (counsellor, start, end: local HH:MM) of that local day | until the day + ``dashboard.retention_days`` |
| ``roster:seq``              | string | dashboard; shift id counter | none |
| ``forecast:<YYYY-MM-DD>``   | hash   | dashboard (planner); local ``HH:MM`` half-hour -> JSON (calls, aht) typed by a manager | until the day + ``dashboard.retention_days`` |
| ``retention:last``          | string | dashboard.jobs; JSON summary of the last retention run | none |
| ``incall:blocked``          | zset   | incall (Lua, audited); blocked caller hash -> end of the block (ms) | entries pruned once past their end |
| ``incall:blocks``           | hash   | incall (Lua, audited); blocked caller hash -> JSON (by, reason, at, until) | pruned with ``incall:blocked`` |
| ``incall:escalation_lock:<rid>:<target>`` | string | incall.escalate (SET NX); one dial per service and call at a time | 30 s |
| ``incall:supervision:<rid>`` | hash  | incall.supervise; the duty manager listening to a call: login, mode, participant and conference SIDs | 1 day; deleted when they leave |
"""

# ruff: noqa: E501 - the key table reads best unwrapped
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    """Key names for one helpline. ``Keys("3018").call("CA1")`` → ``hl:{3018}:call:CA1``."""

    helpline: str

    @property
    def prefix(self) -> str:
        """Common prefix with the cluster hash tag."""
        return f"hl:{{{self.helpline}}}:"

    # ivr
    def call(self, call_sid: str) -> str:
        """Call record hash."""
        return f"{self.prefix}call:{call_sid}"

    @property
    def hours_exceptions(self) -> str:
        """Dated opening-hours exceptions, id → JSON."""
        return f"{self.prefix}hours:exceptions"

    @property
    def hours_seq(self) -> str:
        """Counter for hours exception ids."""
        return f"{self.prefix}hours:seq"

    # acd
    def queue(self, skill: str, language: str | None = None) -> str:
        """Waiting callers needing ``skill`` (and ``language``; ``any`` once relaxed), by order key."""
        pool = skill if language is None else f"{skill}:{language}"
        return f"{self.prefix}acd:queue:{pool}"

    @property
    def order(self) -> str:
        """Every waiting caller (being offered too) by order key: ACD positions."""
        return f"{self.prefix}acd:order"

    @property
    def relax(self) -> str:
        """Waiting callers by the time their skill requirement relaxes."""
        return f"{self.prefix}acd:relax"

    @property
    def waiting(self) -> str:
        """Every waiting caller by enqueue time."""
        return f"{self.prefix}acd:waiting"

    def caller(self, call_sid: str) -> str:
        """A waiting caller's ACD record."""
        return f"{self.prefix}acd:caller:{call_sid}"

    @property
    def counsellors(self) -> str:
        """Ids of known counsellors."""
        return f"{self.prefix}acd:counsellors"

    def counsellor(self, counsellor_id: str) -> str:
        """A counsellor's profile and state."""
        return f"{self.prefix}acd:counsellor:{counsellor_id}"

    def idle(self, skill: str, language: str | None = None) -> str:
        """Available counsellors having ``skill`` (and ``language``; ``any``: all) by idle-since."""
        pool = skill if language is None else f"{skill}:{language}"
        return f"{self.prefix}acd:idle:{pool}"

    @property
    def states(self) -> str:
        """Logged-in (not offline) counsellors: id → state."""
        return f"{self.prefix}acd:states"

    def reservation(self, reservation_id: str) -> str:
        """One offer of a caller to a counsellor."""
        return f"{self.prefix}acd:reservation:{reservation_id}"

    @property
    def offers(self) -> str:
        """Open reservations by expiry."""
        return f"{self.prefix}acd:offers"

    @property
    def wrapups(self) -> str:
        """Counsellors in wrap-up by its end."""
        return f"{self.prefix}acd:wrapups"

    @property
    def seq(self) -> str:
        """Reservation id counter."""
        return f"{self.prefix}acd:seq"

    @property
    def handle_times(self) -> str:
        """Recent handle times in seconds, newest first."""
        return f"{self.prefix}acd:handle_times"

    @property
    def twilio_queue_sid(self) -> str:
        """The QueueSid Twilio gave the helpline's queue."""
        return f"{self.prefix}acd:twilio_queue_sid"

    @property
    def dispatch_pending(self) -> str:
        """Set while a dispatch job is pending: later requests share it."""
        return f"{self.prefix}acd:dispatch_pending"

    def announced(self, call_sid: str) -> str:
        """The waiting caller's last announcement slot (their QueueTime // announce_every)."""
        return f"{self.prefix}acd:announced:{call_sid}"

    def transfer_entry(self, reservation_id: str) -> str:
        """The warm transfer of the call of ``reservation_id`` (a caller-like queue entry)."""
        return self.caller(f"xfer-{reservation_id}")

    @property
    def transfers(self) -> str:
        """Live warm transfers: entry id → the counsellor who asked (never offered it)."""
        return f"{self.prefix}acd:transfers"

    def offer_seq(self, reservation_id: str) -> str:
        """Highest status-callback SequenceNumber seen per counsellor leg of an offer."""
        return f"{self.prefix}acd:offer_seq:{reservation_id}"

    def call_check(self, reservation_id: str) -> str:
        """Set while the sweep need not ask Twilio again whether the call of ``reservation_id``
        is still up (`acd.jobs.check_calls`)."""
        return f"{self.prefix}acd:call_check:{reservation_id}"

    def callback_number(self, call_sid: str) -> str:
        """The sealed number of a caller waiting for a callback (virtual hold)."""
        return f"{self.prefix}acd:callback:{call_sid}"

    @property
    def callbacks(self) -> str:
        """Callers waiting for a callback, by the deadline after which nobody calls them."""
        return f"{self.prefix}acd:callbacks"

    @property
    def callback_retry(self) -> str:
        """Callers whose callback went unanswered, by the time of the next attempt."""
        return f"{self.prefix}acd:callback_retry"

    @property
    def callbacks_missed(self) -> str:
        """Callbacks nobody answered after every attempt, by when (duty managers' list)."""
        return f"{self.prefix}acd:callbacks_missed"

    # shared
    @property
    def events(self) -> str:
        """The event stream: every transition, the single source of figures."""
        return f"{self.prefix}events"

    @property
    def worker_heartbeat(self) -> str:
        """Last time (ms) the worker said it was alive."""
        return f"{self.prefix}worker:heartbeat"

    @property
    def stats_calls(self) -> str:
        """Counters of finished calls per ``<platform>:<outcome>``."""
        return f"{self.prefix}stats:calls"

    @property
    def announcement(self) -> str:
        """Temporary announcement for waiting callers."""
        return f"{self.prefix}announcement"

    # console
    @property
    def console_users(self) -> str:
        """Logins of the console's users (counsellors and duty managers)."""
        return f"{self.prefix}console:users"

    def console_user(self, login: str) -> str:
        """One console user: role, password hash, counsellor id, disabled, session epoch."""
        return f"{self.prefix}console:user:{login}"

    def console_session(self, token_hash: str) -> str:
        """One console login session, named by the SHA-256 of the token its cookie holds."""
        return f"{self.prefix}console:session:{token_hash}"

    def console_login_failures(self, login: str) -> str:
        """Login attempts for ``login`` since its last success, by time (ms), for throttling."""
        return f"{self.prefix}console:login_failures:{login}"

    # partners (platform API, call page)
    @property
    def partner_keys(self) -> str:
        """Ids of every partner API key ever issued (revoked ones included)."""
        return f"{self.prefix}partners:keys"

    def partner_key(self, key_id: str) -> str:
        """One partner API key: platform, SHA-256 of the secret, label, times."""
        return f"{self.prefix}partners:key:{key_id}"

    def partner_rate(self, scope: str) -> str:
        """Sliding window of one rate limit (``tokens:<platform>``, ``client:<hash>``, …)."""
        return f"{self.prefix}partners:rate:{scope}"

    def partner_active(self, platform: str) -> str:
        """CallSids of one platform's calls in progress, by start time (ms)."""
        return f"{self.prefix}partners:active:{platform}"

    @property
    def partner_tag_mismatches(self) -> str:
        """Per platform, calls whose claimed tag contradicted their token's identity."""
        return f"{self.prefix}partners:tag_mismatches"

    @property
    def partner_refused(self) -> str:
        """Calls refused by a partner limit, per ``<platform>:<reason>``."""
        return f"{self.prefix}partners:refused"

    # dashboard (duty managers)
    @property
    def audit(self) -> str:
        """Every duty manager's action: who, what, when, before and after."""
        return f"{self.prefix}audit"

    @property
    def acd_overrides(self) -> str:
        """Runtime overrides of ``[acd]`` set from the dashboard (limits, platform priority)."""
        return f"{self.prefix}acd:overrides"

    def roster(self, day: str) -> str:
        """Counsellors' shifts of one local day (``YYYY-MM-DD``)."""
        return f"{self.prefix}roster:{day}"

    @property
    def roster_seq(self) -> str:
        """Counter for shift ids."""
        return f"{self.prefix}roster:seq"

    def forecast(self, day: str) -> str:
        """A manager's forecast (calls, AHT) per half-hour of one local day (``YYYY-MM-DD``)."""
        return f"{self.prefix}forecast:{day}"

    @property
    def retention_last(self) -> str:
        """What the last retention run did (JSON)."""
        return f"{self.prefix}retention:last"

    # incall (blocklist, escalation, supervision)
    @property
    def incall_blocked(self) -> str:
        """Blocked callers (keyed hash) by the end of their block (ms)."""
        return f"{self.prefix}incall:blocked"

    @property
    def incall_blocks(self) -> str:
        """Why and by whom each blocked caller was blocked (JSON by caller hash)."""
        return f"{self.prefix}incall:blocks"

    def incall_supervision(self, reservation_id: str) -> str:
        """The duty manager listening to the call of reservation ``rid``, and how."""
        return f"{self.prefix}incall:supervision:{reservation_id}"

    def incall_escalation_lock(self, reservation_id: str, target: str) -> str:
        """Set while a service is being dialled into a call: a second click does not dial."""
        return f"{self.prefix}incall:escalation_lock:{reservation_id}:{target}"
