"""Line classifiers for reply stripping: what one line of a plain-text reply looks like.

Each predicate looks at a single *probe*: the first ``MAX_PROBE`` characters of
a line with Unicode spaces folded to ASCII and the ends stripped. Every test is
a constant number of ``startswith``/``endswith``/``in``/dict look-ups on that
bounded string, with no regular expression that could backtrack, so
classifying a line costs O(1) however long the line is. ``normalize.quotes``
combines the classifications into a cut.

The phrase tables are data: a new client or language is a new entry, not a new
branch. Labels and phrases are compared after ``str.casefold``.
"""

from __future__ import annotations

from enum import Enum, StrEnum

MAX_PROBE = 500  # only this much of a line is ever inspected
MAX_ATTRIBUTION = 400  # "On <date>, <name> <address> wrote:" is never longer
MAX_LABEL = 24  # "Vastaanottaja" is the longest header label we know
MAX_SIGNATURE_LINE = 80  # "Sent from my iPhone" lines are short
COLONS = (":", "\uff1a")  # CJK clients write the full-width colon

# NBSP (Outlook, French typography before ":"), narrow NBSP (macOS), ideographic
# space (CJK clients) read as spaces; zero-width space and BOM are dropped.
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u3000": " ", "\u200b": "", "\ufeff": ""})


def probe(line: str) -> str:
    """The bounded, space-folded, stripped view of ``line`` that every predicate reads."""
    head = line[:MAX_PROBE]
    if not head.isascii():
        head = head.translate(_SPACES)
    return head.strip()


class Separator(Enum):
    ORIGINAL = "original"  # what follows is the quoted message being answered
    FORWARD = "forward"  # what follows is content the sender chose to pass on


# "-----Original Message-----" as Outlook writes it in each language, and the
# "-------- Original Message --------" of Thunderbird and Yahoo, compared
# without the dashes.
_ORIGINAL_PHRASES = frozenset(
    phrase.casefold()
    for phrase in (
        "Original Message",
        "Ursprüngliche Nachricht",
        "Originalnachricht",
        "Message d'origine",
        "Message d\u2019origine",
        "Message original",
        "Mensaje original",
        "Messaggio originale",
        "Oorspronkelijk bericht",
        "Origineel bericht",
        "Mensagem original",
        "Mensagem Original",
        "Oryginalna wiadomość",
        "Wiadomość oryginalna",
        "Ursprungligt meddelande",
        "Oprindelig meddelelse",
        "Opprinnelig melding",
        "Alkuperäinen viesti",
        "Исходное сообщение",
        "Пересланное сообщение",
        "原始邮件",
        "原始郵件",
        "元のメッセージ",
        "원본 메시지",
    )
)

_FORWARD_PHRASES = frozenset(
    phrase.casefold()
    for phrase in (
        "Forwarded message",
        "Forwarded Message",
        "Weitergeleitete Nachricht",
        "Message transféré",
        "Mensaje reenviado",
        "Messaggio inoltrato",
        "Doorgestuurd bericht",
        "Mensagem encaminhada",
        "Wiadomość przekazana dalej",
        "Vidarebefordrat meddelande",
        "Videresendt meddelelse",
        "Videresendt melding",
        "Välitetty viesti",
        "Пересылаемое сообщение",
        "转发的邮件",
        "轉寄郵件",
        "転送されたメッセージ",
        "전달된 메시지",
    )
)

# Apple Mail introduces a forward with a sentence instead of a dashed rule.
_FORWARD_INTROS = tuple(
    phrase.casefold()
    for phrase in (
        "Begin forwarded message:",
        "Anfang der weitergeleiteten Nachricht:",
        "Début du message réexpédié :",
        "Début du message réexpédié:",
        "Inicio del mensaje reenviado:",
        "Inizio messaggio inoltrato:",
        "Begin doorgestuurd bericht:",
        "Início da mensagem reencaminhada:",
        "Início da mensagem encaminhada:",
    )
)


