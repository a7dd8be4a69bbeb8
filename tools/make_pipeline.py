#!/usr/bin/env python3
"""Generate fixtures/pipeline/*.eml and fixtures/pipeline/expected.toml.

The mails are ingested in file-name order into one fresh store; ticket tags
are handed out in that order. Run from anywhere: python3 tools/make_pipeline.py
"""

import datetime as dt
import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fixturelib import *  # noqa: F401,F403
import fixturelib as L

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "pipeline")
L.reseed(1001)

CASES = []          # (file, bytes, meta dict)
_ticket_no = 0


def new_tag():
    global _ticket_no
    _ticket_no += 1
    return f"MT-{_ticket_no:06d}"


def add(file, data, disposition, subject=None, text=None, category=None, ticket=None,
        attachments=0, comment=None, ack=None):
    meta = {"disposition": disposition}
    if disposition == "new_ticket":
        ticket = new_tag()
        meta["category"] = category
    if ticket:
        meta["ticket"] = ticket
    meta["ack"] = (disposition == "new_ticket") if ack is None else ack
    if subject is not None:
        meta["subject"] = subject
    if text is not None:
        meta["text_contains"] = text
    if attachments:
        meta["attachments"] = attachments
    meta["comment"] = comment
    CASES.append((file, data, meta))
    return ticket


def ack_msgid(tag, kind="ack"):
    return f"<mt.{tag}.{kind}.{L.hexs(8)}@roewaplan.de>"


ACK_DE = """Sehr geehrte{anrede},

vielen Dank für Ihre Anfrage. Wir haben sie unter der Ticketnummer {tag}
aufgenommen und der Kategorie „{kat}“ zugeordnet (1st Level Support).
Die Bearbeitung ist im Wartungspreis enthalten.

Bitte lassen Sie bei Rückfragen die Ticketnummer [{tag}] im Betreff stehen.

Mit freundlichen Grüßen
Ihr MEIN TEAM Support
roewaplan GmbH"""

ACK_EN = """Dear {anrede},

thank you for your request. We have logged it as ticket {tag}
in the category "{kat}" (1st level support).
Handling this request is covered by your maintenance fee.

Please keep the ticket number [{tag}] in the subject of any reply.

Kind regards
Your MEIN TEAM Support team
roewaplan GmbH"""

# -------------------------------------------------------------------- clock

def at(day, hh, mm, ss=None, tz=CET):
    """Local time on Nov `day` 2026 in the sender's zone."""
    s = random.Random(day * 10000 + hh * 100 + mm).randint(0, 59) if ss is None else ss
    return dt.datetime(2026, 11, day, hh, mm, s, tzinfo=tz)


# Contacts
KN = ("Karin Neumann", "kunde@stadtwerke-musterstadt.de")
MK = ("Markus Keller", "m.keller@stadtwerke-musterstadt.de")
JH = ("Jens Hoffmann", "it@stadtwerke-musterstadt.de")
LF = ("Lena Fischer", "l.fischer@stadtwerke-musterstadt.de")
SY = ("Selin Yilmaz", "s.yilmaz@lk-beispielhausen.de")
PS = ("Poststelle Landkreis Beispielhausen", "poststelle@lk-beispielhausen.de")
TW = ("Thomas Wagner", "t.wagner@lk-beispielhausen.de")
JW = ("Jane Whitfield", "jane@harbour-analytics.co.uk")
TB = ("Tom Baker", "tom.baker@harbour-analytics.co.uk")


def outlook_boundary(level=0):
    return f"----=_NextPart_{level:03d}_{L.hexs(4, True)}_01DB{L.hexs(4, True)}.{L.hexs(8, True)}"


def outlook_headers(who, subject_enc, d, msgid, to="<mein-team-support@roewaplan.de>", extra=(), lang="de"):
    return [f"From: \"{who[0]}\" <{who[1]}>" if "," in who[0] else f"From: {who[0]} <{who[1]}>",
            f"To: {to}",
            *[e for e in extra if e.startswith("Cc:")],
            f"Subject: {subject_enc}",
            f"Date: {date(d)}",
            f"Message-ID: {msgid}",
            *[e for e in extra if not e.startswith("Cc:")],
            "MIME-Version: 1.0",
            "X-Mailer: Microsoft Outlook 16.0",
            f"Thread-Index: {L.thread_index()}",
            f"Content-Language: {lang}"]


SIG_KN = """Karin Neumann
Kundenservice / Anwendungsbetreuung
Stadtwerke Musterstadt GmbH
Werkstraße 12, 12345 Musterstadt
Tel. 01234 5678-210"""

SIG_SY = """-- 
Selin Yilmaz
Landkreis Beispielhausen
Fachbereich 1 - Zentrale Dienste, IT-Koordination
Kreishausplatz 1, 54321 Beispielhausen
Telefon 05432 100-412"""

DISCLAIMER_SWM = """Diese E-Mail enthält vertrauliche und/oder rechtlich geschützte Informationen. Wenn Sie nicht der richtige Adressat sind oder diese E-Mail irrtümlich erhalten haben, informieren Sie bitte sofort den Absender und vernichten Sie diese E-Mail. Das unerlaubte Kopieren sowie die unbefugte Weitergabe dieser E-Mail ist nicht gestattet.
Stadtwerke Musterstadt GmbH, Sitz Musterstadt, Amtsgericht Musterstadt HRB 4711, Geschäftsführer: Dr. Rainer Voss"""

ids = {}   # file -> Message-ID, for later references


# ==================================================================== 01
def m01():
    d = at(9, 8, 12, 41)
    mid = L.outlook_msgid("stadtwerke-musterstadt.de")
    ids["01"] = mid
    subject = "Login nicht möglich"
    text = f"""Hallo liebes MEIN-TEAM-Support-Team,

seit heute Morgen können sich mehrere Kolleginnen und Kollegen aus der Abteilung Netzbetrieb nicht mehr an MEIN TEAM anmelden. Nach Eingabe von Benutzername und Passwort erscheint die Fehlermeldung "Anmeldung fehlgeschlagen (Code 401)", obwohl die Zugangsdaten stimmen.

Betroffen sind u. a. die Benutzer m.keller und j.hoffmann. In Edge und Firefox ist das Verhalten gleich, den Browser-Cache haben wir bereits geleert.

Können Sie sich das bitte kurzfristig ansehen? Die Einsatzplanung für die Bereitschaft muss heute noch raus.

Mit freundlichen Grüßen

{SIG_KN}
"""
    b = outlook_boundary()
    body = multipart(b, [text_part(text, "iso-8859-1"), html_part(html_outlook(text), "utf-8")])
    h = [envelope(KN[1], d, client_rdns="pc-nb-0417.intern.stadtwerke-musterstadt.de")] + \
        outlook_headers(KN, enc_q(subject, "iso-8859-1"), d, mid)
    data = finish(mail(h, f'multipart/alternative;\n\tboundary="{b}"', body))
    add("01-de-outlook-login-fehler.eml", data, "new_ticket", subject, "Fehlermeldung",
        "functional_error", comment="Outlook 16, multipart/alternative, plain part ISO-8859-1 QP, Q-encoded subject")


# ==================================================================== 02
def m02():
    d = at(9, 8, 47, 5, GMT)
    mid = L.gmail_msgid()
    ids["02"] = mid
    subject = "How do I export the monthly timesheet to CSV?"
    text = """Hi MEIN TEAM support,

Quick question: how do I export the monthly timesheet for my team to CSV? In the Timesheets view I can only find "Print" and "PDF". Our payroll provider needs a CSV file with one row per employee and day.

Is there an export option I'm missing, or does it need a specific setting?

Thanks,
Jane

--
Jane Whitfield
Operations Manager | Harbour Analytics Ltd
+44 20 7946 0321
"""
    b = "0000000000008" + L.hexs(15)
    html = html_gmail(text.split("\n--\n")[0]) + \
        '<div><br></div><span class="gmail_signature_prefix">-- </span><br><div dir="ltr" class="gmail_signature">' \
        '<div dir="ltr">Jane Whitfield<div>Operations Manager | Harbour Analytics Ltd</div><div>+44 20 7946 0321</div></div></div>\n'
    body = multipart(b, [part('text/plain; charset="UTF-8"', text), html_part(html, "UTF-8")], preamble=None)
    h = [envelope(JW[1], d, client_ip=None),
         "MIME-Version: 1.0",
         f"From: {JW[0]} <{JW[1]}>",
         f"Date: {date(d)}",
         f"Message-ID: {mid}",
         f"Subject: {subject}",
         f"To: {SUPPORT}"]
    data = finish(mail(h, f'multipart/alternative; boundary="{b}"', body))
    add("02-en-gmail-export-frage.eml", data, "new_ticket", subject, "export the monthly timesheet",
        "usage_question", comment="Gmail web, multipart/alternative, 7bit plain + QP html; no X-Mailer (Gmail sends none)")
    return data


