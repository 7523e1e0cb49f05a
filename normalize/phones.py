"""Phone numbers in one form, E.164 (``+4930123456``), with the ``phonenumbers`` library.

A number written without a country code is read in the default region from
settings; anything that is not a possible number for its region is refused
rather than guessed.
"""

from __future__ import annotations


def to_e164(text: str, default_region: str = "US") -> str | None:
    """``text`` as an E.164 number, or None when it is not a possible phone number.

    A ``whatsapp:`` or ``tel:`` prefix is dropped: a WhatsApp sender is the same
    phone as an SMS sender.
    """
    # Imported here: the customer commands and ingest load this module, and only a
    # phone identity needs the library's metadata.
    import phonenumbers

    value = text.strip()
    for prefix in ("whatsapp:", "tel:"):
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