def separator(p: str) -> Separator | None:
    """Whether probe ``p`` is an original-message or forwarded-message separator line."""
    if p.startswith("--") and p.endswith("--"):
        inner = p.strip("-").strip().casefold()
        if inner in _ORIGINAL_PHRASES:
            return Separator.ORIGINAL
        if inner in _FORWARD_PHRASES:
            return Separator.FORWARD
        return None
    if p.endswith(":") and p.casefold() in _FORWARD_INTROS:
        return Separator.FORWARD
    return None


def is_rule(p: str) -> bool:
    """A horizontal rule of underscores or dashes, as Outlook puts above its header block."""
    return len(p) >= 8 and (not p.strip("_") or not p.strip("-"))


# The verb that ends an attribution line, before its colon ("... wrote:").
_ATTRIBUTION_ENDINGS = tuple(
    verb.casefold()
    for verb in (
        "wrote",  # English; also Japanese Thunderbird and Gmail in some locales
        "schrieb",  # German
        "a écrit",  # French
        "escribió",  # Spanish
        "ha scritto",  # Italian
        "schreef",  # Dutch
        "het volgende geschreven",  # Dutch (Apple Mail: "Op ... heeft ...")
        "escreveu",  # Portuguese
        "pisze",  # Polish (Thunderbird: "W dniu ... pisze:")
        "napisał(a)",  # Polish (Gmail)
        "napisał",
        "napisała",
        "skrev",  # Swedish, Danish, Norwegian
        "kirjoitti",  # Finnish
        "пишет",  # Russian (Thunderbird)
        "написал(а)",  # noqa: RUF001  (Russian, Gmail and Mail.ru)
        "написал",
        "написала",
        "写道",  # Chinese (simplified)
        "寫道",  # Chinese (traditional)
        "のメッセージ",  # Japanese (Outlook)
        "のメール",  # Japanese (Apple Mail)
        "は書きました",  # Japanese ("...さんは書きました:")
        "작성",  # Korean (Gmail: "...님이 작성:")
    )
)

# Verbs that sit in the middle: "Am <date> schrieb <name>:", "Op <date> schreef <name>:",
# "Den <date> skrev <name>:", "<date> skrev <name> <address>:", and Thunderbird's
# Finnish "<name> kirjoitti <date>:".
_ATTRIBUTION_INFIXES = (" schrieb ", " schreef ", " skrev ", " kirjoitti ")


def is_attribution(p: str, *, quote_follows: bool) -> bool:
    """Whether probe ``p`` (possibly two wrapped lines joined) introduces a quoted message.

    A verb alone is not enough ("my colleague wrote:" may introduce pasted
    text): the line must also carry a date or an address, as every client's
    attribution does, or be followed by ``>``-quoted lines.
    """
    if len(p) > MAX_ATTRIBUTION or not p.endswith(COLONS):
        return False
    head = p[:-1].rstrip().casefold()
    has_address = "@" in head
    if _who_ends_with_verb(head) or any(verb in head for verb in _ATTRIBUTION_INFIXES):
        return quote_follows or has_address or any(char.isdigit() for char in head)
    # Gmail in Russian and Japanese has no verb: "<date>, <name> <<address>>:".
    return head.endswith(">") and has_address and _has_year(head)


# How attributions that put the date first begin ("On <date>, <name> wrote:"),
# per language; with a digit after it, a line so begun is an attribution's head.
_ATTRIBUTION_OPENERS = tuple(
    opener.casefold()
    for opener in (
        *("On ", "Am ", "Le ", "El ", "Il ", "Op ", "Em ", "No dia ", "W dniu "),
        *("Den ", "Dne ", "Dnia "),
    )
)