# ==================================================================== 03
TEXT03 = f"""Guten Tag,

zum 01.12.2026 beginnt Frau Claudia Weber bei uns im Fachbereich Ordnung und Soziales. Bitte legen Sie für sie einen Benutzer in MEIN TEAM an:

Name: Claudia Weber
E-Mail: c.weber@lk-beispielhausen.de
Organisationseinheit: FB 3 - Ordnung und Soziales
Rollen: Sachbearbeitung, Lesezugriff Dienstplan

Die Berechtigungen sollen denen von Herrn Krause entsprechen.

Vielen Dank und freundliche Grüße
Selin Yilmaz

{SIG_SY}
"""


def tb_headers(who, subject, d, mid, extra=(), lang="de-DE", to=SUPPORT):
    return [f"Message-ID: {mid}",
            f"Date: {tb_date(d)}",
            "MIME-Version: 1.0",
            "User-Agent: Mozilla Thunderbird",
            *extra,
            f"Content-Language: {lang}",
            f"To: {to}",
            f"From: {who[0]} <{who[1]}>",
            f"Subject: {subject}"]


def m03():
    d = at(9, 10, 15, 2)
    mid = f"<{L.uuid4()}@lk-beispielhausen.de>"
    ids["03"] = (mid, d)
    subject = "Neuen Benutzer für Frau Weber anlegen"
    h = [envelope(SY[1], d, client_ip="10.3.12.54", client_rdns="ws-it-054.verwaltung.lk-beispielhausen.de")] + \
        tb_headers(SY, enc_q(subject, "UTF-8", lower_hex=True), d, mid)
    data = finish(mail(h, "text/plain; charset=UTF-8; format=flowed", TEXT03, "8bit"))
    add("03-de-thunderbird-neuer-benutzer.eml", data, "new_ticket", subject, "Benutzer in MEIN TEAM an",
        "user_management", comment="Thunderbird, 8bit UTF-8 format=flowed, '-- ' signature")


# ==================================================================== 04
def m04():
    d = at(9, 10, 41, 17)
    mid = f"<20261109{d.strftime('%H%M%S')}.3f1c2a7b@pc-it-03.intern.stadtwerke-musterstadt.de>"
    subject = "Sicherheitslücke: Dokumente ohne Anmeldung abrufbar"
    text = """Hallo zusammen,

bei einem internen Test ist uns aufgefallen, dass Dokumente aus dem Bereich "Personalakte" über einen direkten Link auch ohne Anmeldung abrufbar sind. Wer die URL kennt (z. B. .../dokumente/download?id=48213), bekommt die Datei angezeigt, auch in einem privaten Browserfenster ohne Sitzung.

Das ist aus unserer Sicht eine gravierende Sicherheitslücke, da es sich um personenbezogene Daten handelt. Bitte prüfen Sie das mit höchster Priorität. Unser Datenschutzbeauftragter ist informiert.

Mit freundlichen Grüßen
Jens Hoffmann
IT-Service, Stadtwerke Musterstadt GmbH
"""
    h = [envelope(JH[1], d, client_rdns="pc-it-03.intern.stadtwerke-musterstadt.de", client_ip="10.20.9.3"),
         f"Date: {tb_date(d)}",
         f"From: {JH[0]} <{JH[1]}>",
         f"To: {SUPPORT}",
         f"Subject: {enc_q(subject, 'ISO-8859-1')}",
         f"Message-ID: {mid}",
         "Organization: Stadtwerke Musterstadt GmbH",
         "X-Mailer: Claws Mail 4.1.1 (GTK 3.24.38; x86_64-pc-linux-gnu)",
         "MIME-Version: 1.0"]
    data = finish(mail(h, "text/plain; charset=ISO-8859-1", text, "8bit"), "latin-1")
    add("04-de-latin1-sicherheitsluecke.eml", data, "new_ticket", subject, "gravierende Sicherheitslücke",
        "security_error", comment="Claws Mail, RAW 8-bit ISO-8859-1 body (bytes 0xFC etc.), charset=ISO-8859-1, Q subject")


# ==================================================================== 05
def m05():
    d = at(9, 11, 2, 37, GMT)
    mid = f"<{L.uuid4().upper()}@harbour-analytics.co.uk>"
    ids["05"] = (mid, d)
    subject = "Request: cost centre field on the project form"
    text = """Hello,

we would like to request an extension to the project form in MEIN TEAM: a mandatory "cost centre" field (free text, max. 12 characters) that is also included in the monthly export.

Our finance team currently keeps this information in a separate spreadsheet, which leads to mistakes. Could you please send us a quote for this change and an estimate of when it could be delivered?

Kind regards,
Tom Baker
Harbour Analytics Ltd
"""
    h = [envelope(TB[1], d, client_ip="192.0.2.45"),
         f"From: {TB[0]} <{TB[1]}>",
         "Content-Type: text/plain;\n\tcharset=us-ascii",
         "Content-Transfer-Encoding: quoted-printable",
         "Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.200.121\\))",
         f"Subject: {subject}",
         f"Message-Id: {mid}",
         f"Date: {tb_date(d)}",
         f"To: {SUPPORT}",
         "X-Mailer: Apple Mail (2.3826.200.121)"]
    data = finish("\n".join(h) + "\n\n" + qp(text, "us-ascii"))
    add("05-en-applemail-kostenstelle.eml", data, "new_ticket", subject, "cost centre",
        "change_request", comment="Apple Mail, us-ascii QP with soft line breaks")


# ==================================================================== 06
def m06():
    d = at(9, 13, 5, 50)
    mid = L.outlook_msgid("lk-beispielhausen.de")
    subject = "Änderungswunsch: zusätzliches Feld „Aktenzeichen“ im Antragsformular"
    text = """Sehr geehrte Damen und Herren,

im Antragsformular „Gewerbeanmeldung“ benötigen wir ein zusätzliches Pflichtfeld „Aktenzeichen“ (Format: 3 Buchstaben – 6 Ziffern, z. B. ORD-004711). Das Aktenzeichen soll außerdem in der Listenansicht und im PDF-Ausdruck erscheinen.

Wir bitten um ein Angebot für diese Anpassung. Laut Haushaltsplanung stehen dafür bis zu 2.500 € zur Verfügung.

Mit freundlichen Grüßen
i. A. Martina Brandt
Landkreis Beispielhausen – Poststelle / Zentrale Dienste
"""
    b = outlook_boundary()
    html = html_outlook(text).replace('charset=utf-8', 'charset=windows-1252')
    body = multipart(b, [text_part(text, "windows-1252"), html_part(html, "windows-1252")])
    h = [envelope(PS[1], d, client_ip="10.3.20.17", client_rdns="ws-post-017.verwaltung.lk-beispielhausen.de")] + \
        outlook_headers(PS, enc_q(subject, "windows-1252"), d, mid)
    data = finish(mail(h, f'multipart/alternative;\n\tboundary="{b}"', body))
    add("06-de-outlook-cp1252-aenderungswunsch.eml", data, "new_ticket", subject, "Pflichtfeld „Aktenzeichen“",
        "change_request", comment="Outlook, windows-1252 QP (bytes 0x84/0x93 = „“, 0x80 = €, 0x96 = –), windows-1252 Q subject")


