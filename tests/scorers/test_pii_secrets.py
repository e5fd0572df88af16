"""PII and secrets detection: true positives, false positives, check digits, redaction."""

from __future__ import annotations

import pytest

from scorers import ScorerError, pii, redact, secrets
from scorers.rules import ALL_ENTITIES, ENTITIES, shannon_entropy


def found(scorer, text: str) -> list[tuple[str, str]]:
    score = scorer.score(output=text)
    return [(text[s["start"]:s["end"]], s["entity"]) for s in score.metadata["spans"]]


# Published test card numbers (valid Luhn) in the formats people write them.
VALID_CARDS = [
    "4111111111111111", "4111 1111 1111 1111", "4012-8888-8888-1881", "5555555555554444",
    "5105 1051 0510 5100", "378282246310005", "3782 822463 10005", "6011111111111117",
]
# The same numbers with the check digit changed: not cards.
INVALID_CARDS = [
    "4111111111111112", "4111 1111 1111 1113", "5555555555554445", "378282246310006",
    "6011111111111118",
]


@pytest.mark.parametrize("card", VALID_CARDS)
def test_valid_luhn_cards_are_found(card: str) -> None:
    assert found(pii(), f"Charge card {card} today.") == [(card, "CREDIT_CARD")]


@pytest.mark.parametrize("card", INVALID_CARDS)
def test_invalid_luhn_numbers_are_not_cards(card: str) -> None:
    assert ("CREDIT_CARD" not in {e for _, e in found(pii(), f"Order number {card} shipped.")})


VALID_IBANS = [
    "GB82WEST12345698765432", "GB82 WEST 1234 5698 7654 32", "DE89370400440532013000",
    "DE89 3704 0044 0532 0130 00", "FR1420041010050500013M02606", "NL91ABNA0417164300",
]
INVALID_IBANS = [  # wrong mod-97 check digits or wrong length for the country
    "GB82WEST12345698765433", "DE89370400440532013001", "NL91ABNA0417164301",
    "GB00 WEST 1234 5698 7654 32", "DE8937040044053201300",
]


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_valid_ibans_are_found(iban: str) -> None:
    assert found(pii(), f"Wire it to {iban} please") == [(iban, "IBAN")]


@pytest.mark.parametrize("iban", INVALID_IBANS)
def test_ibans_with_bad_check_digits_are_not_found(iban: str) -> None:
    assert "IBAN" not in {e for _, e in found(pii(), f"Reference {iban} noted")}


def test_iban_followed_by_a_capitalized_word_keeps_its_own_extent() -> None:
    assert found(pii(["iban"]), "IBAN GB82 WEST 1234 5698 7654 32 THEN pay") == [
        ("GB82 WEST 1234 5698 7654 32", "IBAN")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail john.doe+news@example.co.uk now", [("john.doe+news@example.co.uk", "EMAIL")]),
        ("ssn 536-22-8526.", [("536-22-8526", "US_SSN")]),
        ("call +1 415-555-0132 or (415) 555-0199",
         [("+1 415-555-0132", "PHONE"), ("(415) 555-0199", "PHONE")]),
        ("UK office +44 20 7946 0958", [("+44 20 7946 0958", "PHONE")]),
        ("dial 415.555.0132 or +14155550132", [("415.555.0132", "PHONE"), ("+14155550132", "PHONE")]),
        ("from 192.168.1.20 via 8.8.8.8", [("192.168.1.20", "IPV4"), ("8.8.8.8", "IPV4")]),
        ("host 2001:db8::8a2e:370:7334 and ::1", [("2001:db8::8a2e:370:7334", "IPV6"), ("::1", "IPV6")]),
        ("NINO AB 12 34 56 C on file", [("AB 12 34 56 C", "UK_NINO")]),
    ],
)
def test_pii_true_positives(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(pii(), text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Released 2024-01-15, see version 1.2.3 and v1.2.3.4 notes.",
        "Pages 10-20 of order 12345 cost 1,299.99 dollars.",
        "Meet at 12:30:45; MAC 00:1A:2B:3C:4D:5E.",
        "Address 999.1.1.1 is not an IP, nor is 256.256.256.256.",
        "Write to user@localhost or @handle on the forum.",
        "SSNs 000-12-3456, 666-12-3456, 900-12-3456 and 123-00-4567 are never issued.",
        "Totals: 1234567890 units, ID 98765432101234 in the ledger.",
        "NINO-like GB 12 34 56 C uses an unissued prefix.",
    ],
)
def test_pii_false_positives_stay_clean(text: str) -> None:
    score = pii().score(output=text)
    assert score.value is False, found(pii(), text)
    assert score.passed is True


def test_pii_entities_are_configurable_and_custom_patterns_added() -> None:
    text = "mail a@b.io, card 4111111111111111, employee EMP-004211"
    assert [e for _, e in found(pii(["email"]), text)] == ["EMAIL"]
    custom = pii(["credit_card"], custom={"employee_id": r"EMP-\d{6}"})
    assert found(custom, text) == [("4111111111111111", "CREDIT_CARD"), ("EMP-004211", "EMPLOYEE_ID")]
    with pytest.raises(ScorerError, match="unknown entities"):
        pii(["passport_number"])
    assert set(ENTITIES) >= {"email", "phone", "credit_card", "iban", "ipv4", "ipv6", "us_ssn"}