def opens_attribution(p: str) -> bool:
    """Whether probe ``p`` is plainly the first half of an attribution wrapped in two.

    It breaks an address or a name in brackets ("... Team <"), it already holds
    both the date and the address ("Team <t@x> 于2024年3月12日周二"), or it opens
    the way a dated attribution does ("On Tue, Mar 12, 2024 at 10:15, Acme Team").
    """
    unclosed = p.rfind("<") > p.rfind(">") or p.rfind("(") > p.rfind(")")
    if unclosed or ("@" in p and _has_year(p)):
        return True
    folded = p.casefold()
    return folded.startswith(_ATTRIBUTION_OPENERS) and any(char.isdigit() for char in p)


# Words in the footer a mailing list manager appends (Mailman 2 and 3, Sympa,
# listserv, Google Groups): "<list> mailing list", "listinfo", "unsubscribe".
_LIST_FOOTER_MARKERS = (
    "mailing list",
    "listinfo",
    "unsubscribe",
    "-leave@",
    "-request@",
    "/mailman/",
    "mailingliste",
    "liste de diffusion",
    "lista de correo",
)


def is_list_footer_line(p: str) -> bool:
    """Whether probe ``p`` is a line of a mailing list's footer."""
    folded = p.casefold()
    return any(marker in folded for marker in _LIST_FOOTER_MARKERS)


def _who_ends_with_verb(head: str) -> bool:
    # The verb alone ("wrote:", "napisał(a):") is the second half of a wrapped line.
    if not head.endswith(_ATTRIBUTION_ENDINGS):
        return False
    return any(head.endswith(verb) and head[: -len(verb)].strip() for verb in _ATTRIBUTION_ENDINGS)


def _has_year(text: str) -> bool:
    run = 0
    for char in text:
        run = run + 1 if "0" <= char <= "9" else 0
        if run == 4:
            return True
    return False


class Label(StrEnum):
    FROM = "from"
    DATE = "date"
    TO = "to"
    SUBJECT = "subject"
    CC = "cc"


def _labels(kind: Label, *names: str) -> dict[str, Label]:
    return {name.casefold(): kind for name in names}


# Outlook's "From: / Sent: / To: / Subject:" block in every language it ships,
# plus the "Date:" variants of Outlook for Mac, Apple Mail and Thunderbird.
_HEADER_LABELS: dict[str, Label] = {
    **_labels(
        Label.FROM,
        *("From", "Von", "De", "Da", "Van", "Od", "Från", "Fra", "Lähettäjä", "От"),
        *("发件人", "寄件人", "寄件者", "差出人", "보낸 사람", "보낸사람"),
    ),
    **_labels(
        Label.DATE,
        *("Sent", "Date", "Gesendet", "Datum", "Envoyé", "Enviado", "Enviada", "Enviado em"),
        *("Enviada em", "Fecha", "Data", "Inviato", "Verzonden", "Wysłano", "Wysłane"),
        *("Skickat", "Sendt", "Dato", "Lähetetty", "Päivämäärä", "Отправлено", "Дата"),
        *("发送时间", "日期", "時間", "寄件日期", "送信日時", "日付", "보낸 날짜", "날짜"),
    ),
    **_labels(
        Label.TO,
        *("To", "An", "À", "A", "Para", "Aan", "Do", "Till", "Til", "Vastaanottaja", "Кому"),
        *("收件人", "收件者", "宛先", "받는 사람", "받는사람"),
    ),
    **_labels(
        Label.SUBJECT,
        *("Subject", "Betreff", "Objet", "Asunto", "Oggetto", "Onderwerp", "Assunto"),
        *("Temat", "Ämne", "Emne", "Aihe", "Тема", "主题", "主旨", "件名", "제목"),
    ),
    **_labels(Label.CC, "Cc", "Kopie", "Copia", "Kopia", "Kopio", "Копия", "抄送", "副本", "참조"),
}