# ==================================================================== 07
def m07():
    d = at(9, 14, 30, 12)
    mid = L.outlook_msgid("stadtwerke-musterstadt.de")
    subject = "Fehler beim PDF-Export der Dienstpläne"
    text = """Hallo Support-Team,

beim PDF-Export der Dienstpläne für Dezember bricht MEIN TEAM mit der Meldung "Export fehlgeschlagen – interner Fehler (E-5031)" ab. Der Export für November funktioniert weiterhin. Im Anhang finden Sie den Fehlerbericht, den das System angeboten hat.

Schritte:
1. Dienstplanung > Monatsansicht > Dezember 2026
2. Schaltfläche "Exportieren" > PDF
3. Nach ca. 20 Sekunden erscheint die Fehlermeldung

Gruß
Markus Keller
Stadtwerke Musterstadt GmbH – Netzbetrieb
"""
    pdf = tiny_pdf("Fehlerbericht E-5031 Dienstplan Dezember 2026")
    b0, b1 = outlook_boundary(0), outlook_boundary(1)
    alt = multipart(b1, [text_part(text), html_part(html_outlook(text))], preamble=None)
    att = part('application/pdf;\n\tname="Fehlerbericht_E-5031.pdf"', b64(pdf), "base64",
               ['Content-Disposition: attachment;\n\tfilename="Fehlerbericht_E-5031.pdf";\n'
                f'\tsize={len(pdf)};\n\tcreation-date="Mon, 09 Nov 2026 13:29:40 GMT";\n'
                '\tmodification-date="Mon, 09 Nov 2026 13:29:40 GMT"'])
    body = multipart(b0, [part(f'multipart/alternative;\n\tboundary="{b1}"', alt), att])
    h = [envelope(MK[1], d, client_rdns="pc-nb-0233.intern.stadtwerke-musterstadt.de", client_ip="10.20.4.33")] + \
        outlook_headers(MK, enc_q(subject, "utf-8"), d, mid)
    data = finish(mail(h, f'multipart/mixed;\n\tboundary="{b0}"', body))
    add("07-de-outlook-pdf-anhang.eml", data, "new_ticket", subject, "interner Fehler (E-5031)",
        "functional_error", attachments=1, comment="Outlook multipart/mixed > alternative + application/pdf (valid tiny PDF)")


# ==================================================================== 08
def m08():
    d = at(10, 9, 12, 50, GMT)
    mid = L.gmail_msgid()
    subject = "Dashboard shows error 500 after update"
    text = """Hi,

since this morning's update the team dashboard shows "Error 500 – something went wrong" for everyone in our London office. The rest of MEIN TEAM (rotas, absences) still works. Screenshot attached.

We have a client workshop tomorrow morning, so we'd appreciate a quick look.

Best,
Jane
"""
    png = tiny_png(seed=8)
    bm, ba = "000000000000" + L.hexs(16), "000000000000" + L.hexs(16)
    alt = multipart(ba, [text_part(text, "UTF-8"), html_part(html_gmail(text), "UTF-8")], preamble=None)
    fid = "f_m3" + L.alnum(6).lower() + "0"
    fname = "Screenshot 2026-11-10 091031.png"
    att = part(f'image/png; name="{fname}"', b64(png), "base64",
               [f'Content-Disposition: attachment; filename="{fname}"', f"Content-ID: <{fid}>", f"X-Attachment-Id: {fid}"])
    body = multipart(bm, [part(f'multipart/alternative; boundary="{ba}"', alt), att], preamble=None)
    h = [envelope(JW[1], d, client_ip=None),
         "MIME-Version: 1.0",
         f"From: {JW[0]} <{JW[1]}>",
         f"Date: {date(d)}",
         f"Message-ID: {mid}",
         f"Subject: {subject}",
         f"To: {SUPPORT}"]
    data = finish(mail(h, f'multipart/mixed; boundary="{bm}"', body))
    add("08-en-gmail-screenshot.eml", data, "new_ticket", subject, "Error 500",
        "functional_error", attachments=1, comment="Gmail, multipart/mixed > alternative + image/png attachment (valid PNG)")


# ==================================================================== 09
def m09():
    d = at(10, 10, 3, 44)
    mid = f"<{L.uuid4()}@lk-beispielhausen.de>"
    subject = "Import der Stammdaten bricht ab"
    text = f"""Guten Tag,

der nächtliche Import der Personalstammdaten aus unserem HR-System bricht seit dem 08.11. ab. Im Protokoll steht bei Datensatz 1.244 "Ungültiges Datumsformat im Feld Eintrittsdatum". Der Datensatz sieht für uns unauffällig aus.

Derselbe Fehler trat schon einmal im März auf; das Fehlerprotokoll von damals hänge ich an, es sieht genauso aus. Können Sie bitte prüfen, woran der Abbruch liegt?

Freundliche Grüße
Selin Yilmaz

{SIG_SY}
"""
    log = """2026-03-17 02:00:01 INFO  Import Personalstammdaten gestartet (Quelle: HR-Export personal_20260317.csv)
2026-03-17 02:00:03 INFO  1.243 Datensätze verarbeitet
2026-03-17 02:00:03 ERROR Datensatz 1.244 (Personalnr. 30417): Ungültiges Datumsformat im Feld Eintrittsdatum: "31.02.2019"
2026-03-17 02:00:03 ERROR Import abgebrochen, keine Änderungen übernommen (Rollback)
"""
    b = "------------" + L.alnum(24)
    att = part('text/plain; charset=UTF-8; name="=?UTF-8?Q?Fehlerprotokoll_M=c3=a4rz=2etxt?="',
               b64(log), "base64",
               ["Content-Disposition: attachment; filename*=UTF-8''Fehlerprotokoll%20M%C3%A4rz.txt"])
    body = multipart(b, [part("text/plain; charset=UTF-8; format=flowed", text, "8bit"), att])
    h = [envelope(SY[1], d, client_ip="10.3.12.54", client_rdns="ws-it-054.verwaltung.lk-beispielhausen.de")] + \
        tb_headers(SY, subject, d, mid)
    data = finish(mail(h, f'multipart/mixed; boundary="{b}"', body))
    add("09-de-thunderbird-rfc2231-anhang.eml", data, "new_ticket", subject, "Ungültiges Datumsformat",
        "functional_error", attachments=1,
        comment="Thunderbird; attachment name RFC 2231 (filename*=UTF-8''Fehlerprotokoll%20M%C3%A4rz.txt) and RFC 2047 in name=; decoded: 'Fehlerprotokoll März.txt'")


# ==================================================================== 10
def m10():
    d = at(10, 11, 20, 9)
    mid = f"<{L._rnd.randint(100000000, 999999999)}.{L._rnd.randint(1000, 9999)}.{d.strftime('%s')}{L._rnd.randint(100, 999)}@ox.stadtwerke-musterstadt.de>"
    ids["10"] = mid
    subject = "Wie kann ich die Urlaubsübersicht drucken?"
    html = """<!doctype html>
<html>
 <head>
  <meta charset="UTF-8">
 </head>
 <body>
  <div class="default-style">
   Guten Tag,
  </div>
  <div class="default-style">
   <br>
  </div>
  <div class="default-style">
   wie kann ich die Urlaubs&uuml;bersicht f&uuml;r meine Abteilung als Jahresansicht ausdrucken? In der Ansicht &bdquo;Abwesenheiten &gt; Team&ldquo; finde ich nur die Monatsansicht; wenn ich dort auf <b>Drucken</b> klicke, wird nur der aktuelle Monat ausgegeben.
  </div>
  <div class="default-style">
   <br>
  </div>
  <div class="default-style">
   Gibt es eine M&ouml;glichkeit, alle zw&ouml;lf Monate auf einmal zu drucken (gern auch als PDF)?
  </div>
  <div class="default-style">
   <br>
  </div>
  <div class="default-style">
   Vielen Dank und viele Gr&uuml;&szlig;e
   <br>Karin Neumann
  </div>
  <div class="io-ox-signature">
   <p style="font-size: 9pt; color: #666666;">Stadtwerke Musterstadt GmbH &middot; Kundenservice / Anwendungsbetreuung<br>Werkstra&szlig;e 12 &middot; 12345 Musterstadt</p>
  </div>
 </body>
</html>
"""
    h = [envelope(KN[1], d, client_ip="10.20.30.5", client_rdns="ox.stadtwerke-musterstadt.de", authenticated=False),
         f"Date: {date(d)}",
         f"From: {KN[0]} <{KN[1]}>",
         f"To: {SUPPORT}",
         f"Message-ID: {mid}",
         f"Subject: {enc_q(subject, 'UTF-8')}",
         "MIME-Version: 1.0",
         "X-Priority: 3",
         "Importance: Normal",
         "X-Mailer: Open-Xchange Mailer v7.10.6-Rev61"]
    data = finish(mail(h, "text/html; charset=UTF-8", qp(html), "quoted-printable"))
    add("10-de-html-only-urlaubsuebersicht.eml", data, "new_ticket", subject, "Urlaubsübersicht für meine Abteilung",
        "usage_question", comment="HTML-only (no text/plain), QP; text uses entities (&uuml; &bdquo; &szlig;): html2text must decode them")


