"""Regenerate the derived training files in ``training_data/`` from the shared corpora.

Only permissively licensed sets are used: CFPB narratives (public domain; never the
LLM-label file's labels), BANKING77 (CC BY 4.0), the Bitext sample (CDLA-Sharing-1.0) and
IBM Twitter customer care first messages (Apache-2.0) with kinds labelled by hand.
Run: ``python -m cherish.triage.engine.build_data [DATA_DIR]``.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

from .paths import TRAINING_DIR, shared_data_dir

CFPB_PER_FAMILY = 400
CFPB_MAX_CHARS = 900

# BANKING77 intent -> (kind, topic). Problems that already happened are complaints in the
# sense of Preoţiuc-Pietro et al. ("reality falls short of expectations"); how-to questions
# are inquiries. Ambiguous intents are left out.
_B77_COMPLAINT = {
    "card_payment_wrong_exchange_rate": "billing",
    "extra_charge_on_statement": "billing",
    "card_not_working": "technical",
    "contactless_not_working": "technical",
    "wrong_amount_of_cash_received": "billing",
    "transfer_not_received_by_recipient": "billing",
    "top_up_reverted": "billing",
    "balance_not_updated_after_cheque_or_cash_deposit": "billing",
    "card_payment_not_recognised": "billing",
    "unable_to_verify_identity": "account/access",
    "compromised_card": "account/access",
    "direct_debit_payment_not_recognised": "billing",
    "declined_cash_withdrawal": "technical",
    "declined_transfer": "technical",
    "Refund_not_showing_up": "refund/returns",
    "declined_card_payment": "technical",
    "card_swallowed": "technical",
    "transaction_charged_twice": "billing",
    "failed_transfer": "technical",
    "virtual_card_not_working": "technical",
    "wrong_exchange_rate_for_cash_withdrawal": "billing",
    "top_up_failed": "technical",
    "balance_not_updated_after_bank_transfer": "billing",
    "cash_withdrawal_not_recognised": "billing",
    "pin_blocked": "account/access",
}
_B77_INQUIRY = {
    "card_linking": "account/access",
    "exchange_rate": "billing",
    "fiat_currency_support": "other",
    "card_delivery_estimate": "delivery",
    "automatic_top_up": "billing",
    "exchange_via_app": "technical",
    "age_limit": "account/access",
    "top_up_by_bank_transfer_charge": "billing",
    "cancel_transfer": "billing",
    "top_up_limits": "billing",
    "supported_cards_and_currencies": "other",
    "getting_virtual_card": "account/access",
    "card_acceptance": "other",
    "edit_personal_details": "account/access",
    "why_verify_identity": "account/access",
    "get_physical_card": "delivery",
    "visa_or_mastercard": "other",
    "topping_up_by_card": "billing",
    "disposable_card_limits": "other",
    "atm_support": "other",
    "passcode_forgotten": "account/access",
    "request_refund": "refund/returns",
    "terminate_account": "account/access",
    "verify_source_of_funds": "account/access",
    "transfer_timing": "billing",
    "change_pin": "account/access",
    "receiving_money": "billing",
    "transfer_into_account": "billing",
    "getting_spare_card": "account/access",
    "top_up_by_cash_or_cheque": "billing",
    "order_physical_card": "delivery",
    "get_disposable_virtual_card": "account/access",
    "activate_my_card": "account/access",
    "card_about_to_expire": "account/access",
    "apple_pay_or_google_pay": "technical",
    "verify_my_identity": "account/access",
    "country_support": "other",
}
_BITEXT_TOPIC = {
    "ACCOUNT": "account/access",
    "ORDER": "delivery",
    "SHIPPING_ADDRESS": "delivery",
    "DELIVERY": "delivery",
    "INVOICE": "billing",
    "PAYMENT": "billing",
    "REFUND": "refund/returns",
    "CANCELLATION_FEE": "billing",
    "CONTACT": "service/staff",
    "FEEDBACK": "service/staff",
    "NEWSLETTER": "other",
}


def build(data_dir: Path, out_dir: Path = TRAINING_DIR, seed: int = 13) -> dict[str, int]:
    rng = random.Random(seed)
    counts: dict[str, int] = {}

    # CFPB narratives (not the LLM-labelled joliem rows: their labels are not ours to ship,
    # and keeping their texts out keeps the anger check unseen).
    by_family: dict[str, list[dict[str, str]]] = defaultdict(list)
    with open(data_dir / "cfpb_consumer_complaints" / "cfpb_narratives.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if "joliem" in r["source"] or not r["narrative"].strip():
                continue
            by_family[r["product_family"]].append(r)
    rows = []
    for fam in sorted(by_family):
        items = by_family[fam]
        rng.shuffle(items)
        for r in items[:CFPB_PER_FAMILY]:
            text = r["narrative"].strip()[:CFPB_MAX_CHARS]
            rows.append(
                {"id": r["complaint_id"] or r["source_row_id"], "family": fam, "text": text}
            )
    with gzip.open(out_dir / "cfpb_sample.jsonl.gz", "wt", encoding="utf-8", compresslevel=9) as g:
        for row in rows:
            g.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts["cfpb"] = len(rows)

    # BANKING77: at most 45 per intent.
    b77: list[tuple[str, str, str]] = []
    per: dict[str, int] = defaultdict(int)
    with open(data_dir / "banking77" / "train.csv", encoding="utf-8") as f:
        items77 = list(csv.DictReader(f))
    rng.shuffle(items77)
    for r in items77:
        cat = r["category"]
        if cat in _B77_COMPLAINT:
            kind, topic = "c", _B77_COMPLAINT[cat]
        elif cat in _B77_INQUIRY:
            kind, topic = "i", _B77_INQUIRY[cat]
        else:
            continue
        if per[cat] >= 45:
            continue
        per[cat] += 1
        b77.append((kind, topic, r["text"].strip()))
    _write_tsv(out_dir / "banking77_mapped.tsv.gz", b77)
    counts["banking77"] = len(b77)

    # Bitext: complaint intent -> complaint; everything else (incl. "review" = asking how to
    # leave feedback) -> inquiry. At most 60 per intent.
    bt: list[tuple[str, str, str]] = []
    per = defaultdict(int)
    with open(
        data_dir / "bitext_customer_support" / "bitext_customer_support_4514.csv", encoding="utf-8"
    ) as f:
        items = list(csv.DictReader(f))
    rng.shuffle(items)
    for r in items:
        intent = r["intent"]
        if per[intent] >= 60:
            continue
        per[intent] += 1
        kind = "c" if intent == "complaint" else "i"
        bt.append((kind, _BITEXT_TOPIC.get(r["category"], "other"), r["instruction"].strip()))
    _write_tsv(out_dir / "bitext_mapped.tsv.gz", bt)
    counts["bitext"] = len(bt)

    # IBM Twitter customer care (Apache-2.0): first customer messages, kinds labelled by hand
    # for Cherish in ibm_kind_labels.tsv (conversation_id -> kind code).
    labels = {}
    for line in (out_dir / "ibm_kind_labels.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            cid, code = line.split("\t")
            labels[cid] = code
    ibm: list[tuple[str, str, str]] = []
    with open(
        data_dir / "ibm_twitter_customer_care" / "first_message_reply_pairs.csv", encoding="utf-8"
    ) as f:
        for r in csv.DictReader(f):
            if r["conversation_id"] in labels:
                ibm.append((labels[r["conversation_id"]], "-", r["customer_message"].strip()))
    _write_tsv(out_dir / "ibm_labelled.tsv.gz", ibm)
    counts["ibm"] = len(ibm)
    return counts


def _write_tsv(path: Path, rows: list[tuple[str, str, str]]) -> None:
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as g:
        for kind, topic, text in rows:
            g.write(f"{kind}\t{topic}\t{' '.join(text.split())}\n")


if __name__ == "__main__":
    d = Path(sys.argv[1]) if len(sys.argv) > 1 else shared_data_dir()
    print(build(d))
