"""Personal data: emails, phone numbers, payment cards, US SSNs, IBANs and IP addresses.

Every candidate found by a regex is then judged: check digits (Luhn, IBAN mod 97), number plans,
and the words just before it ("card", "phone", "order #", "version") set its confidence, so a
threshold cuts look-alikes such as order numbers, dates and version strings. The regexes are compiled
once at import and each runs only when a cheap test (an `@`, a digit, a `:`) says it can match.

Decisions on look-alikes, kept consistent by the labelled tests:
- a dotted quad after a version/section word ("version 1.2.3.4", "v1.2.3.4") is not an IP address;
  loopback, unspecified and broadcast addresses identify no one and score below the default 0.5;
- a 12-19 digit number failing Luhn is not a card; one passing Luhn but with an unknown issuer
  prefix, grouped unlike cards ("4012-888-888-881-881"), or introduced as an order/invoice/tracking
  number, scores below 0.5; 12-digit numbers count only in Maestro ranges;
- a phone number needs a `+country` prefix, a North American 3-3-4 shape with a valid area code, a
  national shape (GB, DE, FR, ES, IT, NL, BR, IN, JP mobile and landline formats, each with its own
  confidence) or a generic trunk-0 shape (which only counts next to a word like "phone" or "call");
  after "ticket", "order", "case" or "#" a phone-shaped number is an identifier and scores 0.25;
- `name@2x.png` (an image file name) and `git@github.com:org/repo` (an SSH remote) are not emails.
"""

from __future__ import annotations

import ipaddress
import re
import string

from olga_cli.guardrails.checksums import iban_valid, luhn_valid
from olga_cli.guardrails.detector import Match
from olga_cli.guardrails.scan import finditer_in, trailing_run, windows
from olga_cli.guardrails.spec import GuardrailType

_EMAIL = re.compile(
    r"(?<![\w.%+\-])[A-Za-z0-9_%+\-][A-Za-z0-9._%+\-]{0,63}"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24})(?![\w\-])"
)
_SSH_PATH = re.compile(r":[\w~./\-]")
_FILE_EXTENSIONS = frozenset(
    ("png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "pdf", "js", "mjs", "ts",
     "tsx", "jsx", "css", "scss", "html", "htm", "json", "yaml", "yml", "md", "txt", "py", "rb", "go",
     "rs", "java", "kt", "swift", "cpp", "hpp", "zip", "gz", "tar", "mp3", "mp4", "mov", "wav", "woff",
     "woff2", "ttf")
)  # fmt: skip