# ==================================================================== 11
def m11():
    d = at(10, 12, 31, 5)
    mid = f"<{L.uuid4()}@lk-beispielhausen.de>"
    parent, pd = ids["03"]
    subject = "Re: Neuen Benutzer für Frau Weber anlegen"
    orig = TEXT03.split("\n-- \n")[0]
    text = f"""Guten Tag,

kleiner Nachtrag: Frau Weber benötigt zusätzlich die Rolle "Urlaubsfreigabe" für das Team Ordnungsamt, da sie die Vertretung von Herrn Krause übernimmt.

Freundliche Grüße
Selin Yilmaz

Am {pd.strftime('%d.%m.%Y')} um {pd.strftime('%H:%M')} schrieb Selin Yilmaz:
{quote(orig)}

{SIG_SY}
"""
    h = [envelope(SY[1], d, client_ip="10.3.12.54", client_rdns="ws-it-054.verwaltung.lk-beispielhausen.de")] + \
        tb_headers(SY, enc_q(subject, "UTF-8", lower_hex=True), d, mid,
                   extra=[f"References: {parent}", f"In-Reply-To: {parent}"])
    data = finish(mail(h, "text/plain; charset=UTF-8; format=flowed", text, "8bit"))
    add("11-de-followup-references.eml", data, "follow_up", subject, "Urlaubsfreigabe", ticket="MT-000003",
        comment="No tag in subject: threads ONLY via In-Reply-To/References = Message-ID of 03")


# ==================================================================== 12
def m12():
    d = at(10, 13, 48, 30)
    mid = L.outlook_msgid("stadtwerke-musterstadt.de")
    subject = "AW: [MT-000001] Login nicht möglich"
    ack = ACK_DE.format(anrede=" Frau Neumann", tag="MT-000001", kat="Funktionale Fehler")
    text = f"""Hallo Frau Berg,

danke für die schnelle Rückmeldung. Inzwischen können sich Herr Keller und Herr Hoffmann wieder anmelden. Bei Frau Roth erscheint die Fehlermeldung aber weiterhin – sie nutzt als einzige noch Firefox ESR 115.

Viele Grüße
Karin Neumann

-----Ursprüngliche Nachricht-----
Von: MEIN TEAM Support <mein-team-support@roewaplan.de> 
Gesendet: Montag, 9. November 2026 08:13
An: Karin Neumann <kunde@stadtwerke-musterstadt.de>
Betreff: [MT-000001] Login nicht möglich

{ack}
"""
    b = outlook_boundary()
    body = multipart(b, [text_part(text), html_part(html_outlook(text))])
    h = [envelope(KN[1], d, client_rdns="pc-nb-0417.intern.stadtwerke-musterstadt.de")] + \
        outlook_headers(KN, enc_q(subject, "utf-8"), d, mid)
    data = finish(mail(h, f'multipart/alternative;\n\tboundary="{b}"', body))
    add("12-de-followup-nur-tag-im-betreff.eml", data, "follow_up", subject, "Frau Roth", ticket="MT-000001",
        comment="No In-Reply-To/References: threads ONLY via [MT-000001] behind 'AW:'; Outlook '-----Ursprüngliche Nachricht-----' quote")


# ==================================================================== poison
def poison():
    # 14: empty file
    add("14-poison-leere-datei.eml", b"", "quarantined", comment="0 bytes")

    # 15: NUL bytes and garbage: a header start, then a corrupted block (disk/transfer damage)
    r = random.Random(15)
    junk = bytes(r.choice([0, 0, 0, 0xff, 0x1b, 0x8b, 0x9c, 0xfe] + list(range(32, 127))) for _ in range(900))
    data = (b"Return-Path: <m.keller@stadtwerke-musterstadt.de>\r\nDelivered-To: mein-team-support@roewaplan.de\r\nRecei"
            + b"\x00" * 64 + junk + b"\r\n\x00\x00\x00\x00" + bytes(r.getrandbits(8) for _ in range(300)))
    add("15-poison-nul-bytes-muell.eml", data, "quarantined",
        comment="header fragment, then NUL bytes and binary junk; no From, no Subject, no body structure")

    # 16: well-formed but no From (and no Sender / Reply-To / Return-Path to fall back on)
    d = at(10, 15, 2, 11)
    text = """Guten Tag,

bitte teilen Sie uns mit, wann das nächste Update eingespielt wird.

Mit freundlichen Grüßen
"""
    h = ["Received: from mail.lk-beispielhausen.de (mail.lk-beispielhausen.de [198.51.100.80])\n"
         f"\tby {MX} (Postfix) with ESMTPS id {L.postfix_id()}\n\tfor <{SUPPORT}>; {rdate(d + dt.timedelta(seconds=3))}",
         f"Received: from fachverfahren-03.verwaltung.lk-beispielhausen.de (fachverfahren-03 [10.3.40.3])\n"
         f"\tby mail.lk-beispielhausen.de (Postfix) with ESMTP id {L.postfix_id()}\n\tfor <{SUPPORT}>; {rdate(d + dt.timedelta(seconds=1))}",
         f"To: {SUPPORT}",
         "Subject: Anfrage Update-Termin",
         f"Date: {date(d)}",
         f"Message-ID: <{d.strftime('%Y%m%d%H%M%S')}.7731@fachverfahren-03.verwaltung.lk-beispielhausen.de>",
         "MIME-Version: 1.0",
         "X-Mailer: Fachverfahren-Benachrichtigung 2.3 (JavaMail)"]
    data = finish(mail(h, "text/plain; charset=UTF-8", qp(text), "quoted-printable"))
    add("16-poison-ohne-from.eml", data, "quarantined",
        comment="no From, Sender, Reply-To or Return-Path at all: quarantined (otherwise well-formed)")

    # 17: raw 8-bit Latin-1 bytes in From display name and Subject (no RFC 2047)
    d = at(10, 15, 40, 3)
    subject = "Störung: Schichtplan zeigt falsche Uhrzeiten"
    text = """Hallo Support,

die Schichtplanung zeigt seit heute Morgen für alle Nachtschichten falsche Uhrzeiten an: Beginn 23:00 wird als 00:00 angezeigt, Ende 07:00 als 08:00. Die Tagschichten sind korrekt. Vermutlich ein Fehler bei der Umrechnung der Zeitzone.

Bitte um Prüfung, die Leitstelle plant gerade die Bereitschaft für Dezember.

Gruß
Jürgen Köhler
Leitstelle, Stadtwerke Musterstadt
"""
    h = [envelope("j.koehler@stadtwerke-musterstadt.de", d, client_ip="10.20.50.2",
                  client_rdns="leitstelle-pc2.intern.stadtwerke-musterstadt.de"),
         f"Date: {date(d)}",
         "From: Jürgen Köhler <j.koehler@stadtwerke-musterstadt.de>",
         f"To: MEIN TEAM Support <{SUPPORT}>",
         f"Subject: {subject}",
         f"Message-ID: <{L.hexs(12)}.{d.strftime('%Y%m%d%H%M%S')}@leitstelle-pc2.intern.stadtwerke-musterstadt.de>",
         "MIME-Version: 1.0",
         "X-Mailer: SWM Leitstellen-Mailer 3.4"]
    data = finish(mail(h, "text/plain; charset=iso-8859-1", text, "8bit"), "latin-1")
    add("17-poison-8bit-header.eml", data, "new_ticket", None, "falsche Uhrzeiten", "functional_error",
        comment="RAW Latin-1 bytes (0xFC, 0xF6) in From display name and Subject, undeclared. Lenient parse -> ticket. "
                "Subject decoded as Latin-1 would be 'Störung: Schichtplan zeigt falsche Uhrzeiten'; a lossy U+FFFD decode is acceptable")

    # 18: truncated mid-MIME: plain part complete, html part cut off, no closing boundary, no final CRLF
    d = at(10, 16, 5, 27)
    subject = "Benutzer deaktivieren: Herr Braun"
    text = """Sehr geehrte Damen und Herren,

Herr Dieter Braun (d.braun@lk-beispielhausen.de) ist zum 31.10.2026 aus dem Dienst ausgeschieden. Bitte deaktivieren Sie seinen Benutzer in MEIN TEAM und entziehen Sie ihm alle Rollen. Seine offenen Vorgänge sollen auf Frau Weber übertragen werden.

Mit freundlichen Grüßen
i. A. Martina Brandt
Landkreis Beispielhausen – Poststelle / Zentrale Dienste
"""
    b = outlook_boundary()
    mid = L.outlook_msgid("lk-beispielhausen.de")
    body = multipart(b, [text_part(text), html_part(html_outlook(text))])
    h = [envelope(PS[1], d, client_ip="10.3.20.17", client_rdns="ws-post-017.verwaltung.lk-beispielhausen.de")] + \
        outlook_headers(PS, subject, d, mid)
    full = finish(mail(h, f'multipart/alternative;\n\tboundary="{b}"', body))
    cut = full.index(b"Content-Type: text/html") + 900
    data = full[:cut]
    assert b"deaktivieren Sie seinen Benutzer" in data[:cut] and (b"--" + b.encode() + b"--") not in data
    ids["18m"] = mid
    add("18-poison-abgeschnitten-mime.eml", data, "new_ticket", subject, "deaktivieren Sie seinen Benutzer", "user_management",
        comment="file ends inside the QP html part (no closing boundary, no final CRLF); the text/plain part is complete -> ticket")

    # 19: no Message-ID -> ticket with synthetic id
    d = at(10, 16, 40, 55)
    subject = "Frage: Aufbewahrung gelöschter Dienstpläne"
    text = """Guten Tag,

wir haben eine Frage zur Bedienung: Wenn ein Planer einen Dienstplan in MEIN TEAM löscht, wie lange kann man ihn noch wiederherstellen, und wo finde ich dafür die Funktion? Im Papierkorb der Dienstplanung sehe ich nur Pläne der letzten 7 Tage.

Mit freundlichen Grüßen
Jens Hoffmann
IT-Service, Stadtwerke Musterstadt GmbH
"""
    h = [envelope(JH[1], d, client_rdns="intranet01.intern.stadtwerke-musterstadt.de", client_ip="10.20.30.11"),
         "Thread-Topic: " + enc_q(subject, "iso-8859-1"),
         "Content-class: urn:content-classes:message",
         f"From: \"{JH[0]}\" <{JH[1]}>",
         f"To: <{SUPPORT}>",
         f"Subject: {enc_q(subject, 'iso-8859-1')}",
         f"Date: {date(d)}",
         "MIME-Version: 1.0",
         "X-Mailer: Microsoft CDO for Windows 2000",
         "X-MimeOLE: Produced By Microsoft MimeOLE V6.00.3790.4913"]
    data = finish(mail(h, 'text/plain;\n\tcharset="iso-8859-1"', qp(text, "iso-8859-1"), "quoted-printable"))
    add("19-de-ohne-message-id.eml", data, "new_ticket", subject, "wie lange kann man ihn noch wiederherstellen",
        "usage_question", comment="NO Message-ID header: supportd must synthesise one (stable: same bytes -> same id)")


