"""Helpers shared by the fixture generators in tools/.

Messages are written as text with LF line ends and turned into CRLF bytes
only at the very end (`finish`), so every generated .eml is CRLF throughout
unless a generator deliberately writes raw bytes itself.

Everything is deterministic: ids and hashes come from a seeded Random, so
re-running a generator reproduces the committed files byte for byte.
"""

import base64
import datetime as dt
import quopri
import random
import struct
import zlib
from email.utils import format_datetime

CET = dt.timezone(dt.timedelta(hours=1))
GMT = dt.timezone.utc

SUPPORT = "mein-team-support@roewaplan.de"
SUPPORT_FROM = f"MEIN TEAM Support <{SUPPORT}>"
MX = "mx.roewaplan.de"

_rnd = random.Random(20261109)


def reseed(seed):
    """Each generator reseeds so that editing one leaves the others unchanged."""
    _rnd.seed(seed)


def hexs(n, upper=False):
    s = "".join(_rnd.choice("0123456789abcdef") for _ in range(n))
    return s.upper() if upper else s


def alnum(n):
    return "".join(_rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def uuid4():
    h = hexs(32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"


def date(d):
    """RFC 5322 date as clients write it (e.g. 'Mon, 09 Nov 2026 08:12:41 +0100')."""
    return format_datetime(d)


def rdate(d):
    """Postfix style date in Received lines: day of month space padded."""
    s = d.strftime("%a, %d %b %Y %H:%M:%S %z")
    if s[5] == "0":
        s = s[:5] + " " + s[6:]
    tzname = "CET" if d.utcoffset() == dt.timedelta(hours=1) else "UTC"
    return f"{s} ({tzname})"


def postfix_id():
    return "4" + "".join(_rnd.choice("BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789") for _ in range(13))


# ---------------------------------------------------------------- encodings

def qp(text, charset="utf-8"):
    """Quoted-printable body (canonical line ends become hard breaks)."""
    return quopri.encodestring(text.encode(charset)).decode("ascii")


def b64(data, width=76):
    if isinstance(data, str):
        data = data.replace("\n", "\r\n").encode("utf-8")
    s = base64.b64encode(data).decode("ascii")
    return "\n".join(s[i:i + width] for i in range(0, len(s), width))


def enc_b(s, charset="utf-8", first_len=9):
    """RFC 2047 B-encoded words, folded; chunks never split a character."""
    words, cur = [], ""
    prefix = f"=?{charset}?B?"
    budget = 75 - len(prefix) - 2
    for ch in s:
        cand = cur + ch
        if len(base64.b64encode(cand.encode(charset))) > budget:
            words.append(cur)
            cur = ch
        else:
            cur = cand
    if cur:
        words.append(cur)
    return "\n ".join(prefix + base64.b64encode(w.encode(charset)).decode() + "?=" for w in words)


def enc_q(s, charset="utf-8", lower_hex=False):
    """RFC 2047 Q-encoded words, folded."""
    prefix = f"=?{charset}?Q?"
    budget = 75 - len(prefix) - 2
    words, cur = [], ""
    for ch in s:
        if ch == " ":
            e = "_"
        elif ch.isascii() and (ch.isalnum() or ch in "!*+-/"):
            e = ch
        else:
            e = "".join(f"={b:02X}" for b in ch.encode(charset))
            if lower_hex:            # Thunderbird writes =c3=bc
                e = e.lower()
        if len(cur) + len(e) > budget:
            words.append(cur)
            cur = ""
        cur += e
    words.append(cur)
    return "\n ".join(prefix + w + "?=" for w in words)


def needs_encoding(s):
    return any(ord(c) > 127 for c in s)


# ---------------------------------------------------------------- html

def html_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def paras(text):
    """Split plain text into paragraphs (lists of lines)."""
    out = []
    for block in text.strip("\n").split("\n\n"):
        out.append(block.split("\n"))
    return out


def html_outlook(text, lang="DE"):
    body = "\n".join(
        '<p class="MsoNormal">' + "<br>\n".join(html_escape(l) for l in p) + "<o:p></o:p></p>\n"
        '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
        for p in paras(text))
    return f"""<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<style><!--
/* Font Definitions */
@font-face
	{{font-family:Calibri;
	panose-1:2 15 5 2 2 2 4 3 2 4;}}
p.MsoNormal, li.MsoNormal, div.MsoNormal
	{{margin:0cm;
	font-size:11.0pt;
	font-family:"Calibri",sans-serif;
	mso-fareast-language:EN-US;}}
--></style>
</head>
<body lang="{lang}" link="#0563C1" vlink="#954F72" style="word-wrap:break-word">
<div class="WordSection1">
{body}
</div>
</body>
</html>
"""


def html_gmail(text, quote_html=""):
    inner = "<br>".join(
        "<br>".join(html_escape(l) for l in p) + "<br>" for p in paras(text))
    return f'<div dir="ltr">{inner}</div>{quote_html}\n'


# ---------------------------------------------------------------- binary attachments

def tiny_png(w=64, h=40, seed=1):
    """A real, decodable PNG: a grey 'window' with a red bar (fake screenshot)."""
    rows = []
    for y in range(h):
        row = bytearray([0])
        for x in range(w):
            if y < 6:
                px = (0x2b, 0x57, 0x9a)          # title bar
            elif 14 <= y <= 20 and 6 <= x <= w - 7:
                px = (0xd9, 0x30, 0x25)          # red error banner
            elif x in (0, w - 1) or y == h - 1:
                px = (0x99, 0x99, 0x99)
            else:
                px = (0xf3, 0xf3, 0xf3)
            row += bytes(px)
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(t, d):
        c = t + d
        return struct.pack(">I", len(d)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"tEXt", b"Software\x00Snipping Tool seed %d" % seed)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def tiny_pdf(title):
    """A small but structurally valid one-page PDF."""
    text = f"BT /F1 12 Tf 50 780 Td ({title}) Tj ET".encode("latin-1")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


# ---------------------------------------------------------------- assembly

def finish(text, charset="utf-8"):
    """LF text -> CRLF bytes. `charset` is how 8-bit characters are written raw
    (utf-8 for 8bit UTF-8 parts, latin-1 / cp1252 for raw legacy bodies)."""
    assert "\r" not in text, "write LF only; finish() adds the CR"
    data = text.encode(charset)
    return data.replace(b"\n", b"\r\n")


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def toml_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'



# ---------------------------------------------------------------- transport (Received chains)

ORGS = {
    # domain: (outbound relay host, relay ip, style)
    "stadtwerke-musterstadt.de": ("mail.stadtwerke-musterstadt.de", "203.0.113.25", "postfix"),
    "lk-beispielhausen.de": ("mail.lk-beispielhausen.de", "198.51.100.80", "postfix"),
    "harbour-analytics.co.uk": ("mail-wm1-f54.google.com", "192.0.2.54", "google"),
    "roewaplan.de": ("exchange.roewaplan.de", "192.0.2.20", "postfix"),
}

DKIM = {
    "stadtwerke-musterstadt.de": "dkim=pass header.d=stadtwerke-musterstadt.de header.s=mail2025 header.b=",
    "lk-beispielhausen.de": "dkim=none",
    "harbour-analytics.co.uk": "dkim=pass header.d=harbour-analytics.co.uk header.s=google header.b=",
    "roewaplan.de": "dkim=pass header.d=roewaplan.de header.s=rp2026 header.b=",
}

PST = dt.timezone(dt.timedelta(hours=-8))


def envelope(sender, d, client_ip="10.20.4.77", client_rdns=None, authenticated=True,
             return_path=None, auth_results=True, org_domain=None):
    """Return-Path, Delivered-To, Authentication-Results and Received lines
    (newest first) for a mail submitted at client date `d` by `sender` and
    relayed through its organisation's server to mx.roewaplan.de, then
    delivered by LMTP into the support mailbox."""
    dom = org_domain or sender.split("@", 1)[1]
    relay, relay_ip, style = ORGS[dom]
    t1 = d + dt.timedelta(seconds=1 + _rnd.randint(0, 2))
    t2 = t1 + dt.timedelta(seconds=1 + _rnd.randint(0, 3))
    t3 = t2 + dt.timedelta(seconds=1)
    rp = sender if return_path is None else return_path
    h = [f"Return-Path: <{rp}>",
         f"Delivered-To: {SUPPORT}",
         f"Received: from {MX}\n\tby imap.roewaplan.de with LMTP\n\tid {alnum(6)}mIb2k{alnum(5)}\n"
         f"\t(envelope-from <{rp}>)\n\tfor <{SUPPORT}>; {rdate(t3.astimezone(CET))}"]
    if auth_results:
        dk = DKIM[dom]
        if dk.endswith("header.b="):
            dk += alnum(8)
        dmarc = ("dmarc=pass (p=quarantine dis=none) header.from=" if dk.startswith("dkim=pass")
                 else "dmarc=none header.from=") + dom
        h.append(f"Authentication-Results: {MX};\n\t{dk};\n\tspf=pass (sender IP is {relay_ip}) "
                 f"smtp.mailfrom={rp.split('@')[-1] or dom};\n\t{dmarc}")
    h.append(f"Received: from {relay} ({relay} [{relay_ip}])\n"
             f"\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n"
             f"\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\n"
             f"\t(No client certificate requested)\n"
             f"\tby {MX} (Postfix) with ESMTPS id {postfix_id()}\n\tfor <{SUPPORT}>; {rdate(t2.astimezone(CET))}")
    if style == "google":
        h.append(f"Received: by {relay} with SMTP id 5b1f17b1804b1-{hexs(9)}so{_rnd.randint(1000000, 9999999)}f8f.2\n"
                 f"        for <{SUPPORT}>; {t1.astimezone(PST).strftime('%a, %d %b %Y %H:%M:%S %z')} (PST)")
        h.append(f"X-Received: by 2002:a05:600c:{hexs(4)}:b0:{hexs(3)}:{hexs(4)}:{hexs(4)} with SMTP id "
                 f"{hexs(16)}.{_rnd.randint(10, 99)}.{_rnd.randint(1700000000000, 1799999999999)};\n"
                 f"        {t1.astimezone(PST).strftime('%a, %d %b %Y %H:%M:%S %z')} (PST)")
        if client_ip is not None:
            h.append(f"Received: from {client_rdns or 'smtpclient.apple'} ([{client_ip}])\n"
                     f"        by smtp.gmail.com with ESMTPSA id {hexs(16)}.{_rnd.randint(10, 99)}."
                     f"{d.year}.{d.month:02d}.{d.day:02d}.{_rnd.randint(10, 99)}.{_rnd.randint(10, 99)}\n"
                     f"        for <{SUPPORT}>\n"
                     f"        (version=TLS1_3 cipher=TLS_AES_128_GCM_SHA256 bits=128/128);\n"
                     f"        {d.astimezone(PST).strftime('%a, %d %b %Y %H:%M:%S %z')} (PST)")
    elif client_ip is not None:
        rdns = client_rdns or "unknown"
        auth = f"\n\t(Authenticated sender: {sender})" if authenticated else ""
        h.append(f"Received: from {rdns.split('.')[0].upper() if client_rdns else '[' + client_ip + ']'} "
                 f"({rdns} [{client_ip}]){auth}\n"
                 f"\tby {relay} (Postfix) with ESMTPSA id {postfix_id()}\n"
                 f"\tfor <{SUPPORT}>; {rdate(t1.astimezone(CET))}")
    return "\n".join(h)


def outlook_msgid(dom):
    """Outlook (non-Exchange account) Message-ID: <000001db5a2b$3c4d5e60$b5e81b20$@dom>."""
    return f"<0000{_rnd.randint(0, 9)}1db{hexs(4)}${hexs(8)}${hexs(8)}$@{dom}>"


def gmail_msgid():
    return "<CA" + _rnd.choice(["F", "H", "J", "K", "+"]) + alnum(40).replace("/", "") + "@mail.gmail.com>"


def thread_index():
    """Outlook Thread-Index: base64 of a 22-byte header (first byte 0x01)."""
    return base64.b64encode(bytes([1]) + bytes(_rnd.getrandbits(8) for _ in range(21))).decode()


# ---------------------------------------------------------------- MIME assembly

def part(ctype, body, cte=None, extra=()):
    """One MIME entity as text: its headers, a blank line, its body."""
    h = [f"Content-Type: {ctype}"]
    if cte:
        h.append(f"Content-Transfer-Encoding: {cte}")
    h.extend(extra)
    return "\n".join(h) + "\n\n" + body.rstrip("\n") + "\n"


def multipart(boundary, parts, preamble="This is a multi-part message in MIME format.\n", close=True):
    """Body of a multipart entity (without its own Content-Type line)."""
    out = (preamble + "\n") if preamble else ""
    for p in parts:
        out += f"--{boundary}\n{p}\n"
    if close:
        out += f"--{boundary}--\n"
    return out


def text_part(text, charset="utf-8", cte="quoted-printable", flowed=False, quote_charset=True):
    cs = f'"{charset}"' if quote_charset else charset
    ct = f"text/plain; charset={cs}" + ("; format=flowed" if flowed else "")
    if cte == "quoted-printable":
        body = qp(text, charset)
    elif cte == "base64":
        body = b64(text.replace("\n", "\r\n").encode(charset))
    else:
        body = text
    return part(ct, body, cte)


def html_part(html, charset="utf-8", cte="quoted-printable", quote_charset=True):
    cs = f'"{charset}"' if quote_charset else charset
    if cte == "quoted-printable":
        body = qp(html, charset)
    elif cte == "base64":
        body = b64(html.replace("\n", "\r\n").encode(charset))
    else:
        body = html
    return part(f"text/html; charset={cs}", body, cte)


def mail(headers, ctype, body, cte=None):
    """A whole message: header lines (list of str, already folded), the
    top-level Content-Type (+ optional CTE), body."""
    h = list(headers) + [f"Content-Type: {ctype}"]
    if cte:
        h.append(f"Content-Transfer-Encoding: {cte}")
    return "\n".join(h) + "\n\n" + body.rstrip("\n") + "\n"


def quote(text, prefix="> "):
    return "\n".join((prefix + l) if l else prefix.rstrip() for l in text.strip("\n").split("\n"))


def tb_date(d):
    """Thunderbird/Apple Date header: day not zero padded."""
    return d.strftime("%a, ") + str(d.day) + d.strftime(" %b %Y %H:%M:%S %z")


# ---------------------------------------------------------------- generic client mail

def _subject(subject, client):
    if not needs_encoding(subject):
        return subject
    return {"thunderbird": lambda s: enc_q(s, "UTF-8", lower_hex=True),
            "gmail": lambda s: enc_b(s, "UTF-8"),
            "apple": lambda s: enc_b(s, "utf-8"),
            "iphone": lambda s: enc_b(s, "utf-8"),
            "notes": lambda s: enc_q(s, "UTF-8"),
            }.get(client, lambda s: enc_q(s, "utf-8"))(subject)


def build(client, who, subject, d, plain=None, html=None, to=None, extra=(), msgid=None,
          in_reply_to=None, references=None, client_ip="10.20.4.77", client_rdns=None,
          charset="utf-8", cte=None, envelope_kw=None):
    """A complete mail in the header style of `client` (outlook, outlook-en,
    thunderbird, gmail, apple, iphone, notes, claws, ox). `plain` and/or
    `html` are the body texts (LF). Returns CRLF bytes."""
    name, addr = who
    raw_name = name
    if needs_encoding(name):
        name = enc_q(name, "UTF-8") if client != "gmail" else enc_b(name, "UTF-8")
    dom = addr.split("@", 1)[1]
    to = to or SUPPORT_FROM
    env = envelope(addr, d, client_ip=None if client == "gmail" else client_ip,
                   client_rdns=client_rdns, **(envelope_kw or {}))
    thread = []
    if in_reply_to:
        thread.append(f"In-Reply-To: {in_reply_to}")
    if references or in_reply_to:
        thread.append(f"References: {references or in_reply_to}")
    subj = _subject(subject, client)

    if client in ("outlook", "outlook-en"):
        mid = msgid or outlook_msgid(dom)
        h = [f"From: {name} <{addr}>", f"To: {to}", *[e for e in extra if e.startswith("Cc:")],
             f"Subject: {subj}", f"Date: {date(d)}", f"Message-ID: {mid}", *thread, "MIME-Version: 1.0",
             "X-Mailer: Microsoft Outlook 16.0", f"Thread-Index: {thread_index()}",
             f"Content-Language: {'en-gb' if client == 'outlook-en' else 'de'}",
             *[e for e in extra if not e.startswith("Cc:")]]
        b = f"----=_NextPart_000_{hexs(4, True)}_01DB{hexs(4, True)}.{hexs(8, True)}"
        html = html or html_outlook(plain, "EN-GB" if client == "outlook-en" else "DE")
        body = multipart(b, [text_part(plain, charset), html_part(html, "utf-8")])
        return finish(env + "\n" + mail(h, f'multipart/alternative;\n\tboundary="{b}"', body))

    if client == "thunderbird":
        mid = msgid or f"<{uuid4()}@{dom}>"
        h = [f"Message-ID: {mid}", f"Date: {tb_date(d)}", "MIME-Version: 1.0", "User-Agent: Mozilla Thunderbird",
             *([f"Content-Language: {'en-GB' if dom.endswith('.uk') else 'de-DE'}"]),
             f"To: {to}", *extra, f"References: {references or in_reply_to}" if (references or in_reply_to) else None,
             f"From: {name} <{addr}>", f"Subject: {subj}",
             f"In-Reply-To: {in_reply_to}" if in_reply_to else None]
        h = [x for x in h if x]
        if html is not None and plain is None:
            return finish(env + "\n" + mail(h, "text/html; charset=UTF-8", html, "8bit"))
        return finish(env + "\n" + mail(h, "text/plain; charset=UTF-8; format=flowed", plain, "8bit"))

    if client == "gmail":
        mid = msgid or gmail_msgid()
        h = ["MIME-Version: 1.0", *([f"References: {references or in_reply_to}"] if (references or in_reply_to) else []),
             *([f"In-Reply-To: {in_reply_to}"] if in_reply_to else []),
             f"From: {name} <{addr}>", f"Date: {date(d)}", f"Message-ID: {mid}", f"Subject: {subj}", f"To: {to}", *extra]
        b = "000000000000" + hexs(16)
        body = multipart(b, [text_part(plain, "UTF-8"), html_part(html or html_gmail(plain), "UTF-8")], preamble=None)
        return finish(env + "\n" + mail(h, f'multipart/alternative; boundary="{b}"', body))

    if client in ("apple", "iphone"):
        mid = msgid or f"<{uuid4().upper()}@{dom}>"
        h = [f"From: {name} <{addr}>", "Content-Type: text/plain;\n\tcharset=utf-8" if client == "apple"
             else "Content-Type: text/plain; charset=utf-8",
             "Content-Transfer-Encoding: quoted-printable",
             "Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.200.121\\))" if client == "apple" else "Mime-Version: 1.0 (1.0)",
             f"Subject: {subj}", *thread, f"Date: {tb_date(d)}", f"To: {to}", *extra, f"Message-Id: {mid}",
             "X-Mailer: Apple Mail (2.3826.200.121)" if client == "apple" else "X-Mailer: iPhone Mail (22B91)"]
        return finish(env + "\n" + "\n".join(h) + "\n\n" + qp(plain))

    if client == "notes":
        mid = msgid or f"<OF{hexs(8, True)}.{hexs(8, True)}-ON{hexs(8, True)}.{hexs(8, True)}@lk-beispielhausen.de>"
        h = [*thread, f"Subject: {subj}", f"To: {to}", *extra, f"From: {name} <{addr}>",
             f"Message-ID: {mid}", f"Date: {tb_date(d)}", "MIME-Version: 1.0",
             "X-KeepSent: " + f"{hexs(8, True)}:{hexs(8, True)}-C1258B{hexs(2, True)}:{hexs(8, True)}; type=4; name=$KeepSent",
             "X-Mailer: HCL Notes Release 12.0.2 November 03, 2022",
             f"X-MIMETrack: Serialize by Notes Client on {raw_name.replace('ü', 'ue')}/LKBSP(Release 12.0.2|November 03, 2022) at\n {d.strftime('%d.%m.%Y %H:%M:%S')},\n"
             f"\tSerialize complete at {d.strftime('%d.%m.%Y %H:%M:%S')},\n"
             f"\tSerialize by Router on NOTES01/LKBSP(Release 12.0.2|November 03, 2022) at\n {d.strftime('%d.%m.%Y %H:%M:%S')}"]
        return finish(env + "\n" + mail(h, "text/plain; charset=UTF-8", qp(plain), "quoted-printable"))

    if client == "claws":
        mid = msgid or f"<{d.strftime('%Y%m%d%H%M%S')}.{hexs(8)}@pc-it-03.intern.{dom}>"
        h = [f"Date: {tb_date(d)}", f"From: {name} <{addr}>", f"To: {to}", *extra, f"Subject: {subj}",
             f"Message-ID: {mid}", *thread, "X-Mailer: Claws Mail 4.1.1 (GTK 3.24.38; x86_64-pc-linux-gnu)",
             "MIME-Version: 1.0"]
        return finish(env + "\n" + mail(h, "text/plain; charset=UTF-8", qp(plain), "quoted-printable"))

    raise ValueError(client)