# 12-19 digits (Maestro starts at 12), optionally grouped by single spaces or dashes.
_CARD = re.compile(r"(?<![\w.,+\-])\d(?:[ \-]?\d){11,18}(?![\w]|[.,\-]\d)")
_SSN = re.compile(r"(?<![\w\-])(?!000|666|9\d\d)\d{3}([\- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w\-]|\.\d)")
_SSN_BARE = re.compile(r"(?<![\w\-])(?!000|666|9\d\d)\d{3}(?!00)\d{2}(?!0000)\d{4}(?![\w\-]|\.\d)")
# An extension written after the number: "555-0147 x163", "ext. 12".
_EXT = r"(?:[ ]?(?:x|ext\.?|extension)[ ]?\d{1,6})?"
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d[\d \-.()]{5,22}\d" + _EXT + r"(?![\w]|[.\-]\d)")
_PHONE_NANP = re.compile(
    r"(?<![\w+.\-])(?:(?:\+?1|001)[ .\-]?)?(?:\(([2-9]\d\d)\) ?|([2-9]\d\d)([ .\-]))"
    r"[2-9]\d\d([ .\-])\d{4}" + _EXT + r"(?![\w]|[.\-]\d)"
)
_PHONE_TRUNK = re.compile(r"(?<![\w+.\-])0\d{1,4}[ \-]\d{2,4}(?:[ \-]\d{2,4}){1,2}(?![\w]|[.\-]\d)")
# ASCII word characters only: Japanese and Chinese write the number right after a word ("は090-...").
_NATIONAL_END = _EXT + r"(?![A-Za-z0-9_]|[.\-]\d)"
_NATIONAL_START = r"(?<![A-Za-z0-9_+.\-])"
# National formats (trunk 0 or a national mobile prefix), each with how sure its shape alone is;
# a word like "phone" or "call" before it adds to that, "ticket" or "order" takes from it.
_PHONE_NATIONAL: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(_NATIONAL_START + shape + _NATIONAL_END), confidence)
    for shape, confidence in (
        (r"07\d{3} ?\d{6}", 0.75),  # GB mobile: 07700 953265
        (r"0(?:\d{2} \d{4} \d{4}|\d{3} \d{3} \d{4}|\d{4} \d{5,6})", 0.6),  # GB: 020 7946 0958
        (r"01[5-7]\d{1,2}[ /\-]?\d{6,8}", 0.8),  # DE mobile: 0151 81535493
        (r"0[2-9]\d{1,3}[ /\-]\d{5,8}", 0.45),  # DE landline: 030 12345678
        (r"0\d{2,3} \d{6,7}", 0.55),  # GB, NL, DE: 0113 4960789, 016 7706403
        (r"\(0\d{2,5}\)[ \-]?(?:\d{3,4}[ \-]?\d{3,5}|\d{4,8})", 0.7),  # (0116) 496 0905, (04198) 98824
        (r"\d{2} 9?\d{4}-\d{4}", 0.7),  # BR without brackets: 11 91234-5678
        (r"0[1-9](?P<s>[ .\-]?)\d{2}(?:(?P=s)\d{2}){3}", 0.75),  # FR: 06 12 34 56 78
        (r"[6789]\d{2}(?: \d{3} \d{3}| \d{2} \d{2} \d{2})", 0.6),  # ES: 912 345 678
        (r"3\d{2}[ .]?\d{3}[ .]?\d{3,4}", 0.55),  # IT mobile: 333 123 4567
        (r"0\d{1,3} \d{3,4} \d{4}", 0.55),  # IT landline: 02 1234 5678
        (r"06[ \-]?\d{8}", 0.8),  # NL mobile: 06-12345678
        (r"0\d{2,3}-\d{6,7}", 0.55),  # NL landline: 020-1234567
        (r"\(\d{2}\) ?9?\d{4}-\d{4}", 0.85),  # BR: (11) 91234-5678
        (r"0?[6-9]\d{4} \d{5}", 0.7),  # IN mobile: 92717 55306
        (r"00[1-9]\d{0,2}[ \-]\d{1,5}(?:[ \-]\d{2,8}){1,3}", 0.6),  # dialled from abroad: 0049 30 901820
        (r"0[789]0-\d{4}-\d{4}", 0.85),  # JP mobile: 090-1234-5678
        (r"0\d{1,3}-\d{2,4}-\d{4}", 0.65),  # JP landline: 03-1234-5678
        (r"[1-9]\d-\d{4}-\d{4}", 0.5),  # JP written without the trunk 0: 90-1234-5678
    )
)
_DIGIT_GROUP_BEFORE = re.compile(r"\d[ \-]\Z")
_DIGIT_GROUP_AFTER = re.compile(r"[ \-]\d")
# Digits written without separators: any 9-13 next to a word like "phone"; without one, only the
# shapes a national plan gives a whole number (North American 10 digits, trunk-0 10-11 digits, an
# international "00" prefix, an Indian or Italian mobile), so epochs, amounts and short ids stay out.
_PHONE_BARE = re.compile(r"(?<![\w+.\-])\d{9,13}(?![\w]|[.\-]\d)")
_PHONE_BARE_PLAN = re.compile(r"[2-9]\d\d[2-9]\d{6}|[6-9]\d{9}|0[1-9]\d{8,9}|00[1-9]\d{7,11}|3\d{9,10}")
# Starts with the country letters (not `\b`) so the engine can skip lower-case text quickly.
_IBAN = re.compile(r"[A-Z]{2}(?<![A-Za-z0-9_][A-Z]{2})\d\d(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
# Six or more digits in groups separated by at most two of ` -.()/`: where cards, phones and SSNs
# can be. They are judged inside these runs only.
_NUMBER_RUN = re.compile(r"\d(?:[ \-.()/]{0,2}\d){5,}")
_DROP_SEPARATORS = str.maketrans("", "", " -.()/")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# Starts with a digit, the lookbehind after it, so the engine skips non-digits quickly.
_IPV4 = re.compile(r"\d(?<![\w.]\d)\d{0,2}(?:\.\d{1,3}){3}(?![\w]|\.\d)")
_IPV4_STRICT = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:]|\.\d)"
)