# ==================================================================== 20
def m20():
    d = at(11, 8, 55, 20, GMT)
    mid = L.outlook_msgid("harbour-analytics.co.uk")
    subject = "User accounts for two new starters"
    text = """Hello,

please create MEIN TEAM accounts for our two new starters on 1 December, see the request from our HR team below:

- Priya Sharma, priya.sharma@harbour-analytics.co.uk, role: Analyst, team: Data Engineering
- Oliver Grant, oliver.grant@harbour-analytics.co.uk, role: Team Lead, team: Client Services

Oliver also needs the permission to approve absences in Client Services.

Thanks,
Tom

-----Original Message-----
From: Sarah Collins <sarah.collins@harbour-analytics.co.uk> 
Sent: Tuesday, November 10, 2026 4:02 PM
To: Tom Baker <tom.baker@harbour-analytics.co.uk>
Subject: New starters December

Hi Tom,

two new starters on 1 Dec: Priya Sharma (Analyst, Data Engineering) and Oliver Grant (Team Lead, Client Services). Could you arrange their MEIN TEAM access?

Cheers,
Sarah
"""
    b = outlook_boundary()
    body = multipart(b, [text_part(text, "us-ascii", "7bit"), html_part(html_outlook(text, "EN-GB"), "us-ascii")])
    h = [envelope(TB[1], d, client_ip="192.0.2.61", client_rdns="DESKTOP-7QK2T1M")] + \
        outlook_headers(TB, subject, d, mid, lang="en-gb")
    data = finish(mail(h, f'multipart/alternative;\n\tboundary="{b}"', body))
    add("20-en-outlook-original-message.eml", data, "new_ticket", subject, "accounts for our two new starters",
        "user_management", comment="Outlook EN, '-----Original Message-----' From:/Sent:/To:/Subject: block (forwarded internal mail)")


# ==================================================================== 21
def m21():
    d = at(11, 9, 30, 8)
    mid = f"<{L.uuid4().upper()}@lk-beispielhausen.de>"
    subject = "Passwort-Reset-Link funktioniert für fremde Konten"
    text = """Guten Tag,

als Informationssicherheitsbeauftragter des Landkreises melde ich Ihnen einen möglichen Sicherheitsvorfall: Der Link aus der Mail "Passwort zurücksetzen" lässt sich mehrfach verwenden und bleibt auch nach erfolgreicher Änderung gültig. Ein Kollege konnte mit einem zwei Tage alten Link das Passwort eines anderen Kontos erneut setzen.

Bitte behandeln Sie das vertraulich und geben Sie uns kurzfristig Rückmeldung, ob ein Missbrauch in den Protokollen erkennbar ist.

Mit freundlichen Grüßen
Thomas Wagner
Informationssicherheitsbeauftragter
Landkreis Beispielhausen
"""
    h = [envelope(TW[1], d, client_ip="10.3.12.90", client_rdns="mbp-isb-01.verwaltung.lk-beispielhausen.de"),
         f"From: {TW[0]} <{TW[1]}>",
         "Content-Type: text/plain;\n\tcharset=utf-8",
         "Content-Transfer-Encoding: quoted-printable",
         "Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.200.121\\))",
         f"Subject: {enc_b(subject, 'utf-8')}",
         f"Message-Id: {mid}",
         f"Date: {tb_date(d)}",
         f"To: {SUPPORT}",
         "X-Mailer: Apple Mail (2.3826.200.121)"]
    data = finish("\n".join(h) + "\n\n" + qp(text))
    add("21-de-applemail-passwort-reset.eml", data, "new_ticket", subject, "Sicherheitsvorfall",
        "security_error", comment="Apple Mail, UTF-8 QP, B-encoded subject split over two encoded words")


# ==================================================================== 22
def m22():
    d = at(11, 10, 14, 36)
    mid = L.gmail_msgid()
    subject = "Wo finde ich die Überstundenübersicht?"
    text = """Hallo,

ich bin neu als Teamleiterin im Kundencenter und suche in MEIN TEAM die Übersicht der Überstunden meines Teams. In der Online-Hilfe steht, sie sei unter "Auswertungen" zu finden, bei mir gibt es diesen Menüpunkt aber nicht.

Wo finde ich die Überstundenübersicht, und wie rufe ich sie für einen bestimmten Monat auf?

Viele Grüße
Lena Fischer
"""
    b = "000000000000" + L.hexs(16)
    body = multipart(b, [text_part(text, "UTF-8"), html_part(html_gmail(text), "UTF-8")], preamble=None)
    h = [envelope(LF[1], d, client_ip=None, org_domain="stadtwerke-musterstadt.de"),
         "MIME-Version: 1.0",
         f"From: {LF[0]} <{LF[1]}>",
         f"Date: {date(d)}",
         f"Message-ID: {mid}",
         f"Subject: {enc_b(subject, 'UTF-8')}",
         f"To: {SUPPORT}"]
    data = finish(mail(h, f'multipart/alternative; boundary="{b}"', body))
    add("22-de-gmail-b-betreff.eml", data, "new_ticket", subject, "Übersicht der Überstunden meines Teams",
        "usage_question", comment="Gmail style, B-encoded UTF-8 subject, QP plain+html")


