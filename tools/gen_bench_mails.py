#!/usr/bin/env python3
"""Generate N realistic support mails for benchmarks: German and English,
new requests and replies (In-Reply-To), attachments, quoted-printable and
base64 bodies, ISO-8859-1 and UTF-8. Deterministic for a given seed.

usage: tools/gen_bench_mails.py OUTDIR N [SEED]
"""
import base64
import os
import quopri
import random
import sys

CUSTOMERS = [
    ("stadtwerke-musterstadt.de", ["m.keller", "e.roth", "it", "kunde", "l.fischer"]),
    ("lk-beispielhausen.de", ["s.yilmaz", "poststelle", "j.weber"]),
    ("harbour-analytics.co.uk", ["jane", "tom.baker"]),
    ("gemeinde-irgendwo.de", ["rathaus", "k.lang"]),
]
TOPICS_DE = [
    ("Fehler beim Speichern des Dienstplans", "beim Speichern des Dienstplans erscheint seit heute Morgen die Fehlermeldung 500. Betroffen sind alle Mitarbeiter der Abteilung."),
    ("Neuen Benutzer anlegen", "bitte legen Sie für unsere neue Kollegin Frau Weber einen Benutzer an und geben ihr die Rolle Sachbearbeitung."),
    ("Frage zum Export", "wie kann ich die Monatsübersicht als CSV exportieren? Ich finde die Funktion im Menü nicht."),
    ("Änderungswunsch Antragsformular", "wir möchten im Antragsformular ein zusätzliches Pflichtfeld Aktenzeichen. Bitte um ein Angebot."),
    ("Sicherheitslücke: fremde Daten sichtbar", "nach dem Login sehe ich die Dokumente eines anderen Mandanten. Das ist ein Datenschutzvorfall."),
    ("Berechtigung für Auswertungen", "Herr Lang braucht Zugriff auf die Auswertungen, bisher bekommt er die Meldung keine Berechtigung."),
    ("Anmeldung nicht möglich", "seit dem Update kann sich niemand mehr anmelden, die Seite lädt endlos."),
]
TOPICS_EN = [
    ("Export question", "how do I export the monthly timesheet to CSV? I cannot find the option."),
    ("Error when saving", "saving a roster fails with error 500 since this morning for everyone in our team."),
    ("New user for our team", "please create an account for our new colleague Tom and give him the reviewer role."),
]


def mail(i, rnd, parent=None):
    dom, locals_ = rnd.choice(CUSTOMERS)
    sender = f"{rnd.choice(locals_)}@{dom}"
    en = dom.endswith(".co.uk")
    subj, body = rnd.choice(TOPICS_EN if en else TOPICS_DE)
    greeting = "Hello," if en else "Guten Tag,"
    sig = "\n\n-- \nBest regards\n" if en else "\n\nMit freundlichen Grüßen\n"
    text = f"{greeting}\n\n{body}\n\nVorgang {i}{sig}{sender.split('@')[0].title()}\n"
    headers = [
        f"Received: from mx.{dom} (mx.{dom} [192.0.2.{i % 250 + 1}]) by mx.roewaplan.de with ESMTPS id {i:08x}",
        f"From: {sender.split('@')[0].replace('.', ' ').title()} <{sender}>",
        "To: MEIN TEAM Support <mein-team-support@roewaplan.de>",
        f"Date: Tue, 24 Nov 2026 {8 + i % 9:02d}:{i % 60:02d}:00 +0100",
        f"Message-ID: <bench.{i}.{rnd.randrange(1 << 30):08x}@{dom}>",
        "MIME-Version: 1.0",
    ]
    if parent is not None:
        pid, psubj = parent
        subj = ("AW: " if not en else "Re: ") + psubj
        headers += [f"In-Reply-To: <{pid}>", f"References: <{pid}>"]
        text = ("Noch eine Ergänzung: es betrifft auch den Export.\n\n" if not en else "One more thing: exports fail too.\n\n") + "\n".join("> " + l for l in text.splitlines())
    headers.append(f"Subject: {subj}" if all(ord(c) < 128 for c in subj) else "Subject: =?UTF-8?B?" + base64.b64encode(subj.encode()).decode() + "?=")
    kind = rnd.random()
    if kind < 0.35:
        enc = "iso-8859-1" if not en and rnd.random() < 0.5 else "utf-8"
        body = quopri.encodestring(text.encode(enc, "replace")).decode("ascii")
        part = f"Content-Type: text/plain; charset={enc}\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{body}"
        headers.append(part.split("\r\n\r\n")[0])
        out = "\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")
    elif kind < 0.55:
        raw = text.encode("iso-8859-1", "replace") if not en else text.encode()
        cs = "iso-8859-1" if not en else "us-ascii"
        headers.append(f"Content-Type: text/plain; charset={cs}\r\nContent-Transfer-Encoding: 8bit")
        return ("\r\n".join(headers) + "\r\n\r\n").encode() + raw.replace(b"\n", b"\r\n"), headers
    elif kind < 0.8:
        b = "----=_Part_" + str(i)
        att = base64.encodebytes(os.urandom(2048 + rnd.randrange(20000))).decode()
        headers.append(f'Content-Type: multipart/mixed; boundary="{b}"')
        out = "\r\n".join(headers) + "\r\n\r\n" + (
            f"--{b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + base64.encodebytes(text.encode()).decode().replace("\n", "\r\n")
            + f"\r\n--{b}\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"screenshot-{i}.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + att.replace("\n", "\r\n")
            + f"\r\n--{b}--\r\n"
        )
    else:
        b = "alt" + str(i)
        html = "<html><body>" + "".join(f"<p>{l}</p>" for l in text.splitlines() if l) + "</body></html>"
        headers.append(f'Content-Type: multipart/alternative; boundary="{b}"')
        out = "\r\n".join(headers) + "\r\n\r\n" + (
            f"--{b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            + quopri.encodestring(text.encode()).decode().replace("\n", "\r\n")
            + f"\r\n--{b}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            + quopri.encodestring(html.encode()).decode().replace("\n", "\r\n")
            + f"\r\n--{b}--\r\n"
        )
    return out.encode("ascii", "replace"), headers


def main():
    outdir, n = sys.argv[1], int(sys.argv[2])
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 42)
    os.makedirs(outdir, exist_ok=True)
    sent = []
    for i in range(n):
        parent = rnd.choice(sent) if sent and rnd.random() < 0.25 else None
        raw, headers = mail(i, rnd, parent)
        mid = next(h for h in headers if h.startswith("Message-ID:")).split("<")[1].rstrip(">")
        subj = next(h for h in headers if h.startswith("Subject:"))[9:]
        if parent is None and not subj.startswith("=?"):
            sent.append((mid, subj))
        with open(os.path.join(outdir, f"{i:05d}.eml"), "wb") as f:
            f.write(raw)


if __name__ == "__main__":
    main()