# The words just before a candidate: "card ending", "call me at", "order #", "SSN:".
_CARD_CONTEXT = re.compile(
    r"(?i)\b(?:card|visa|master ?card|maestro|amex|american express|discover|jcb|union ?pay|diners|mir|cc|credit|"
    r"debit|payment|pay with|karte|carte|tarjeta)"
    r"\b\W{0,12}(?:\w+\W+){0,3}\Z"
)
_NOT_CARD_CONTEXT = re.compile(
    r"(?i)(?:\b(?:order|invoice|tracking|shipment|parcel|ref|reference|ticket|case|account|acct|id|no|awb|"
    r"waybill|consignment|booking|confirmation|serial|imei|sku|transaction|txn|barcode|ean|upc|isbn|epoch|"
    r"timestamp|millis)\b"
    r"\W{0,4}(?:(?:number|num|no|id)\b\W{0,4})?|#\s?)\Z"
)
_PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|cell|call|fax|whatsapp|sms|text|contact|ring|dial|reach|"
    r"telefon|handy|mobil|m\u00f3vil|movil|tel\u00e9fono|telefono|t\u00e9l\u00e9phone|portable|celular|cellulare|"
    r"number|n\u00famero|numero|num\u00e9ro|nummer|rufnummer|rufen|ruf|anrufen|appelez|appelle|rappelez|llama|"
    r"ll\u00e1mame|llamar|chiama|chiamami|bel|ligue|ligar)\b\W{0,12}(?:\w+\W+){0,3}\Z"
    # Japanese and Chinese run words into the number: "電話番号は03-1234-5678".
    r"|(?:\u96fb\u8a71|\u643a\u5e2f|\u9023\u7d61|\u7535\u8bdd|\u624b\u673a)[^\n\d]{0,8}\Z"
)
# Identifiers written like phone numbers: "ticket 536-450-4408", "order no. 0151 8153549".
_NOT_PHONE_CONTEXT = re.compile(
    r"(?i)(?:\b(?:order|invoice|tracking|shipment|parcel|ref|reference|ticket|case|incident|issue|id|serial|"
    r"part|sku|po|booking|confirmation|transaction|txn|account|acct|build|job|batch|lot|claim|policy|epoch|"
    r"timestamp|millis|unix|pid|ean|isbn|upc|gtin|imei)\b"
    r"\W{0,4}(?:(?:number|num|no|id)\b\W{0,4})?|#\s?)\Z"
)
_SSN_CONTEXT = re.compile(r"(?i)\b(?:ssn|social security|soc\.? sec\.?|taxpayer)\b\W{0,12}(?:\w+\W+){0,3}\Z")
_VERSION_CONTEXT = re.compile(
    r"(?i)(?:\bv|\b(?:version|ver|release|build|rev|revision|firmware|patch|update|section|chapter|"
    r"clause|step|item|figure|table|rule|article)s?\.?[\s\"':=]*(?:number|no\.?|#)?[\s\"':=]*)\Z"
)
_NON_IDENTIFYING_IPV4 = frozenset({"0.0.0.0", "127.0.0.1", "255.255.255.255"})