def header_label(p: str) -> Label | None:
    """The kind of mail header probe ``p`` starts with ("Sent:", "Gesendet:", "件名:"...)."""
    colon = p.find(":", 0, MAX_LABEL)
    wide = p.find(COLONS[1], 0, MAX_LABEL)
    if colon < 0 or 0 <= wide < colon:
        colon = wide
    if colon <= 0:
        return None
    # "**From:**" or "*From:*" when the block came through an HTML-to-text pass.
    return _HEADER_LABELS.get(p[:colon].strip(" *\t").casefold())


def is_signature_separator(p: str) -> bool:
    """RFC 3676 §4.3 "-- "; many clients and our own tidying drop the space, so "--" too."""
    return p == "--"


# Lines a phone or a webmail appends on its own. Prefixes are followed by a
# device or app name; suffixes are for languages that put the verb last.
_DEVICE_PREFIXES = tuple(
    phrase.casefold()
    for phrase in (
        "Sent from my ",
        "Sent from ",
        "Sent via ",
        "Sent with ",
        "Sent using ",
        "Get Outlook for ",
        "Von meinem ",
        "Gesendet von ",
        "Gesendet mit ",
        "Gesendet vom ",
        "Outlook für ",
        "Envoyé de mon ",
        "Envoyé depuis ",
        "Envoyé de ",
        "Obtenir Outlook pour ",
        "Enviado desde mi ",
        "Enviado desde ",
        "Obtener Outlook para ",
        "Inviato da ",
        "Scarica Outlook per ",
        "Verzonden vanaf mijn ",
        "Verzonden vanaf ",
        "Verzonden met ",
        "Outlook voor ",
        "Enviado do meu ",
        "Enviado do ",
        "Enviado de meu ",
        "Obter o Outlook para ",
        "Wysłane z mojego ",
        "Wysłane z ",
        "Wysłano z ",
        "Pobierz aplikację Outlook dla ",
        "Skickat från min ",
        "Skickat från ",
        "Hämta Outlook för ",
        "Sendt fra min ",
        "Sendt fra ",
        "Hent Outlook til ",
        "Få Outlook til ",
        "Lähetetty iPhonesta",
        "Lähetetty laitteesta ",
        "Lähetetty ",
        "Hanki Outlook ",
        "Отправлено с iPhone",  # noqa: RUF001
        "Отправлено с моего ",  # noqa: RUF001
        "Отправлено из ",
        "Получите Outlook для ",
        "发自我的",
        "从我的",
        "寄件者為我的",
        "나의 ",
    )
)

_DEVICE_SUFFIXES = tuple(
    phrase.casefold()
    for phrase in (
        "から送信",  # Japanese: "iPhoneから送信"
        "を入手",  # Japanese: "Outlook for iOS を入手"
        "에서 보냄",  # Korean: "iPhone에서 보냄"
        "发送",  # Chinese: "从我的iPhone发送"
        "傳送",
        "mobil gesendet",
    )
)


# The line must also name a device or a mail app, so that "Sent from the
# warehouse on Monday." stays the customer's own sentence.
_DEVICE_NAMES = (
    *("iphone", "ipad", "android", "galaxy", "samsung", "huawei", "xiaomi", "pixel"),
    *("blackberry", "outlook", "mail", "windows", "yahoo", "proton", "aol", "mobile"),
    *("smartphone", "phone", "tablet", "handy", "téléphone", "móvil", "movil", "telefono"),
    *("telefoon", "celular", "telefon", "puhelin", "телефон", "手机", "手機", "携帯"),
    *("휴대폰", "모바일"),
)


def is_device_signature(p: str) -> bool:
    """Whether probe ``p`` is a "Sent from my iPhone"-style line a client adds by itself."""
    if not p or len(p) > MAX_SIGNATURE_LINE:
        return False
    folded = p.casefold()
    if not (folded.startswith(_DEVICE_PREFIXES) or folded.rstrip(".").endswith(_DEVICE_SUFFIXES)):
        return False
    return any(name in folded for name in _DEVICE_NAMES)
