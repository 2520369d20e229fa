"""Art. 30 record of processing activities, generated from the configuration (``glassdesk gdpr ropa``).

Data classes, purposes, legal bases, retention (the ``retention_*`` settings), recipients (the LLM
provider only when ``GLASSDESK_LLM_*`` is set, Twilio only with a real account, the SMTP relay, the
back office) and transfers. The stores section lists every place personal data lives, including each
Redis key class (``services.gdpr_redis.REDIS_KEYS``), so a scan of a running system can be compared
with it. Legal bases are the usual ones for customer service; the controller confirms them (this is
a generated draft, not legal advice)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict

from conversation import utcnow
from services.gdpr_redis import REDIS_KEYS
from services.settings import DEV_TWILIO_TOKEN, Settings

__all__ = ["Ropa", "build_ropa", "render_markdown"]


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Recipient(_Doc):
    name: str
    role: str  # processor | controller | internal
    receives: str
    transfer: str


class Store(_Doc):
    name: str
    where: str
    holds: str
    retention: str


class Activity(_Doc):
    name: str
    purposes: list[str]
    legal_bases: list[str]
    data_subjects: list[str]
    data_classes: list[str]
    retention: list[str]
    recipients: list[str]


class Ropa(_Doc):
    generated_at: datetime
    controller: str
    activities: list[Activity]
    recipients: list[Recipient]
    stores: list[Store]
    retention_days: dict[str, int]
    notes: list[str]


def _local(url_or_host: str | None) -> bool:
    if not url_or_host:
        return True
    host = urlparse(url_or_host).hostname if "//" in url_or_host else url_or_host.split(":")[0]
    return host in {"127.0.0.1", "localhost", "::1", None} or (host or "").startswith("/")


def _host(url: str) -> str:
    parsed = urlparse(url)
    return parsed.hostname or parsed.path or url


def _recipients(s: Settings) -> list[Recipient]:
    out = []
    if s.llm_provider or s.llm_base_url:
        where = s.llm_base_url or f"the {s.llm_provider} API"
        out.append(
            Recipient(
                name=f"LLM provider: {s.llm_provider or 'OpenAI-compatible'} ({s.llm_model or 'default model'}) at "
                f"{_host(where) if s.llm_base_url else where}",
                role="processor",
                receives="the customer's message with names, numbers and addresses redacted, retrieved articles and "
                "back-office facts, to draft a reply",
                transfer="none (runs on this host)"
                if _local(s.llm_base_url) and s.llm_base_url
                else "to the provider's region: check its DPA, zero-retention and no-training terms [verify]",
            )
        )
    if s.twilio_auth_token.get_secret_value() != DEV_TWILIO_TOKEN:
        out.append(
            Recipient(
                name="Twilio Inc. (SMS)",
                role="processor",
                receives="phone numbers and SMS text, in and out; delivery status",
                transfer="USA: Twilio's DPA (SCCs / EU-US Data Privacy Framework) [verify]",
            )
        )
    else:
        out.append(
            Recipient(
                name="development SMS sink (var/sms)",
                role="internal",
                receives="outbound SMS, stored locally instead of sent",
                transfer="none",
            )
        )
    relay = f"{s.relay_host}:{s.relay_port}"
    out.append(
        Recipient(
            name=f"SMTP relay {relay}"
            + (" (local: development sink var/mail or the host's MTA)" if _local(s.relay_host) else ""),
            role="processor" if not _local(s.relay_host) else "internal",
            receives="outbound email: address, reply text, subject",
            transfer="none" if _local(s.relay_host) else "depends on the relay provider [verify]",
        )
    )
    out.append(
        Recipient(
            name="back office ("
            + (
                "configured connectors: REST / portal robot"
                if s.connectors_file
                else "SQL back office var/backoffice.db"
            )
            + ")",
            role="controller (the insurer's / shop's own system)",
            receives="customer id and order/policy/claim references of identified customers; claim intake drafts",
            transfer="none" if not s.connectors_file else "depends on the connector endpoints [verify]",
        )
    )
    if not _local(s.prefect_api_url):
        out.append(
            Recipient(
                name=f"Prefect API at {_host(s.prefect_api_url)}",
                role="processor",
                receives="flow runs with message and conversation ids (no text)",
                transfer="depends on where it is hosted [verify]",
            )
        )
    return out


def _stores(s: Settings) -> list[Store]:
    db = (
        "PostgreSQL " + _host(s.database_url)
        if s.database_url and "postgresql" in s.database_url
        else f"SQLite {s.var_dir / 'glassdesk.db'}"
    )
    d = {
        c: getattr(s, f"retention_{c}_days")
        for c in ("messages", "claims", "attachments", "drafts", "audit", "receipts", "queue", "logs")
    }
    stores = [
        Store(
            name="system of record (SQL)",
            where=db,
            holds="contacts, channel identities and merges, conversations, messages, timeline events (internal "
            "notes), decision records and drafts, outbox, staff feedback, quarantine, audit log, erasure "
            "receipts, legal holds, staff accounts, policy versions",
            retention=f"conversations {d['messages']} d after the last activity (claims {d['claims']} d); drafts "
            f"{d['drafts']} d; audit log append-only ({d['audit']} d set, not yet enforceable); "
            f"receipts {d['receipts']} d",
        ),
        Store(
            name="blob store",
            where=str(s.blob_dir),
            holds="attachment bytes, raw inbound emails, quarantined mail (content-addressed)",
            retention=f"{d['attachments']} d",
        ),
        Store(
            name="Redis",
            where=str(s.var_dir / "redis") if not s.redis_url else f"{_host(s.redis_url)}, {s.var_dir / 'redis'}",
            holds="turn queue and dead letters (ids), markers, leases, rate limits, staff sessions, identity "
            "codes (HMAC) — see the key classes; the embedded server keeps its AOF and RDB files under var/redis",
            retention=f"TTLs; streams trimmed after {d['queue']} d",
        ),
        Store(
            name="back office",
            where="the configured connectors (REST / portal robot)"
            if s.connectors_file
            else str(s.var_dir / "backoffice.db"),
            holds="customers, orders, contracts, claims and claim intake drafts (the shop's / insurer's own "
            "system of record; the demo SQL back office in development)",
            retention="the back office's own",
        ),
        Store(
            name="intent models",
            where=str(s.model_dir),
            holds="vocabulary and weights trained on the demo data and staff intent corrections (redacted text)",
            retention="replaced on retraining; retrained without a person's corrections on erasure",
        ),
        Store(
            name="knowledge index",
            where=str(s.var_dir / "kb-index"),
            holds="knowledge-base articles only (no customer text reaches it)",
            retention="rebuilt from articles",
        ),
        Store(
            name="Prefect database",
            where=str(s.var_dir / "prefect") if _local(s.prefect_api_url) else _host(s.prefect_api_url),
            holds="flow runs: message and conversation ids as parameters, state messages (ids); the server's "
            "own database when Prefect runs elsewhere",
            retention=f"flow runs deleted {d['queue']} d after they end; no logs are sent to the API",
        ),
        Store(
            name="app logs",
            where=str(s.var_dir / "log"),
            holds="ids and counts, never message text",
            retention=f"{d['logs']} d",
        ),
        Store(
            name="development sinks",
            where=f"{s.var_dir / 'mail'}, {s.var_dir / 'sms'}",
            holds="outbound email and SMS when no real provider is configured",
            retention=f"{d['messages']} d",
        ),
        Store(
            name="RPA screenshots",
            where=str(s.var_dir / "rpa-screenshots"),
            holds="screenshots of the back-office portal when a robot step fails (may show customer data)",
            retention=f"{d['logs']} d",
        ),
    ]
    for key in REDIS_KEYS:
        ttl = f"TTL ≤ {key.ttl_s} s" if key.ttl_s is not None else f"no TTL: {key.bounded_by}"
        stores.append(Store(name=f"Redis {key.pattern}", where="Redis", holds=key.holds, retention=ttl))
    return stores


def build_ropa(settings: Settings, *, now: datetime | None = None) -> Ropa:
    d = {
        c: int(getattr(settings, f"retention_{c}_days"))
        for c in ("messages", "claims", "attachments", "drafts", "audit", "receipts", "queue", "logs")
    }
    recipients = _recipients(settings)
    names = [r.name for r in recipients]
    customers = ["customers and prospects who write to customer service", "policyholders and claimants"]
    activities = [
        Activity(
            name="Answering customer requests (email, SMS, web chat)",
            purposes=[
                "answer questions and requests",
                "route them to the right person",
                "tell the customer what happened to their request (status page)",
            ],
            legal_bases=[
                "Art. 6(1)(b) contract (and steps before one)",
                "Art. 6(1)(f) legitimate interest in answering non-customers",
                "Art. 9(2)(f) for health data in claims [verify]",
            ],
            data_subjects=customers,
            data_classes=[
                "email address, phone number, chat session id, display name",
                "message text and attachments",
                "classifications: intent, language, sentiment, PII kinds",
                "decision records: rule, policy version, reason; AI drafts and who reviewed them",
                "internal notes of staff",
                "order, policy and claim references",
            ],
            retention=[
                f"{d['messages']} days after the last activity; claims {d['claims']} days",
                f"attachments {d['attachments']} days, drafts {d['drafts']} days",
            ],
            recipients=names,
        ),
        Activity(
            name="Improving the intent model from staff corrections",
            purposes=["route requests better"],
            legal_bases=["Art. 6(1)(f) legitimate interest"],
            data_subjects=customers,
            data_classes=["redacted message text with the corrected intent"],
            retention=["with the conversation; models retrained without a person's corrections on erasure"],
            recipients=["none"],
        ),
        Activity(
            name="Verifying a chat customer's email address or phone number",
            purposes=["link a chat to the customer's record only on proof"],
            legal_bases=["Art. 6(1)(b) contract", "Art. 32 security"],
            data_subjects=customers,
            data_classes=["HMAC of the one-time code, address kind and address"],
            retention=["10 minutes (Redis TTL)"],
            recipients=[n for n in names if n.startswith(("Twilio", "SMTP", "development"))],
        ),
        Activity(
            name="Staff accounts, sessions and the audit log",
            purposes=["access control", "accountability of who did what"],
            legal_bases=["Art. 6(1)(c)/(f), Art. 32 security"],
            data_subjects=["staff"],
            data_classes=[
                "username, display name, role, password hash",
                "sessions (12 h)",
                "audit entries: actor, action, ids, counts (redacted when the customer they name is erased)",
            ],
            retention=[f"audit log append-only and hash-chained; {d['audit']} days once archiving exists"],
            recipients=["none"],
        ),
        Activity(
            name="Data-subject rights (access, erasure)",
            purposes=["prove that requests were honoured"],
            legal_bases=["Art. 6(1)(c) legal obligation (Art. 5(2), 12, 17)"],
            data_subjects=customers,
            data_classes=["erasure receipts: HMAC pseudonym, counts, who asked and approved, when"],
            retention=[f"{d['receipts']} days"],
            recipients=["none"],
        ),
        Activity(
            name="Operating the service (orchestration, logs)",
            purposes=["run and debug the service"],
            legal_bases=["Art. 6(1)(f) legitimate interest"],
            data_subjects=customers + ["staff"],
            data_classes=["message, conversation and outbox ids", "error classes"],
            retention=[f"logs {d['logs']} days, queue entries and Prefect flow runs {d['queue']} days"],
            recipients=[n for n in names if n.startswith("Prefect")] or ["none"],
        ),
    ]
    return Ropa(
        generated_at=now or utcnow(),
        controller="the operator of this Glassdesk deployment (fill in name, address and DPO contact)",
        activities=activities,
        recipients=recipients,
        stores=_stores(settings),
        retention_days=d,
        notes=[
            "Generated from the configuration; the controller confirms the legal bases and transfers.",
            "Provider-side copies (Twilio message logs, the mail relay, recipients' mailboxes) and backups follow "
            "their own retention; an erasure receipt says so.",
        ],
    )


def render_markdown(ropa: Ropa) -> str:
    lines = [
        "# Record of processing activities (Art. 30 GDPR)",
        "",
        f"Generated {ropa.generated_at:%Y-%m-%d %H:%M} UTC from the configuration. Controller: {ropa.controller}.",
        "",
    ]
    for a in ropa.activities:
        lines += [f"## {a.name}", ""]
        for label, values in (
            ("Purposes", a.purposes),
            ("Legal bases", a.legal_bases),
            ("Data subjects", a.data_subjects),
            ("Data", a.data_classes),
            ("Retention", a.retention),
            ("Recipients", a.recipients),
        ):
            lines.append(f"- **{label}:** " + "; ".join(values))
        lines.append("")
    lines += ["## Recipients and transfers", "", "| recipient | role | receives | transfer |", "|---|---|---|---|"]
    lines += [
        f"| {_cell(r.name)} | {_cell(r.role)} | {_cell(r.receives)} | {_cell(r.transfer)} |" for r in ropa.recipients
    ]
    lines += ["", "## Stores", "", "| store | where | holds | retention |", "|---|---|---|---|"]
    lines += [f"| {_cell(s.name)} | {_cell(s.where)} | {_cell(s.holds)} | {_cell(s.retention)} |" for s in ropa.stores]
    lines += ["", "## Notes", ""] + [f"- {n}" for n in ropa.notes]
    return "\n".join(lines) + "\n"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
