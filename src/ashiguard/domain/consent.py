"""Informed consent for barefoot massage: the form's words, its version, what a signature needs.

The form names the risks in plain words (from the seed article and the screening policy's
sources: docs/screening.md). A client signs it for one intake version (the answers the
screening read); a new intake version needs a new signature, and a session cannot start
without a consent for the intake its screening came from.

A signature is the client's typed full name and a ticked "I agree", with an optional drawn
signature (a PNG the page draws); the time and the address it came from are stored with it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from ashiguard.domain.errors import InputError

__all__ = [
    "CONSENT_TITLE",
    "CONSENT_VERSION",
    "MAX_SIGNATURE_BYTES",
    "RISKS",
    "ConsentSignature",
    "parse_consent",
]

CONSENT_VERSION = "barefoot-consent-1"
"""Version of the form's words (stored with every signature)."""

CONSENT_TITLE = "Consent to barefoot massage (Ashiatsu)"

RISKS: tuple[str, ...] = (
    "The therapist stands on you and uses body weight through the feet, holding overhead "
    "bars to control how much weight goes down. The pressure is deep and broad.",
    "Soreness, tenderness or bruising for a day or two afterwards is common.",
    "Pressure on the spine, or a sudden shift of weight, can injure a spinal disc and press "
    "on a nerve (pain, numbness or weakness that runs into a leg or arm). Your therapist keeps "
    "the feet off the spine and measures the load, but the risk is not zero.",
    "The kidneys lie under the lower ribs at the back. Deep pressure on the flanks can injure "
    "them, more so with kidney disease. Your therapist avoids the kidney area.",
    "Some conditions make deep pressure unsafe: weak bones (osteoporosis), high blood pressure "
    "that is not under control, a blood clot now or in the past, recent spine surgery or joint "
    "replacement, kidney disease, pregnancy, and heart or blood-vessel disease. The intake you "
    "filled in asks about these; tell us if anything changes.",
    "Say 'too much' (or press the button at the head of the table) at any moment: the "
    "therapist lifts the weight at once. You may stop the session whenever you like.",
    "The session's pressure is recorded by a sensor sheet under you and kept with your "
    "record, as the rest of your record is.",
)
"""The risks and terms the client agrees to, one paragraph each, in plain words."""

MAX_SIGNATURE_BYTES = 200_000
"""Largest drawn signature accepted (PNG bytes)."""

_PNG = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ConsentSignature:
    """A checked signature: the typed name, and the drawn one as PNG bytes (or None)."""

    typed_name: str
    drawing_png: bytes | None


def parse_consent(typed_name: str, agreed: bool, drawing: str = "") -> ConsentSignature:
    """Check a signature (one-line :class:`InputError` naming the field).

    Parameters
    ----------
    typed_name : str
        The client's full name as typed by the client.
    agreed : bool
        The "I have read and agree" box.
    drawing : str
        The drawn signature as a ``data:image/png;base64,…`` URL, or "" for none.
    """
    name = " ".join(typed_name.split())
    if not agreed:
        raise InputError("agreed: tick the box to say you have read and agree")
    if len(name) < 2:
        raise InputError("typed_name: type your full name to sign")
    if len(name) > 200:
        raise InputError("typed_name: at most 200 characters")
    png: bytes | None = None
    if drawing.strip():
        head, _, b64 = drawing.strip().partition(",")
        if head != "data:image/png;base64":
            raise InputError("drawing: not a drawn signature (a PNG data URL)")
        if len(b64) > MAX_SIGNATURE_BYTES * 4 // 3 + 4:
            raise InputError(f"drawing: larger than {MAX_SIGNATURE_BYTES // 1000} kB")
        try:
            png = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise InputError("drawing: not a drawn signature (bad base64)") from None
        if not png.startswith(_PNG):
            raise InputError("drawing: not a PNG image")
    return ConsentSignature(name, png)
