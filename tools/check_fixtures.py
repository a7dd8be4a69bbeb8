#!/usr/bin/env python3
"""Sanity-check fixtures/ with Python's email package.

For every .eml: parse, decode the subject, walk the parts, decode every text
part with its declared charset, and check that line ends are CRLF (except
where a case deliberately breaks that). Then check the expected.toml files
and the quote goldens against what Python's parser extracts.

Exit 1 on any problem. Usage: python3 tools/check_fixtures.py
"""

import html
import os
import re
import sys
import tomllib
from email import policy
from email.parser import BytesParser

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
problems = []

# Files whose bytes deliberately are not clean CRLF mail.
NOT_CRLF_OK = {
    "pipeline/14-poison-leere-datei.eml": "empty file",
    "pipeline/15-poison-nul-bytes-muell.eml": "binary junk",
    "peer/django-helpdesk/pgp.eml": "upstream file is LF-only",
}
# Files that must not parse into a usable mail (no From).
POISON = {"pipeline/14-poison-leere-datei.eml", "pipeline/15-poison-nul-bytes-muell.eml",
          "pipeline/16-poison-ohne-from.eml"}


def bad(rel, msg):
    problems.append(f"{rel}: {msg}")


def html_to_text(h):
    h = re.sub(r"(?is)<(style|head)\b.*?</\1>", "", h)
    h = re.sub(r"(?i)<br\s*/?>|</(p|div|li|tr|h\d)>", "\n", h)
    h = re.sub(r"<[^>]+>", "", h)
    return re.sub(r"[ \t\r\f\v]+", " ", html.unescape(h)).replace("\xa0", " ")


