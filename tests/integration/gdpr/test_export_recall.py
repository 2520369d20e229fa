"""D2: the Art. 15/20 export of a seeded customer has every seeded item (100 % recall against what the
services answered while seeding), nothing of the other customer, and validates against the published
schema; it also reads back into the model (re-import)."""

from __future__ import annotations

import base64
import json

from jsonschema import Draft202012Validator

from conversation import Direction
from services.gdpr_export import SCHEMA_PATH, ExportDocument, build_export, export_schema, write_export
from tests.integration.gdpr.conftest import Stack
from tests.integration.gdpr.scan import hits_of
from tests.integration.gdpr.seed import A, B, seed


def test_the_published_schema_is_the_one_the_export_follows() -> None:
    published = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert published == export_schema(), "regenerate services/schemas/gdpr_export.schema.json from export_schema()"
    Draft202012Validator.check_schema(published)


async def test_export_has_every_seeded_item_and_nothing_of_the_other_customer(stack: Stack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = stack.services
    seeded = await seed(stack)
    doc, files = await build_export(s, seeded.contact_id)
    assert files == {}
    data = doc.model_dump(mode="json")
    Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))).validate(data)
    assert ExportDocument.model_validate_json(json.dumps(data)) == doc  # re-imports

    # ground truth from the seeding and the store's own API (not from the export's queries)
    outbound: set[str] = set()
    for conv_id in seeded.conversation_ids:
        outbound |= {m.id for m in await s.messages.list_messages(conv_id) if m.direction is Direction.OUTBOUND}
    conversations = {c["id"]: c for c in data["conversations"]}
    messages = {m["id"]: m for c in data["conversations"] for m in c["messages"]}
    decisions = {d["inbound_message_id"]: d for c in data["conversations"] for d in c["decisions"]}
    classified = {x["message_id"] for c in data["conversations"] for x in c["classifications"]}
    events = [e for c in data["conversations"] for e in c["timeline"]]
    attachments = {a["id"]: a for m in messages.values() for a in m["attachments"]}

    expected = {
        "conversations": (seeded.conversation_ids, set(conversations)),
        "inbound messages": (seeded.inbound_ids, set(messages)),
        "outbound messages": (outbound | seeded.approved_message_ids, set(messages)),
        "attachments": (seeded.attachment_ids, set(attachments)),
        "decisions": (seeded.decided_ids, set(decisions)),
        "classifications": (seeded.turned_ids, classified),
        "feedback": (seeded.feedback_ids, {f["id"] for f in data["feedback"]}),
        "identities": ({A.phone, A.email, A.device}, {i["address"] for i in data["identities"]}),
    }
    recall = {name: len(want & got) / len(want) for name, (want, got) in expected.items()}
    assert recall == {name: 1.0 for name in expected}, {n: sorted(w - g) for n, (w, g) in expected.items()}
    assert len(outbound) >= 6 and len(seeded.inbound_ids) == 6

    # content, not just ids
    (attachment,) = attachments.values()
    assert base64.b64decode(attachment["content_base64"]) == A.attachment
    assert attachment["sha256"] == A.attachment_sha256
    assert len(data["merges"]) == 2 and len({c["id"] for c in data["contacts"]}) == 3
    notes = [e for e in events if e["type"] == "note_added"]
    assert [n["data"]["text"] for n in notes] == seeded.note_texts and all(n["internal"] for n in notes)
    assert all(not e["internal"] for e in events if e["type"] in {"received", "understood", "decided", "sent"})
    drafts = {d["draft"]["state"]: d for d in decisions.values() if d["draft"]}
    assert set(drafts) == {"approved", "edited"}
    assert {d["draft"]["reviewed_by"] for d in drafts.values()} == {"agent1"}
    assert all(d["draft"]["text"] and d["draft"]["sent_message_id"] in messages for d in drafts.values())
    for d in decisions.values():
        assert d["reason"] and d["rule_id"] and d["policy_version"], d
    texts = " ".join(m["text"] for m in messages.values())
    for value in (A.canary, A.iban, A.street, A.policy, A.claim):
        assert value in texts

    # nothing of the other customer
    text = json.dumps(data)
    assert hits_of(text, B.identifiers()) == set()
    assert hits_of(text, {i: i for i in seeded.other_ids}) == set()
    assert not set(seeded.other_contact_ids) & {c["id"] for c in data["contacts"]}

    # the folder form: the same document, attachments as files beside it
    path = await write_export(s, seeded.contact_id, tmp_path / "export")
    written = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))).validate(written)
    (att,) = [a for c in written["conversations"] for m in c["messages"] for a in m["attachments"]]
    assert att["content_base64"] is None and (path.parent / att["file"]).read_bytes() == A.attachment