# ==================================================================== 23
def m23():
    d = at(11, 10, 31, 2, GMT)
    ack = ack_msgid("MT-000008")
    mid = L.gmail_msgid()
    text = """Thank you for your email. I'm at a client workshop until Thursday, 12 November, with limited access to email.

For urgent matters please contact Tom Baker (tom.baker@harbour-analytics.co.uk).

Jane Whitfield
Operations Manager | Harbour Analytics Ltd
"""
    b = "000000000000" + L.hexs(16)
    body = multipart(b, [text_part(text, "UTF-8"), html_part(html_gmail(text), "UTF-8")], preamble=None)
    h = [envelope(JW[1], d, client_ip=None),
         "MIME-Version: 1.0",
         f"From: {JW[0]} <{JW[1]}>",
         f"Date: {date(d)}",
         f"Message-ID: {mid}",
         "Subject: Out of office until Thursday, 12 November",
         f"To: {SUPPORT_FROM}",
         f"In-Reply-To: {ack}",
         f"References: {ack}",
         "Auto-Submitted: auto-replied"]
    data = finish(mail(h, f'multipart/alternative; boundary="{b}"', body))
    add("23-en-abwesenheit-auto-replied.eml", data, "auto_reply", "Out of office until Thursday, 12 November",
        "client workshop", comment="Gmail vacation responder to the ack of MT-000008: Auto-Submitted: auto-replied. "
        "No ticket, no answer, MT-000008 unchanged (may be linked to it for information)")


# ==================================================================== 24
def m24():
    d = at(11, 11, 20, 13)
    bad = ack_msgid("MT-000012")
    qid = "B2F1A40C3E"
    od = at(10, 16, 5, 40)
    b = f"{qid}.{int(d.timestamp())}/mail.lk-beispielhausen.de"
    notice = """This is the mail system at host mail.lk-beispielhausen.de.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<poststelle@lk-beispielhausen.de>: host
    postfach.verwaltung.lk-beispielhausen.de[private/dovecot-lmtp] said: 552
    5.2.2 <poststelle@lk-beispielhausen.de> Mailbox is full / Quota exceeded
    (in reply to end of DATA command)
"""
    status = f"""Reporting-MTA: dns; mail.lk-beispielhausen.de
X-Postfix-Queue-ID: {qid}
X-Postfix-Sender: rfc822; {SUPPORT}
Arrival-Date: {rdate(od + dt.timedelta(seconds=5)).rsplit(' (', 1)[0]}

Final-Recipient: rfc822; poststelle@lk-beispielhausen.de
Original-Recipient: rfc822;poststelle@lk-beispielhausen.de
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 <poststelle@lk-beispielhausen.de> Mailbox is
    full / Quota exceeded
"""
    ack = ACK_DE.format(anrede=" Damen und Herren", tag="MT-000012", kat="Verwalten von Benutzern und Berechtigungen") \
        .replace("Sehr geehrte Damen", "Sehr geehrte Damen")
    original = f"""Return-Path: <{SUPPORT}>
Received: from mx.roewaplan.de (mx.roewaplan.de [192.0.2.10])
	by mail.lk-beispielhausen.de (Postfix) with ESMTPS id {qid}
	for <poststelle@lk-beispielhausen.de>; {rdate(od + dt.timedelta(seconds=5))}
From: {SUPPORT_FROM}
To: poststelle@lk-beispielhausen.de
Subject: [MT-000012] Benutzer deaktivieren: Herr Braun
Date: {date(od)}
Message-ID: {bad}
In-Reply-To: {ids.get('18m', '<unknown@lk-beispielhausen.de>')}
Auto-Submitted: auto-replied
X-Supportd-Loop: {SUPPORT}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

{ack}
"""
    parts = [part("text/plain; charset=us-ascii", notice, extra=["Content-Description: Notification"]),
             part("message/delivery-status", status, extra=["Content-Description: Delivery report"]),
             part("message/rfc822", original, "8bit", ["Content-Description: Undelivered Message"])]
    body = multipart(b, parts, preamble="This is a MIME-encapsulated message.\n")
    h = [envelope("", d, client_ip=None, return_path="", auth_results=False, org_domain="lk-beispielhausen.de"),
         f"Received: by mail.lk-beispielhausen.de (Postfix)\n\tid {L.postfix_id()}; {rdate(d)}",
         f"Date: {date(d)}",
         "From: MAILER-DAEMON@mail.lk-beispielhausen.de (Mail Delivery System)",
         "Subject: Undelivered Mail Returned to Sender",
         f"To: {SUPPORT}",
         "Auto-Submitted: auto-replied",
         "MIME-Version: 1.0",
         f"Message-Id: <{d.strftime('%Y%m%d%H%M%S')}.{L.postfix_id()}@mail.lk-beispielhausen.de>"]
    data = finish(mail(h, f'multipart/report; report-type=delivery-status;\n\tboundary="{b}"', body))
    add("24-bounce-dsn-postfach-voll.eml", data, "bounce", "Undelivered Mail Returned to Sender", "Mailbox is full",
        comment=f"Postfix DSN (multipart/report) for the ack of MT-000012 ({bad}); failed recipient poststelle@lk-beispielhausen.de, 5.2.2. No ticket, no answer")


# ==================================================================== 25
def m25():
    d = at(11, 13, 2, 45, GMT)
    mid = f"<{L.uuid4().upper().replace('-', '')[:16]}.{L.hexs(8, True)}@harbour-analytics.co.uk>"
    subject = "Security issue: session remains valid after logout"
    text = """Hello,

during our annual penetration test the testers found that a MEIN TEAM session cookie stays valid after the user logs out. Replaying the old cookie from another machine still gives full access to the account for at least 8 hours.

The full report is confidential; I can share the relevant section through a secure channel if needed. Please treat this as a security issue and let us know the expected time to fix.

Regards,
Tom

Tom Baker
IT Lead | Harbour Analytics Ltd
"""
    b = "_000_" + L.alnum(30) + "_"
    body = multipart(b, [text_part(text, "utf-8"), html_part(html_outlook(text, "EN-GB"), "utf-8")], preamble=None)
    h = [envelope(TB[1], d, client_ip="192.0.2.62", client_rdns="tb-macbook.harbour.lan"),
         f"From: {TB[0]} <{TB[1]}>",
         f"To: \"{SUPPORT}\" <{SUPPORT}>",
         f"Subject: {subject}",
         f"Thread-Topic: {subject}",
         f"Thread-Index: {L.thread_index()}",
         f"Date: {date(d)}",
         f"Message-ID: {mid}",
         "Accept-Language: en-GB, en-US",
         "Content-Language: en-GB",
         "X-Mailer: Microsoft Outlook for Mac 16.91 (24110307)",
         "MIME-Version: 1.0"]
    data = finish(mail(h, f'multipart/alternative;\n\tboundary="{b}"', body))
    add("25-en-outlook-mac-session-sicherheit.eml", data, "new_ticket", subject, "session cookie stays valid",
        "security_error", comment="Outlook for Mac, UTF-8 QP plain+html")