# The tail of a text that may still grow into an entity: a token that could be (part of) an email or
# an IP, a run of digit groups (card, phone, SSN), or an IBAN in groups of four.
_TOKEN_CHARS = string.ascii_letters + string.digits + "._%+-@:"
_DIGIT_GROUP_CHARS = string.digits + " -.()/+"
_DIGIT_GROUP_START = re.compile(r"[+(\d]")
_IBAN_CHARS = string.ascii_uppercase + string.digits + " "
_IBAN_HEAD = re.compile(r"[A-Z]{2}\d{2}")
_TAIL_WINDOW = 160


def _context_before(text: str, start: int) -> str:
    return text[max(0, start - 48) : start]


def _card_issuer_known(digits: str) -> bool:
    """Whether a card network issues numbers with this prefix and length (the public IIN ranges)."""
    length = len(digits)
    p2, p3, p4, p6 = int(digits[:2]), int(digits[:3]), int(digits[:4]), int(digits[:6])
    return (
        (digits[0] == "4" and length in (13, 16, 19))  # Visa
        or ((51 <= p2 <= 55 or 2221 <= p4 <= 2720) and length == 16)  # Mastercard
        or (p2 in (34, 37) and length == 15)  # American Express
        or ((p4 == 6011 or p2 == 65 or 644 <= p3 <= 649 or 622126 <= p6 <= 622925) and 16 <= length <= 19)
        or (3500 <= p4 <= 3589 and 16 <= length <= 19)  # JCB (3528-3589, and older 35 ranges)
        or (p4 in (1800, 2131) and length == 15)  # JCB, 15 digits
        or ((300 <= p3 <= 305 or p2 in (36, 38, 39) or p4 == 3095) and 14 <= length <= 19)  # Diners
        or (p2 in (62, 81) and 16 <= length <= 19)  # UnionPay
        or (2200 <= p4 <= 2204 and 16 <= length <= 19)  # Mir
        # Maestro: 12 to 19 digits.
        or (
            (
                p4 in (5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763, 604, 6390)
                or p2 in (50, 56, 57, 58)
            )
            and length >= 12
        )
    )


def _card_grouping_plausible(candidate: str) -> bool:
    """Cards are written ungrouped, in fours, or 4-6-5 / 4-6-4 (Amex, Diners); "536-450-4408-21"
    or "12 345 678 901 234" group like other identifiers."""
    groups = [len(group) for group in re.split(r"[ \-]", candidate)]
    if len(groups) == 1:
        return True
    return all(size == 4 for size in groups[:-1]) or groups[:2] == [4, 6]


def _card_confidence(digits: str, before: str, candidate: str = "") -> float:
    if not luhn_valid(digits):
        return 0.0
    confidence = 0.85 if _card_issuer_known(digits) else 0.4
    if len(digits) == 12 and confidence < 0.5:
        return 0.0
    if candidate and not _card_grouping_plausible(candidate):
        confidence -= 0.4
    if _CARD_CONTEXT.search(before):
        confidence += 0.1
    elif _NOT_CARD_CONTEXT.search(before):
        confidence -= 0.4
    return max(0.0, min(confidence, 0.99))


def _phone_confidence(text: str, start: int, base: float) -> float:
    before = _context_before(text, start)
    # The word right before the number decides first: "call about order number 0151 8153549".
    if _NOT_PHONE_CONTEXT.search(before):
        return min(base, 0.25)
    if _PHONE_CONTEXT.search(before):
        return min(0.97, base + 0.35)
    return base


def _inside_longer_number(text: str, start: int, end: int) -> bool:
    """A national shape inside "1889 0499 5314 2373" is a piece of a longer number, not a phone."""
    return _DIGIT_GROUP_BEFORE.search(text, max(0, start - 2), start) is not None or (
        _DIGIT_GROUP_AFTER.match(text, end) is not None
    )


def _separators_consistent(candidate: str) -> bool:
    seps = {char for char in candidate if not char.isdigit()}
    return len(seps) <= 1


def _drop_phones_inside_numbers(matches: list[Match]) -> list[Match]:
    """Digit groups inside a checked card, IBAN or SSN are that entity, not also a phone number."""
    checked = [m for m in matches if m.entity in ("credit_card", "iban", "ssn") and m.confidence >= 0.5]
    if not checked:
        return matches
    return [
        m
        for m in matches
        if m.entity != "phone" or not any(c.start <= m.start and m.end <= c.end for c in checked)
    ]