def test_pii_score_counts_and_redaction_never_store_the_text() -> None:
    text = "Reach me at ann@corp.example or 536-22-8526; card 5555 5555 5555 4444."
    score = pii().score(output=text)
    assert score.value is True and score.passed is False
    assert score.metadata["entities"] == {"EMAIL": 1, "US_SSN": 1, "CREDIT_CARD": 1}
    assert "ann@corp" not in repr(score)
    assert redact(text, score.metadata["spans"]) == (
        "Reach me at [EMAIL] or [US_SSN]; card [CREDIT_CARD].")
    assert redact(text, score.metadata["spans"], "<{entity}>").startswith("Reach me at <EMAIL>")


SECRETS = [
    ("OPENAI_KEY", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"),
    ("OPENAI_KEY", "sk-ant-api03-Zx8Qp2Lm9Vt4Rk7Wn3Yb6Hc1"),
    ("AWS_ACCESS_KEY", "AKIAIOSFODNN7EXAMPLE"),
    ("GITHUB_TOKEN", "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2),
    ("GITHUB_TOKEN", "github_pat_11ABCDEFG0123456789_abcdefghijkl"),
    ("SLACK_TOKEN", "xoxb-2048-1234567890-AbCdEfGhIjKl"),
    ("SLACK_WEBHOOK", "https://hooks.slack.com/services/T000/B000/XXXXXXXX"),
    ("GOOGLE_API_KEY", "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"),
    ("STRIPE_KEY", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
]


@pytest.mark.parametrize(("label", "secret"), SECRETS)
def test_known_secret_formats_are_found(label: str, secret: str) -> None:
    assert found(secrets(), f"config: token = {secret} # keep safe") == [(secret, label)]


def test_private_key_blocks_full_and_truncated() -> None:
    block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----"
    text = f"here:\n{block}\nthanks"
    assert found(secrets(), text) == [(block, "PRIVATE_KEY")]
    assert redact(text, secrets().score(output=text).metadata["spans"]) == "here:\n[PRIVATE_KEY]\nthanks"
    head = "-----BEGIN OPENSSH PRIVATE KEY-----"
    assert found(secrets(["private_key"]), f"{head}\nb3BlbnNzaC1rZXk") == [(head, "PRIVATE_KEY")]


def test_high_entropy_strings_are_flagged_and_thresholds_apply() -> None:
    token = "Zx8Qp2Lm9Vt4Rk7Wn3Yb6Hc1Jd5Fg0Se"
    assert shannon_entropy(token) > 4.5
    assert found(secrets(), f"password={token}") == [(token, "HIGH_ENTROPY_STRING")]
    hexkey = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
    assert found(secrets(), f"secret: {hexkey}") == [(hexkey, "HIGH_ENTROPY_HEX")]
    assert found(secrets(base64_threshold=6.0), f"password={token}") == []
    assert found(secrets(high_entropy=False), f"password={token}") == []
    assert found(secrets(min_length=40), f"password={token}") == []


def test_shannon_entropy_values() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("aabb") == pytest.approx(1.0)
    assert shannon_entropy("abcd") == pytest.approx(2.0)


@pytest.mark.parametrize(
    "text",
    [
        "The quick brown fox jumps over the lazy dog, internationalization_configuration.",
        "Request id 550e8400-e29b-41d4-a716-446655440000 was retried.",
        "See https://example.com/docs/getting-started/install2024 for details.",
        "Our task-force-alpha-bravo-charlie-2024 met; risk-assessment is due.",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1 is padding, not a key.",
        "Passwords must be 12+ characters; never paste an sk- prefix alone.",
    ],
)
def test_secrets_false_positives_stay_clean(text: str) -> None:
    score = secrets().score(output=text)
    assert score.value is False, found(secrets(), text)
    assert score.passed is True


def test_secrets_configuration_errors_are_clear() -> None:
    with pytest.raises(ScorerError, match="unknown kinds"):
        secrets(["azure"])
    with pytest.raises(ScorerError, match="does not compile"):
        secrets(custom={"bad": "("})
    internal = secrets(["openai"], custom={"internal_token": r"itk_[a-z0-9]{12}"}, high_entropy=False)
    assert found(internal, "use itk_abc123def456 now") == [("itk_abc123def456", "INTERNAL_TOKEN")]


@pytest.mark.parametrize(
    ("entity", "valid", "invalid"),
    [  # published example numbers; the invalid ones differ in the check digit
        ("ca_sin", "123-456-782", "123-456-783"),
        ("in_aadhaar", "2341 2341 2346", "2341 2341 2347"),
        ("br_cpf", "390.533.447-05", "390.533.447-06"),
        ("es_dni", "54362315-K", "54362315-Z"),
    ],
)
def test_optional_national_ids_are_validated_by_check_digits(entity: str, valid: str, invalid: str) -> None:
    s = pii([entity])
    assert found(s, f"id {valid} on file") == [(valid, entity.upper())]
    assert found(s, f"id {invalid} on file") == []
    assert found(pii(), f"id {valid} on file") != [(valid, entity.upper())]  # not on by default


def test_entity_order_is_fixed_so_phone_never_shadows_an_id() -> None:
    text = "SIN 123-456-782"
    assert found(pii(["phone", "ca_sin"]), text) == found(pii(["ca_sin", "phone"]), text) == [
        ("123-456-782", "CA_SIN")]
    assert set(ALL_ENTITIES) - set(ENTITIES) == {"ca_sin", "in_aadhaar", "br_cpf", "es_dni"}


def test_mixed_separators_are_not_phone_numbers() -> None:
    assert found(pii(["phone"]), "ref 390.533.447-06 and 12.345-678") == []
    assert found(pii(["phone"]), "call 415-555-0132") == [("415-555-0132", "PHONE")]
