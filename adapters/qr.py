"""QR codes for what people open on a phone (an invitation's Telegram deep link), shared by the
letters (`adapters.post.pdf`) and the e-mails (`adapters.email.render`)."""

from __future__ import annotations

import io

import segno


def qr_png(data: str, *, scale: int = 10) -> bytes:
    """`data` as a QR code: a black-and-white PNG, `scale` pixels per module, with the standard
    quiet zone of four modules (error correction level M)."""
    buffer = io.BytesIO()
    segno.make(data, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