def _ipv6_windows(text: str) -> list[tuple[int, int]]:
    """Where an IPv6 address can be: around a `::`, or where seven colons fall within 39 characters."""
    found = windows(text, ("::",), before=40, after=48)
    if text.count(":") >= 7:
        colons: list[int] = []
        index = text.find(":")
        while index != -1:
            colons.append(index)
            index = text.find(":", index + 1)
        dense = [
            (max(0, colons[i] - 5), colons[i + 6] + 6)
            for i in range(len(colons) - 6)
            if colons[i + 6] - colons[i] <= 36
        ]
        if dense:
            found = sorted(found + dense)
    return found


class PiiDetector:
    """Finds `email`, `phone`, `credit_card`, `ssn`, `iban` and `ip_address`."""

    @property
    def type(self) -> GuardrailType:
        return "pii"

    @property
    def lookbehind(self) -> int:
        return 64

    def detect(self, text: str) -> list[Match]:
        matches: list[Match] = []
        if "@" in text:
            self._emails(text, matches)
        for run in _NUMBER_RUN.finditer(text):
            self._numbers(text, run, matches)
        self._ibans(text, matches)
        if "." in text:
            self._ipv4(text, matches)
        spans = _ipv6_windows(text)
        if spans:
            self._ipv6(text, spans, matches)
        return _drop_phones_inside_numbers(matches)

    def _numbers(self, text: str, run: re.Match[str], out: list[Match]) -> None:
        """Judge one run of digit groups: only the shapes its digit count allows are tried."""
        digits = len(run.group().translate(_DROP_SEPARATORS))
        # A little past the run: a closing bracket, or an extension ("x163", "ext. 12").
        end = min(len(text), run.end() + 16)
        # Never end the span inside a word or number: a regex sees the span's end as the text's end,
        # so "EAN 3847818491456" cut after nine digits would look like a whole phone number.
        while end < len(text) and text[end].isalnum():
            end += 1
        span = (max(0, run.start() - 2), end)
        self._phones(text, span, out)
        if digits >= 9:
            self._ssns(text, span, out)
        if digits >= 12:
            self._cards(text, span, out)

    def pending_start(self, text: str) -> int:
        # A token that could be (part of) an email or IP address ...
        start = trailing_run(text, _TOKEN_CHARS, limit=_TAIL_WINDOW)
        # ... digit groups of a card, phone or SSN still arriving ...
        run = trailing_run(text, _DIGIT_GROUP_CHARS, limit=_TAIL_WINDOW)
        first = _DIGIT_GROUP_START.search(text, run)
        if first is not None:
            start = min(start, first.start())
        # ... or an IBAN written in groups of four.
        run = trailing_run(text, _IBAN_CHARS, limit=_TAIL_WINDOW)
        head = _IBAN_HEAD.search(text, run) if run < len(text) else None
        if head is not None:
            start = min(start, head.start())
        return start

    # Each finder appends to `out` rather than building lists to concatenate.

    def _emails(self, text: str, out: list[Match]) -> None:
        spans = windows(text, ("@",), before=72, after=272)
        for m in finditer_in(_EMAIL, text, spans):
            image_name = m.group(1).lower() in _FILE_EXTENSIONS
            ssh_remote = _SSH_PATH.match(text, m.end()) is not None
            out.append(Match("email", m.start(), m.end(), 0.3 if image_name or ssh_remote else 0.95))

    def _cards(self, text: str, span: tuple[int, int], out: list[Match]) -> None:
        for m in _CARD.finditer(text, *span):
            candidate = m.group()
            if not _separators_consistent(candidate):
                continue
            digits = candidate.replace(" ", "").replace("-", "")
            confidence = _card_confidence(digits, _context_before(text, m.start()), candidate)
            if confidence > 0.0:
                out.append(Match("credit_card", m.start(), m.end(), confidence))

    def _ssns(self, text: str, span: tuple[int, int], out: list[Match]) -> None:
        for m in _SSN.finditer(text, *span):
            in_context = _SSN_CONTEXT.search(_context_before(text, m.start())) is not None
            if m.group(1) == " " and not in_context:
                continue
            confidence = 0.97 if in_context else 0.85
            out.append(Match("ssn", m.start(), m.end(), confidence))
        for m in _SSN_BARE.finditer(text, *span):
            if _SSN_CONTEXT.search(_context_before(text, m.start())):
                out.append(Match("ssn", m.start(), m.end(), 0.75))

    def _phones(self, text: str, span: tuple[int, int], out: list[Match]) -> None:
        found: list[Match] = []
        if "+" in text[span[0] : span[1]]:
            for m in _PHONE_INTL.finditer(text, *span):
                candidate = m.group()
                digits = sum(char.isdigit() for char in candidate)
                if not 8 <= digits <= 15 or "  " in candidate or candidate.count("(") != candidate.count(")"):
                    continue
                found.append(Match("phone", m.start(), m.end(), _phone_confidence(text, m.start(), 0.9)))
        for m in _PHONE_NANP.finditer(text, *span):
            # "415-555.2671" mixes separators: more likely two numbers than one phone.
            if m.group(3) is not None and m.group(3) != m.group(4):
                continue
            found.append(Match("phone", m.start(), m.end(), _phone_confidence(text, m.start(), 0.8)))
        for m in _PHONE_TRUNK.finditer(text, *span):
            if _separators_consistent(m.group()):
                found.append(Match("phone", m.start(), m.end(), _phone_confidence(text, m.start(), 0.4)))
        for regex, base in _PHONE_NATIONAL:
            for m in regex.finditer(text, *span):
                if not _inside_longer_number(text, m.start(), m.end()):
                    found.append(Match("phone", m.start(), m.end(), _phone_confidence(text, m.start(), base)))
        for m in _PHONE_BARE.finditer(text, *span):
            before = _context_before(text, m.start())
            if _PHONE_CONTEXT.search(before) and not _NOT_PHONE_CONTEXT.search(before):
                found.append(Match("phone", m.start(), m.end(), 0.7))
            elif _PHONE_BARE_PLAN.fullmatch(m.group()):
                found.append(Match("phone", m.start(), m.end(), _phone_confidence(text, m.start(), 0.55)))
        # The shapes overlap ("+1 415 555 2671" is both international and North American): one
        # number is one match, the longest and most confident.
        found.sort(key=lambda match: (match.start, -(match.end - match.start), -match.confidence))
        last_end = -1
        for match in found:
            if match.start >= last_end:
                out.append(match)
                last_end = match.end

    def _ibans(self, text: str, out: list[Match]) -> None:
        for m in _IBAN.finditer(text):
            if iban_valid(m.group().replace(" ", "")):
                out.append(Match("iban", m.start(), m.end(), 0.95))

    def _ipv4(self, text: str, out: list[Match]) -> None:
        for m in _IPV4.finditer(text):
            if _IPV4_STRICT.fullmatch(m.group()) is None:
                continue
            before = text[max(0, m.start() - 24) : m.start()]
            if _VERSION_CONTEXT.search(before):
                confidence = 0.2
            elif m.group() in _NON_IDENTIFYING_IPV4:
                confidence = 0.4
            else:
                confidence = 0.9
            out.append(Match("ip_address", m.start(), m.end(), confidence))

    def _ipv6(self, text: str, spans: list[tuple[int, int]], out: list[Match]) -> None:
        for m in finditer_in(_IPV6, text, spans):
            candidate = m.group()
            if candidate.count(":") < 2:
                continue
            try:
                address = ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            groups = [group for group in candidate.replace(".", ":").split(":") if group]
            if address.is_loopback or address.is_unspecified:
                confidence = 0.4
            elif len(groups) >= 3:
                confidence = 0.9
            elif any(len(group) == 4 for group in groups):
                confidence = 0.6
            else:
                confidence = 0.3
            out.append(Match("ip_address", m.start(), m.end(), confidence))