# ==================================================================== 26
def m26():
    d = at(11, 14, 17, 3)
    mid = L.outlook_msgid("stadtwerke-musterstadt.de")
    ack = ack_msgid("MT-000007")
    subject = "AW: [MT-000007] Fehler beim PDF-Export der Dienstpläne"
    ackt = ACK_DE.format(anrede="r Herr Keller", tag="MT-000007", kat="Funktionale Fehler")
    text = f"""Hallo,

anbei noch ein Screenshot der Fehlermeldung. Der Fehler tritt auch beim Export für Januar 2027 auf, nicht nur für Dezember.

Gruß
Markus Keller

Von: MEIN TEAM Support <mein-team-support@roewaplan.de> 
Gesendet: Montag, 9. November 2026 14:30
An: Markus Keller <m.keller@stadtwerke-musterstadt.de>
Betreff: [MT-000007] Fehler beim PDF-Export der Dienstpläne

{ackt}
"""
    png = tiny_png(w=80, h=48, seed=26)
    b0, b1 = outlook_boundary(0), outlook_boundary(1)
    alt = multipart(b1, [text_part(text), html_part(html_outlook(text))], preamble=None)
    att = part('image/png;\n\tname="Exportfehler.png"', b64(png), "base64",
               [f'Content-Disposition: attachment;\n\tfilename="Exportfehler.png";\n\tsize={len(png)}'])
    body = multipart(b0, [part(f'multipart/alternative;\n\tboundary="{b1}"', alt), att])
    h = [envelope(MK[1], d, client_rdns="pc-nb-0233.intern.stadtwerke-musterstadt.de", client_ip="10.20.4.33")] + \
        outlook_headers(MK, enc_q(subject, "utf-8"), d, mid, extra=[f"In-Reply-To: {ack}", f"References: {ack}"])
    data = finish(mail(h, f'multipart/mixed;\n\tboundary="{b0}"', body))
    add("26-de-followup-mit-screenshot.eml", data, "follow_up", subject, "Export für Januar 2027", ticket="MT-000007",
        attachments=1, comment="reply to the ack of MT-000007 (In-Reply-To = supportd id with an arbitrary hash) + tag; PNG attachment")


# ==================================================================== 27
def m27():
    d = at(11, 15, 45, 19)
    mid = L.outlook_msgid("stadtwerke-musterstadt.de")
    subject = "Berechtigung für Modul Einsatzplanung erweitern"
    text = f"""Hallo,

bitte erweitern Sie die Berechtigungen von Herrn Jonas Roth (j.roth@stadtwerke-musterstadt.de): Er soll im Modul Einsatzplanung zusätzlich die Rolle "Disponent" für den Bereich Wasser erhalten. Die bisherige Rolle "Mitarbeiter" bleibt bestehen.

Die Freigabe durch die Bereichsleitung liegt vor.

Gruß
Markus Keller
Stadtwerke Musterstadt GmbH – Netzbetrieb

{DISCLAIMER_SWM}
"""
    b = outlook_boundary()
    body = multipart(b, [text_part(text), html_part(html_outlook(text))])
    h = [envelope(MK[1], d, client_rdns="pc-nb-0233.intern.stadtwerke-musterstadt.de", client_ip="10.20.4.33")] + \
        outlook_headers(MK, enc_q(subject, "utf-8"), d, mid)
    data = finish(mail(h, f'multipart/alternative;\n\tboundary="{b}"', body))
    add("27-de-outlook-berechtigung-disclaimer.eml", data, "new_ticket", subject, "zusätzlich die Rolle",
        "user_management", comment="Outlook with a German legal disclaimer at the end")


# ==================================================================== 28
def m28():
    d = at(12, 9, 5, 41, GMT)
    mid = L.gmail_msgid()
    subject = "Could you add an API endpoint for absences?"
    text = """Hi team,

we'd like to pull approved absences from MEIN TEAM into our resource planning tool every night. As far as I can see the REST API only offers read access to users and teams.

Could you extend the API with an endpoint that returns approved absences per team and date range? Please let us know what this change would cost and when it could be available - we're planning our Q1 roadmap.

Cheers,
Jane
"""
    b = "000000000000" + L.hexs(16)
    body = multipart(b, [part('text/plain; charset="UTF-8"', text), html_part(html_gmail(text), "UTF-8")], preamble=None)
    h = [envelope(JW[1], d, client_ip=None),
         "MIME-Version: 1.0",
         f"From: {JW[0]} <{JW[1]}>",
         f"Date: {date(d)}",
         f"Message-ID: {mid}",
         f"Subject: {subject}",
         f"To: {SUPPORT}",
         f"Cc: {TB[0]} <{TB[1]}>"]
    data = finish(mail(h, f'multipart/alternative; boundary="{b}"', body))
    add("28-en-gmail-api-wunsch.eml", data, "new_ticket", subject, "endpoint that returns approved absences",
        "change_request", comment="Gmail, Cc a colleague of the same customer")


# ==================================================================== 29
def m29():
    d = at(12, 18, 12, 9)
    mid = f"<{L.uuid4().upper()}@stadtwerke-musterstadt.de>"
    subject = "Dringend: fremde Mitarbeiterdaten in der App sichtbar"
    text = """Hallo,

dringend: In der MEIN TEAM App auf dem Diensthandy sehe ich nach dem Login die Schichtpläne und Telefonnummern von Mitarbeitern eines anderen Mandanten (Stadtwerke Nordhafen?). Das ist ein Datenschutzproblem. Bitte sofort prüfen!

Gruß
Jens Hoffmann

Von meinem iPhone gesendet"""
    h = [envelope(JH[1], d, client_ip="198.51.100.199", client_rdns="ip-198-51-100-199.mobile.example.net"),
         "Content-Type: text/plain; charset=utf-8",
         "Content-Transfer-Encoding: quoted-printable",
         f"From: {JH[0]} <{JH[1]}>",
         "Mime-Version: 1.0 (1.0)",
         f"Date: {tb_date(d)}",
         f"Subject: {enc_q(subject, 'utf-8')}" if needs_encoding(subject) else f"Subject: {subject}",
         f"Message-Id: {mid}",
         f"To: {SUPPORT}",
         "X-Mailer: iPhone Mail (22B91)"]
    data = finish("\n".join(h) + "\n\n" + qp(text) + "\n")
    add("29-de-iphone-mandantentrennung.eml", data, "new_ticket", subject, "eines anderen Mandanten",
        "security_error", comment="iPhone Mail, 'Von meinem iPhone gesendet', sent 18:12 (outside support hours)")


# ==================================================================== 30
def m30():
    d = at(13, 8, 40, 26)
    mid = f"<{L._rnd.randint(100000000, 999999999)}.{L._rnd.randint(1000, 9999)}.{d.strftime('%s')}{L._rnd.randint(100, 999)}@ox.stadtwerke-musterstadt.de>"
    ack = ack_msgid("MT-000010")
    subject = "AW: [MT-000010] Wie kann ich die Urlaubsübersicht drucken?"
    text = """Guten Morgen,

Nachtrag zu meiner Frage: ich nutze Firefox 128 unter Windows 11. Die Druckvorschau des Browsers zeigt ebenfalls nur den aktuellen Monat.

Viele Grüße
Karin Neumann

> MEIN TEAM Support <mein-team-support@roewaplan.de> hat am 10.11.2026 11:21 geschrieben:
>
> Sehr geehrte Frau Neumann,
>
> vielen Dank für Ihre Anfrage. Wir haben sie unter der Ticketnummer MT-000010
> aufgenommen.
"""
    html = "<!doctype html>\n<html>\n <head>\n  <meta charset=\"UTF-8\">\n </head>\n <body>\n" + "".join(
        f'  <div class="default-style">\n   {html_escape(l) if l else "<br>"}\n  </div>\n'
        for l in text.split("\n\n> ")[0].split("\n")) + \
        '  <blockquote type="cite">\n   <div>MEIN TEAM Support &lt;mein-team-support@roewaplan.de&gt; hat am 10.11.2026 11:21 geschrieben:</div>\n' \
        '   <div>Sehr geehrte Frau Neumann,</div>\n  </blockquote>\n </body>\n</html>\n'
    b = "----=_Part_" + f"{L._rnd.randint(100000, 999999)}_{L._rnd.randint(100000000, 999999999)}.{d.strftime('%s')}000"
    body = multipart(b, [text_part(text, "UTF-8", quote_charset=False), html_part(html, "UTF-8", quote_charset=False)], preamble=None)
    h = [envelope(KN[1], d, client_ip="10.20.30.5", client_rdns="ox.stadtwerke-musterstadt.de", authenticated=False),
         f"Date: {date(d)}",
         f"From: {KN[0]} <{KN[1]}>",
         f"To: MEIN TEAM Support <{SUPPORT}>",
         f"Message-ID: {mid}",
         f"In-Reply-To: {ack}",
         f"References: {ids['10']}\n {ack}",
         f"Subject: {enc_q(subject, 'UTF-8')}",
         "MIME-Version: 1.0",
         "X-Priority: 3",
         "Importance: Normal",
         "X-Mailer: Open-Xchange Mailer v7.10.6-Rev61"]
    data = finish(mail(h, f'multipart/alternative;\n\tboundary="{b}"', body))
    add("30-de-followup-ox-zitat.eml", data, "follow_up", subject, "Firefox 128 unter Windows 11", ticket="MT-000010",
        comment="OX App Suite reply: References = Message-ID of 10 + ack id, tag in subject; OX quote header '... hat am ... geschrieben:'")