def analyse(raw, rel):
    """Parse; return (msg, subject, plain texts, html texts, attachment count)."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    try:
        subject = str(msg["subject"]) if msg["subject"] is not None else None
    except Exception as e:  # noqa: BLE001
        bad(rel, f"subject does not decode: {e}")
        subject = None
    plains, htmls, atts = [], [], 0
    for p in msg.walk():
        if p.is_multipart():
            continue
        ctype = p.get_content_type()
        disp = p.get_content_disposition()
        fname = p.get_filename()
        if disp == "attachment" or (fname and ctype not in ("text/plain", "text/html")) \
                or (fname and disp != "inline"):
            atts += 1
            if fname is None:
                bad(rel, f"attachment without file name ({ctype})")
            payload = p.get_payload(decode=True)
            if not payload:
                bad(rel, f"attachment {fname!r} is empty")
            if ctype == "image/png" and not payload.startswith(b"\x89PNG"):
                bad(rel, "PNG attachment is not a PNG")
            if ctype == "application/pdf" and not payload.startswith(b"%PDF-"):
                bad(rel, "PDF attachment is not a PDF")
            continue
        if ctype in ("text/plain", "text/html"):
            cs = p.get_content_charset() or "us-ascii"
            data = p.get_payload(decode=True) or b""
            try:
                text = data.decode(cs)
            except (UnicodeDecodeError, LookupError) as e:
                bad(rel, f"{ctype} part does not decode as {cs}: {e}")
                text = data.decode(cs if cs != "us-ascii" else "latin-1", "replace") if cs else ""
            (plains if ctype == "text/plain" else htmls).append(text.replace("\r\n", "\n"))
    return msg, subject, plains, htmls, atts


RAW_8BIT_HEADERS_OK = {"pipeline/17-poison-8bit-header.eml", "pipeline/15-poison-nul-bytes-muell.eml",
                       "peer/django-helpdesk/utf-nondecodable.eml"}


def check_crlf(raw, rel):
    head = raw.split(b"\r\n\r\n", 1)[0]
    if rel not in RAW_8BIT_HEADERS_OK and any(b > 127 for b in head):
        bad(rel, "raw 8-bit bytes in the header block")
    if rel in NOT_CRLF_OK:
        return
    if re.search(rb"(?<!\r)\n", raw):
        bad(rel, "bare LF (not CRLF)")
    if re.search(rb"\r(?!\n)", raw):
        bad(rel, "bare CR")


def all_emls():
    for dirpath, _, files in os.walk(ROOT):
        for f in sorted(files):
            if f.endswith(".eml"):
                full = os.path.join(dirpath, f)
                yield full, os.path.relpath(full, ROOT)


def body_text(plains, htmls):
    if plains:
        return "\n".join(plains)
    return "\n".join(html_to_text(h) for h in htmls)


def norm_ws(s):
    return re.sub(r"\s+", " ", s)


def check_pipeline():
    d = os.path.join(ROOT, "pipeline")
    exp = tomllib.load(open(os.path.join(d, "expected.toml"), "rb"))["case"]
    files = sorted(f for f in os.listdir(d) if f.endswith(".eml"))
    if [c["file"] for c in exp] != files:
        bad("pipeline/expected.toml", "cases are not exactly the .eml files in file-name order")
    n = 0
    seen = {}
    cats = {}
    for c in exp:
        rel = "pipeline/" + c["file"]
        raw = open(os.path.join(d, c["file"]), "rb").read()
        disp = c["disposition"]
        if disp == "new_ticket":
            n += 1
            if c.get("ticket") != f"MT-{n:06d}":
                bad(rel, f"ticket {c.get('ticket')} but creation order says MT-{n:06d}")
            cats[c["category"]] = cats.get(c["category"], 0) + 1
            if not c.get("ack"):
                bad(rel, "new ticket from a customer without ack")
        elif c.get("ack"):
            bad(rel, "ack on a non-new_ticket")
        if disp == "duplicate" and raw not in seen:
            bad(rel, "duplicate is not a byte copy of an earlier file")
        if disp == "follow_up" and not c.get("ticket"):
            bad(rel, "follow_up without ticket")
        seen[raw] = c["file"]
        if rel in POISON:
            if raw:
                msg = BytesParser(policy=policy.compat32).parsebytes(raw)
                if msg["From"]:
                    bad(rel, "poison mail unexpectedly has a From")
            continue
        msg, subject, plains, htmls, atts = analyse(raw, rel)
        if "subject" in c and c["subject"] != subject:
            bad(rel, f"subject {subject!r} != expected {c['subject']!r}")
        text = body_text(plains, htmls)
        if "text_contains" in c and norm_ws(c["text_contains"]) not in norm_ws(text):
            bad(rel, f"text_contains {c['text_contains']!r} not in extracted text")
        if atts != c.get("attachments", 0):
            bad(rel, f"{atts} attachments, expected {c.get('attachments', 0)}")
        for h in ("From", "Date", "MIME-Version", "Received"):
            if msg[h] is None:
                bad(rel, f"no {h} header")
        if msg["Message-ID"] is None and "ohne-message-id" not in rel:
            bad(rel, "no Message-ID")
    for k in ("functional_error", "security_error", "usage_question", "user_management", "change_request"):
        if cats.get(k, 0) < 2:
            bad("pipeline/expected.toml", f"category {k} has {cats.get(k, 0)} new tickets (< 2)")
    return len(exp), n, cats


def check_quotes():
    d = os.path.join(ROOT, "quotes")
    emls = sorted(f for f in os.listdir(d) if f.endswith(".eml"))
    for f in emls:
        rel = "quotes/" + f
        expf = os.path.join(d, f[:-4] + ".expected.txt")
        if not os.path.exists(expf):
            bad(rel, "no .expected.txt")
            continue
        exp = open(expf, "rb").read()
        if b"\r" in exp:
            bad(rel, "expected.txt has CR")
        exp = exp.decode("utf-8")
        if exp != exp.strip():
            bad(rel, "expected.txt is not trimmed")
        if any(l != l.rstrip() for l in exp.split("\n")):
            bad(rel, "expected.txt has trailing blanks")
        raw = open(os.path.join(d, f), "rb").read()
        _, _, plains, htmls, _ = analyse(raw, rel)
        text = body_text(plains, htmls)
        # every expected line must be in the mail, in order, and the expected text must be
        # a strict prefix-part of the body (something was stripped)
        pos = 0
        flat = norm_ws(text)
        for line in exp.split("\n"):
            if not line.strip():
                continue
            i = flat.find(norm_ws(line).strip(), pos)
            if i < 0:
                bad(rel, f"expected line not in mail text (in order): {line!r}")
                break
            pos = i
        if len(norm_ws(text).strip()) <= len(norm_ws(exp).strip()):
            bad(rel, "nothing to strip: mail text is not longer than the expected text")
    return len(emls)


def check_hygiene():
    d = os.path.join(ROOT, "hygiene")
    exp = tomllib.load(open(os.path.join(d, "expected.toml"), "rb"))["case"]
    files = sorted(f for f in os.listdir(d) if f.endswith(".eml"))
    if sorted(c["file"] for c in exp) != files:
        bad("hygiene/expected.toml", "cases do not match the .eml files")
    allowed = {"new_ticket", "auto_reply", "bounce", "loop", "spam"}
    counts = {}
    for c in exp:
        rel = "hygiene/" + c["file"]
        if c["disposition"] not in allowed:
            bad(rel, f"disposition {c['disposition']}")
        if not c.get("note"):
            bad(rel, "no note")
        counts[c["disposition"]] = counts.get(c["disposition"], 0) + 1
        raw = open(os.path.join(d, c["file"]), "rb").read()
        msg, subject, plains, htmls, _ = analyse(raw, rel)
        if subject is None:
            bad(rel, "no subject")
        if not body_text(plains, htmls).strip():
            bad(rel, "no text")
    return len(exp), counts


def main():
    n_eml = 0
    for full, rel in all_emls():
        n_eml += 1
        raw = open(full, "rb").read()
        check_crlf(raw, rel)
        if rel not in POISON:
            analyse(raw, rel)
    p, t, cats = check_pipeline()
    q = check_quotes() if os.path.isdir(os.path.join(ROOT, "quotes")) else 0
    h, hc = check_hygiene() if os.path.exists(os.path.join(ROOT, "hygiene", "expected.toml")) else (0, {})
    print(f"{n_eml} .eml files; pipeline {p} cases / {t} tickets {cats}; quotes {q}; hygiene {h} {hc}")
    for pr in problems:
        print("PROBLEM", pr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