# ==================================================================== 31
def m31():
    d = at(13, 9, 58, 3)
    mid = f"<{L.uuid4()}@lk-beispielhausen.de>"
    subject = "Reihenfolge der Spalten in der Teamübersicht ändern?"
    text = """Hallo MEIN TEAM Support,

kurze Frage zur Bedienung: Kann ich in der Teamübersicht die Reihenfolge der Spalten ändern, so dass "Telefon" direkt neben "Name" steht? Per Drag & Drop funktioniert es bei mir nicht.

Danke und viele Grüße
Selin Yilmaz

Outlook für iOS beziehen<https://aka.ms/o0ukef>
"""
    b = "_000_" + L.alnum(30) + "_"
    html = '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n</head>\n<body>\n' + \
        "".join(f"<div dir=\"ltr\">{html_escape(l) if l else '<br>'}</div>\n" for l in text.split("\n\nOutlook")[0].split("\n")) + \
        '<div dir="ltr"><br></div>\n<div class="ms-outlook-mobile-signature"><div dir="ltr">Outlook für iOS beziehen</div></div>\n</body>\n</html>\n'
    body = multipart(b, [text_part(text, "utf-8", "base64"), html_part(html, "utf-8", "base64")], preamble=None)
    h = [envelope(SY[1], d, client_ip="198.51.100.201", client_rdns="ip-198-51-100-201.mobile.example.net"),
         f"From: {SY[0]} <{SY[1]}>",
         f"To: MEIN TEAM Support <{SUPPORT}>",
         f"Subject: {enc_q(subject, 'utf-8')}",
         f"Thread-Topic: {enc_q(subject, 'utf-8')}",
         f"Thread-Index: {L.thread_index()}",
         f"Date: {date(d)}",
         f"Message-ID: {mid}",
         "Accept-Language: de-DE, en-US",
         "Content-Language: de-DE",
         "X-MS-Has-Attach:",
         "X-MS-TNEF-Correlator:",
         "MIME-Version: 1.0"]
    data = finish(mail(h, f'multipart/alternative;\n\tboundary="{b}"', body))
    add("31-de-outlook-ios-base64.eml", data, "new_ticket", subject, "Reihenfolge der Spalten",
        "usage_question", comment="Outlook for iOS: plain AND html parts base64 (UTF-8)")


# ==================================================================== 32
def m32():
    d = at(13, 11, 12, 48)
    mid = f"<20261113{d.strftime('%H%M%S')}.5b2e9d01@pc-it-03.intern.stadtwerke-musterstadt.de>"
    subject = "Wunsch: zusätzliche Spalte im Monatsbericht"
    text = """Hallo,

wir möchten eine Erweiterung des Monatsberichts "Arbeitszeitkonto" beauftragen: Zusätzlich zur Summe der Überstunden soll pro Mitarbeiter eine Spalte mit den geleisteten Bereitschaftsstunden ausgewiesen werden, auch im CSV-Export.

Bitte schicken Sie uns dazu ein Angebot; die Anpassung ist uns bewusst kostenpflichtig.

Mit freundlichen Grüßen
Jens Hoffmann
IT-Service, Stadtwerke Musterstadt GmbH
"""
    h = [envelope(JH[1], d, client_rdns="pc-it-03.intern.stadtwerke-musterstadt.de", client_ip="10.20.9.3"),
         f"Date: {tb_date(d)}",
         f"From: {JH[0]} <{JH[1]}>",
         f"To: {SUPPORT}",
         f"Subject: {enc_q(subject, 'UTF-8')}",
         f"Message-ID: {mid}",
         "Organization: Stadtwerke Musterstadt GmbH",
         "X-Mailer: Claws Mail 4.1.1 (GTK 3.24.38; x86_64-pc-linux-gnu)",
         "MIME-Version: 1.0"]
    data = finish(mail(h, "text/plain; charset=UTF-8", qp(text), "quoted-printable"))
    add("32-de-claws-monatsbericht-wunsch.eml", data, "new_ticket", subject, "Bereitschaftsstunden",
        "change_request", comment="Claws Mail, UTF-8 QP")


# ==================================================================== 33
def m33():
    d = at(13, 14, 26, 51, GMT)
    mid = f"<{L.uuid4().upper()}@harbour-analytics.co.uk>"
    ack = ack_msgid("MT-000005")
    parent, pd = ids["05"]
    subject = "Re: [MT-000005] Request: cost centre field on the project form"
    ackt = ACK_EN.format(anrede="Mr Baker", tag="MT-000005", kat="Change requests")
    text = f"""One more detail: the field should also be editable by project leads, not only by admins. And please make it optional for internal projects.

Thanks,
Tom

> On 9 Nov 2026, at 11:03, MEIN TEAM Support <mein-team-support@roewaplan.de> wrote:
> 
{quote(ackt)}
"""
    h = [envelope(TB[1], d, client_ip="192.0.2.45"),
         f"From: {TB[0]} <{TB[1]}>",
         "Content-Type: text/plain;\n\tcharset=us-ascii",
         "Content-Transfer-Encoding: quoted-printable",
         "Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.200.121\\))",
         f"Subject: {subject}",
         f"In-Reply-To: {ack}",
         f"Date: {tb_date(d)}",
         f"References: {parent}\n {ack}",
         f"To: {SUPPORT_FROM}",
         f"Message-Id: {mid}",
         "X-Mailer: Apple Mail (2.3826.200.121)"]
    data = finish("\n".join(h) + "\n\n" + qp(text, "us-ascii"))
    add("33-en-applemail-followup.eml", data, "follow_up", subject, "editable by project leads", ticket="MT-000005",
        comment="Apple Mail EN reply ('> On ..., ... wrote:'), References = Message-ID of 05 + ack id, 'Re: [MT-000005]'")


def main():
    m01()
    d02 = m02()
    m03(); m04(); m05(); m06(); m07(); m08(); m09(); m10()
    m11(); m12()
    add("13-duplikat-von-02.eml", d02, "duplicate",
        "How do I export the monthly timesheet to CSV?", "export the monthly timesheet", ticket="MT-000002",
        comment="exact byte copy of 02 (same Message-ID): recognised as duplicate, no second ticket, no ack")
    poison()
    m20(); m21(); m22(); m23(); m24(); m25(); m26(); m27(); m28(); m29(); m30(); m31(); m32(); m33()

    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".eml"):
            os.remove(os.path.join(OUT, f))
    lines = ["# supportd pipeline fixtures: ingest every *.eml of this directory IN FILE-NAME ORDER",
             "# into ONE fresh store (default config). Generated by tools/make_pipeline.py.",
             "#",
             "# disposition: new_ticket | follow_up | duplicate | quarantined | auto_reply | bounce",
             "# ticket:      the ticket the mail ends on (omitted when the mail creates/joins none;",
             "#              for auto_reply/bounce no ticket is created or changed, the store may still",
             "#              note which ticket's outgoing mail they answer)",
             "# category:    new_ticket only.  ack: whether an ack is queued for this mail.",
             "# subject:     decoded Subject (omitted for poison mails).",
             "# text_contains: phrase of the decoded new text of the body.",
             "# attachments: count of real attachments (omitted = 0).",
             ""]
    for file, data, meta in CASES:
        assert not os.path.exists(os.path.join(OUT, file)), file
        write(os.path.join(OUT, file), data)
        lines.append("[[case]]")
        if meta["comment"]:
            lines.append("# " + meta["comment"])
        lines.append(f"file = {toml_str(file)}")
        for k in ("disposition", "ticket", "category", "ack", "subject", "text_contains", "attachments"):
            if k in meta:
                v = meta[k]
                lines.append(f"{k} = " + ("true" if v is True else "false" if v is False else str(v) if isinstance(v, int) else toml_str(v)))
        lines.append("")
    with open(os.path.join(OUT, "expected.toml"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines))
    print(f"{len(CASES)} pipeline cases, {_ticket_no} tickets")


if __name__ == "__main__":
    main()
