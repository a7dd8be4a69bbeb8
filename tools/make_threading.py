#!/usr/bin/env python3
"""Generate fixtures/threading/NN-name/{1.eml,2.eml,...,scenario.toml}.

Each scenario folder is ingested into its OWN fresh store (default config with
`[support] secret = "fixture-secret"`), its mails in number order, each at the
processing time `at` of its [[mail]] entry. Tags are handed out per scenario
from MT-000001.

Our own Message-IDs are `mt.<TAG>.<kind>.<unique>.<mac>@roewaplan.de` with
mac = HMAC-SHA256(secret, "mt.<TAG>.<kind>.<unique>")[:8 bytes] in lowercase
hex; with the fixture secret a mail here can carry a VALID reference to an ack
supportd would send (`our_id`) or a forged one (`forged_id`).

Run from anywhere: python3 tools/make_threading.py
"""

import datetime as dt
import hashlib
import hmac
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fixturelib import *  # noqa: F401,F403
import fixturelib as L

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "threading")
SECRET = b"fixture-secret"
L.reseed(4004)

# Domains outside the configured customers (strangers) and freemail.
L.ORGS["kraus-it-beratung.de"] = ("mx01.kraus-it-beratung.de", "198.51.100.144", "postfix")
L.DKIM["kraus-it-beratung.de"] = "dkim=none"
L.ORGS["gmail.com"] = ("mail-sor-f41.google.com", "209.85.220.41", "google")
L.DKIM["gmail.com"] = "dkim=pass header.d=gmail.com header.s=20230601 header.b="

# ------------------------------------------------------------------ people
KN = ("Karin Neumann", "kunde@stadtwerke-musterstadt.de")
MK = ("Markus Keller", "m.keller@stadtwerke-musterstadt.de")
JH = ("Hoffmann, Jens", "it@stadtwerke-musterstadt.de")
LF = ("Lena Fischer", "l.fischer@stadtwerke-musterstadt.de")
SY = ("Selin Yilmaz", "s.yilmaz@lk-beispielhausen.de")
TW = ("Thomas Wagner", "t.wagner@lk-beispielhausen.de")
BR = ("Birgit Roth", "b.roth@lk-beispielhausen.de")
JW = ("Jane Whitfield", "jane@harbour-analytics.co.uk")
TB = ("Tom Baker", "tom.baker@harbour-analytics.co.uk")
LE = ("Lars Eriksson", "lars.eriksson@harbour-analytics.co.uk")
AV = ("Aino Virtanen", "aino.virtanen@harbour-analytics.co.uk")
PV = ("Pieter de Vries", "pieter.devries@harbour-analytics.co.uk")
ANNA = ("Anna Berg", "anna@roewaplan.de")
KRAUS = ("Stefan Kraus", "s.kraus@kraus-it-beratung.de")
GM1 = ("Michael Brandt", "michael.brandt79@gmail.com")
GM2 = ("Daniel Vogt", "dvogt.privat@gmail.com")

SWM_RDNS = "pc-nb-0417.intern.stadtwerke-musterstadt.de"
LK = dict(client_ip="10.3.12.54", client_rdns="ws-it-054.verwaltung.lk-beispielhausen.de")


# ------------------------------------------------------------------ ids

def mac(body):
    return hmac.new(SECRET, body.encode(), hashlib.sha256).digest()[:8].hex()


def our_id(tag, kind="ack"):
    """A valid Message-ID of a mail supportd sent (with the fixture secret)."""
    body = f"mt.{tag}.{kind}.{L.hexs(12)}"
    return f"<{body}.{mac(body)}@roewaplan.de>"


def forged_id(tag, kind="ack", how="zeros"):
    """Shaped like ours, wrong mac."""
    body = f"mt.{tag}.{kind}.{L.hexs(12)}"
    if how == "zeros":
        m = "0000000000000000"
    else:  # a mac computed with another secret
        m = hmac.new(b"geraten-123", body.encode(), hashlib.sha256).digest()[:8].hex()
    return f"<{body}.{m}@roewaplan.de>"


def msgid_of(data):
    for line in data.decode("utf-8", "replace").split("\r\n"):
        if line.lower().startswith("message-id:"):
            return line.split(":", 1)[1].strip()
    raise ValueError("no Message-ID")


# ------------------------------------------------------------------ clients not in fixturelib

def exchange(who, subject, d, plain, in_reply_to=None, references=None, extra=(), to=None,
             client_rdns="EXCH01.intern.stadtwerke-musterstadt.de", client_ip="10.20.1.15", lang="de-DE"):
    """Outlook on an on-premises Exchange 2019 (Thread-Topic, X-MS-* headers), relayed by the org's Postfix."""
    name, addr = who
    dom = addr.split("@")[1]
    env = envelope(addr, d, client_ip=client_ip, client_rdns=client_rdns)
    host = client_rdns.split(".")[0]
    mid = f"<{L.hexs(32)}@{host}.{'.'.join(client_rdns.split('.')[1:])}>"
    disp = f'"{name}" <{addr}>' if "," in name else f"{name} <{addr}>"
    topic = subject
    for p in ("AW: ", "WG: ", "RE: ", "FW: ", "Re: ", "Aw: "):
        while topic.startswith(p):
            topic = topic[len(p):]
    subj = enc_q(subject, "iso-8859-1") if needs_encoding(subject) else subject
    topic_h = enc_q(topic, "iso-8859-1") if needs_encoding(topic) else topic
    h = [f"From: {disp}", f"To: {to or SUPPORT_FROM}", *[e for e in extra if e.startswith("Cc:")],
         f"Subject: {subj}", f"Thread-Topic: {topic_h}", f"Thread-Index: {L.thread_index()}",
         f"Date: {date(d)}", f"Message-ID: {mid}"]
    if references or in_reply_to:
        h.append(f"References: {references or in_reply_to}")
    if in_reply_to:
        h.append(f"In-Reply-To: {in_reply_to}")
    h += [f"Accept-Language: {lang}, en-US", f"Content-Language: {lang}", "X-MS-Has-Attach:",
          "X-MS-TNEF-Correlator:", *[e for e in extra if not e.startswith("Cc:")], "MIME-Version: 1.0"]
    b = f"_000_{L.hexs(32)}{host}_"
    html = html_outlook(plain, lang[:2].upper())
    body = multipart(b, [text_part(plain, "iso-8859-1"), html_part(html, "utf-8")], preamble=None)
    return finish(env + "\n" + mail(h, f'multipart/alternative;\n\tboundary="{b}"', body))


# ------------------------------------------------------------------ scenarios

SCENARIOS = []


class Scenario:
    def __init__(self, name, description):
        self.name, self.description, self.mails = name, description, []
        SCENARIOS.append(self)

    def add(self, data, at, disposition, note, ticket=None, linked_to=None, status_after=None, answered=None):
        if answered is None:
            answered = disposition == "new_ticket"
        self.mails.append(dict(data=data, at=at, disposition=disposition, note=note, ticket=ticket,
                               linked_to=linked_to, status_after=status_after, answered=answered))
        return msgid_of(data)


def t(day, hh, mm, ss=0, tz=CET, month=11):
    return dt.datetime(2026, month, day, hh, mm, ss, tzinfo=tz)


def at(d, minutes=2):
    """Processing time: a little after the client's Date, as UTC ISO."""
    return (d + dt.timedelta(minutes=minutes)).astimezone(GMT).strftime("%Y-%m-%dT%H:%M:%SZ")


SIG_KN = "Mit freundlichen Grüßen\n\nKarin Neumann\nKundenservice / Anwendungsbetreuung\nStadtwerke Musterstadt GmbH\nTel. 01234 5678-210"
SIG_SY = "Mit freundlichen Grüßen\nSelin Yilmaz\n\n-- \nSelin Yilmaz\nLandkreis Beispielhausen\nFachbereich 1 - Zentrale Dienste, IT-Koordination\nTelefon 05432 100-412"
SIG_JW = "Thanks,\nJane\n\n--\nJane Whitfield\nOperations Manager | Harbour Analytics Ltd\n+44 20 7946 0321"
ACK_DE = "[{tag}] Ihre Anfrage ist eingegangen: {s}"
ACK_EN = "[{tag}] We have received your request: {s}"

T1, T2, T3 = "MT-000001", "MT-000002", "MT-000003"


def s01():
    sc = Scenario("01-in-reply-to-eigene-erstmail",
                  "Outlook replies to the customer's OWN first mail (AW: without tag, In-Reply-To = first mail) join the ticket")
    d = t(24, 9, 12)
    subj = "Dienstplan Dezember lässt sich nicht speichern"
    m1 = sc.add(build("outlook", KN, subj, d, f"Guten Morgen,\n\nbeim Speichern des Dienstplans für Dezember (Abteilung Netzbetrieb) erscheint die Meldung \"Speichern fehlgeschlagen: Konflikt\". Der Plan bleibt danach leer.\n\n{SIG_KN}\n", client_rdns=SWM_RDNS),
                at(d), "new_ticket", "Outlook 16, first mail", ticket=T1, status_after="new")
    d = t(24, 9, 31)
    m2 = sc.add(build("outlook", KN, "AW: " + subj, d, f"Nachtrag: Es betrifft nur Pläne mit Bereitschaftsdiensten, normale Schichten lassen sich speichern.\n\n{SIG_KN}\n\nVon: Karin Neumann\nGesendet: Dienstag, 24. November 2026 09:12\nAn: MEIN TEAM Support <mein-team-support@roewaplan.de>\nBetreff: {subj}\n\nGuten Morgen,\n\nbeim Speichern des Dienstplans für Dezember erscheint die Meldung \"Speichern fehlgeschlagen: Konflikt\".\n",
                      in_reply_to=m1, client_rdns=SWM_RDNS),
                at(d), "follow_up", "AW: on her own first mail, no tag; In-Reply-To + References = mail 1", ticket=T1)
    d = t(24, 10, 5)
    sc.add(build("outlook", KN, "AW: " + subj, d, f"Noch eine Beobachtung: nach einem Neuladen der Seite (F5) klappt das Speichern einmal, danach wieder nicht.\n\n{SIG_KN}\n",
                 in_reply_to=m2, references=f"{m1} {m2}", client_rdns=SWM_RDNS),
           at(d), "follow_up", "second Nachtrag: In-Reply-To = mail 2, References = mail 1 + mail 2", ticket=T1)


def s02():
    sc = Scenario("02-references-ohne-in-reply-to",
                  "HCL Notes replies without In-Reply-To, threaded by References alone")
    d = t(24, 8, 40)
    subj = "Fehler beim Import der Personalstammdaten"
    m1 = sc.add(build("notes", SY, subj, d, f"Sehr geehrte Damen und Herren,\n\nder nächtliche Import der Personalstammdaten aus unserem HR-System bricht seit gestern mit \"Zeile 418: ungültiges Datum\" ab. Die Datei liegt unverändert auf dem SFTP-Server.\n\n{SIG_SY}\n", **LK),
                at(d), "new_ticket", "HCL Notes 12, first mail", ticket=T1)
    d = t(24, 9, 15)
    m2 = sc.add(build("notes", SY, "Antwort: " + subj, d, f"Ergänzung: Zeile 418 enthält das Eintrittsdatum 29.02.2027, das ist tatsächlich ungültig. Trotzdem sollte der Import nicht komplett abbrechen, oder?\n\n{SIG_SY}\n",
                      references=m1, **LK),
                at(d), "follow_up", "'Antwort:' without tag; References = mail 1, NO In-Reply-To", ticket=T1)
    d = t(24, 11, 2)
    sc.add(build("notes", TW, "Antwort: Antwort: " + subj, d, "Guten Tag,\n\nich bin der Vertreter von Frau Yilmaz. Wir haben den Datensatz korrigiert; bitte teilen Sie uns mit, ob der Import heute Nacht wieder laufen sollte.\n\nMit freundlichen Grüßen\nThomas Wagner\nLandkreis Beispielhausen\n",
                 references=f"{m1} {m2} <OF3C1A2B4D.77E0A1F2-ONC1258C2E.0041A7B3@lk-beispielhausen.de>", client_ip="10.3.12.61", client_rdns="ws-it-061.verwaltung.lk-beispielhausen.de"),
           at(d), "follow_up", "colleague, References = mail 1, mail 2 and an internal Notes id we never saw (newest); no In-Reply-To", ticket=T1)


def s03():
    sc = Scenario("03-gueltige-ack-referenz",
                  "replies that reference our ack (valid mac) join the ticket even with a changed subject and no tag")
    d = t(24, 8, 47, tz=GMT)
    subj = "Timesheet totals wrong after daylight saving change"
    sc.add(build("gmail", JW, subj, d, f"Hi MEIN TEAM support,\n\nsince the clocks went back, night shifts crossing 02:00 on 25 October show one hour less in the monthly timesheet totals.\n\n{SIG_JW}\n"),
           at(d), "new_ticket", "Gmail web, first mail", ticket=T1)
    ack = our_id(T1)
    d = t(24, 9, 20, tz=GMT)
    sc.add(build("gmail", JW, "Further details on the timesheet problem", d, f"Hi,\n\nit affects all employees with shift pattern N3 - see e.g. Tom Baker, 24/25 Oct.\n\n{SIG_JW}\n",
                 in_reply_to=ack),
           at(d), "follow_up", f"Gmail reply to the ack {ack} with a NEW subject (no tag)", ticket=T1)
    d = t(24, 10, 2, tz=GMT)
    sc.add(build("apple", TB, "Night shift hours", d, "Hello,\n\nJane asked me to add: the hours are correct in the daily view, only the monthly total is off.\n\nBest,\nTom\n",
                 in_reply_to=ack, references=f"{ack}", client_ip="192.0.2.61", client_rdns="macbook-tb.harbour-analytics.co.uk"),
           at(d), "follow_up", "colleague (Apple Mail) answering the same ack, other subject, no tag", ticket=T1)


def s04():
    sc = Scenario("04-betreff-tag-deutsche-praefixe",
                  "subject tag alone (no threading headers) behind AW:, Aw:, RE:, WG:, and a chain AW: WG: Re:")
    d = t(24, 8, 5)
    subj = "Urlaubsanträge werden nicht an Vorgesetzte weitergeleitet"
    sc.add(build("outlook", KN, subj, d, f"Hallo,\n\nseit dem Update am Wochenende erhalten die Vorgesetzten keine Benachrichtigung mehr, wenn ein Urlaubsantrag gestellt wird.\n\n{SIG_KN}\n", client_rdns=SWM_RDNS),
           at(d), "new_ticket", "Outlook, first mail", ticket=T1)
    ack_subj = ACK_DE.format(tag=T1, s=subj)
    cases = [
        ("outlook", KN, "AW: ", "Die Anträge erscheinen aber in der Übersicht der Vorgesetzten.", "Outlook 'AW:' (webmail reply lost the threading headers)"),
        ("thunderbird", MK, "Aw: ", "Bei mir (Vorgesetzter Netzbetrieb) ist seit Freitag keine Benachrichtigung angekommen.\n\nMarkus Keller", "Thunderbird with German locale writes 'Aw:'"),
        ("outlook", KN, "RE: ", "Kleine Korrektur: es betrifft auch Sonderurlaub.", "'RE:' (Outlook with English UI)"),
        ("outlook", LF, "WG: ", "Hallo Support,\n\nich leite Ihnen die Rückmeldung aus der Personalabteilung weiter: auch dort kommen keine Mails an.\n\nLena Fischer", "Outlook forward 'WG:' of the ack from a colleague"),
        ("outlook", KN, "AW: WG: Re: ", "Wir haben intern nachgesehen, im Spam-Ordner liegen die Benachrichtigungen auch nicht.", "chain 'AW: WG: Re:'"),
    ]
    for i, (client, who, pre, text, note) in enumerate(cases):
        d = t(24, 9 + i, 10 + 3 * i)
        sc.add(build(client, who, pre + ack_subj, d, text + "\n", client_rdns=SWM_RDNS if client == "outlook" else None),
               at(d), "follow_up", note, ticket=T1)


def s05():
    sc = Scenario("05-betreff-tag-englische-praefixe",
                  "subject tag alone behind Re:, Fwd:, FW:, RE[2]: from English clients")
    d = t(24, 10, 14, tz=GMT)
    subj = "Shift swap requests stuck in pending"
    sc.add(build("gmail", JW, subj, d, f"Hi,\n\nshift swap requests submitted since Monday stay in \"pending\" even after the manager approved them.\n\n{SIG_JW}\n"),
           at(d), "new_ticket", "Gmail, first mail", ticket=T1)
    ack_subj = ACK_EN.format(tag=T1, s=subj)
    cases = [
        ("gmail", JW, "Re: ", "It also happens for swaps approved on the mobile app.", "Gmail 'Re:' without In-Reply-To (written from the mobile web view)"),
        ("gmail", JW, "Fwd: ", "---------- Forwarded message ---------\nFrom: Tom Baker <tom.baker@harbour-analytics.co.uk>\nDate: Tue, 24 Nov 2026 at 11:02\nSubject: swap stuck\n\nJane, my swap with Lisa for Friday is still pending.", "Gmail forward 'Fwd:' of an internal mail, tag kept in the subject"),
        ("outlook-en", TB, "FW: ", "Forwarding our manager's note: she approved the swap at 10:40.\n\nTom", "Outlook (en-GB) forward 'FW:'"),
        ("outlook-en", TB, "RE[2]: ", "Any news? Friday is getting close.\n\nTom", "'RE[2]:' counted prefix"),
    ]
    for i, (client, who, pre, text, note) in enumerate(cases):
        d = t(24, 11 + i, 3 + 7 * i, tz=GMT)
        sc.add(build(client, who, pre + ack_subj, d, text + "\n", client_ip="192.0.2.61", client_rdns="DESKTOP-7QK2T1M"),
               at(d), "follow_up", note, ticket=T1)


def s06():
    sc = Scenario("06-betreff-tag-nordisch-niederlaendisch",
                  "colleagues of the customer with Swedish (SV:), Finnish (VS:) and Dutch (Antw:) Outlook join via the tag")
    d = t(25, 9, 0, tz=GMT)
    subj = "Report export times out for large teams"
    sc.add(build("outlook-en", JW, subj, d, f"Hello,\n\nexporting the quarterly absence report for the whole company (about 320 people) times out after 60 seconds.\n\n{SIG_JW}\n", client_ip="192.0.2.40", client_rdns="DESKTOP-J7W2Q1"),
           at(d), "new_ticket", "Outlook en-GB, first mail", ticket=T1)
    ack_subj = ACK_EN.format(tag=T1, s=subj)
    cases = [
        (LE, "SV: ", "Hi, the same happens for the Stockholm office report (45 people), so size may not be the only reason.\n\nLars", "Swedish Outlook 'SV:'"),
        (AV, "VS: ", "Hello, in Helsinki the export works if we select one month only.\n\nAino", "Finnish Outlook 'VS:'"),
        (PV, "Antw: ", "Hi, from Rotterdam: export of 2 months works, 3 months times out.\n\nPieter", "Dutch Outlook 'Antw:'"),
        (LE, "SV: SV: ", "Tried again today, still failing.\n\nLars", "'SV: SV:' chain"),
    ]
    for i, (who, pre, text, note) in enumerate(cases):
        d = t(25, 10 + i, 15, tz=GMT)
        sc.add(build("outlook-en", who, pre + ack_subj, d, text + "\n", client_ip=f"192.0.2.{70 + i}", client_rdns=f"LAPTOP-{L.hexs(6, True)}"),
               at(d), "follow_up", note, ticket=T1)


def s07():
    sc = Scenario("07-tag-ohne-klammern",
                  "ticket number without brackets in a subject the customer typed (HCL Notes)")
    d = t(25, 8, 30)
    subj = "Zeiterfassung: Stempelungen vom Terminal fehlen"
    sc.add(build("notes", SY, subj, d, f"Sehr geehrte Damen und Herren,\n\ndie Stempelungen vom Terminal im Gebäude B fehlen seit dem 23.11. in MEIN TEAM.\n\n{SIG_SY}\n", **LK),
           at(d), "new_ticket", "HCL Notes, first mail", ticket=T1)
    d = t(25, 13, 45)
    sc.add(build("notes", SY, "Ticket MT-000001 - Stempelungen Gebäude B", d, f"Guten Tag,\n\nzu unserem Ticket MT-000001: das Terminal zeigt \"Verbindung OK\" an.\n\n{SIG_SY}\n", **LK),
           at(d), "follow_up", "new mail, tag typed without brackets", ticket=T1)
    d = t(26, 8, 10)
    sc.add(build("notes", BR, "Antw: MT-000001 Stempelungen", d, "Guten Morgen,\n\nheute früh fehlen die Stempelungen wieder (Gebäude B, ca. 40 Personen).\n\nBirgit Roth\nPersonalabteilung\n", client_ip="10.3.14.20", client_rdns="ws-pa-020.verwaltung.lk-beispielhausen.de"),
           at(d), "follow_up", "colleague, 'Antw:' + bare tag", ticket=T1)


def s08():
    sc = Scenario("08-antwort-vor-original",
                  "the customer's Nachtrag (reply to her first mail) is read BEFORE the first mail; both end on one ticket")
    d_orig = t(24, 8, 55)
    subj = "Schichtzulagen werden doppelt berechnet"
    orig = build("thunderbird", KN, subj, d_orig, f"Hallo,\n\nim Lohnexport November werden die Nachtzulagen für das Bereitschaftsteam doppelt ausgewiesen.\n\n{SIG_KN}\n",
                 client_rdns=SWM_RDNS)
    mid = msgid_of(orig)
    d = t(24, 9, 4)
    sc.add(build("thunderbird", KN, "Re: " + subj, d, f"Nachtrag: Betroffen sind nur Mitarbeitende mit Teilzeitvertrag.\n\n{SIG_KN}\n\nAm 24.11.26 um 08:55 schrieb Karin Neumann:\n> Hallo,\n>\n> im Lohnexport November werden die Nachtzulagen doppelt ausgewiesen.\n",
                 in_reply_to=mid, client_rdns=SWM_RDNS),
           at(d), "new_ticket", f"Thunderbird reply to {mid}, which supportd has not seen yet (first mail held in the greylist)", ticket=T1)
    sc.add(orig, at(d_orig, 52), "follow_up", "the first mail, released late; no references of its own: the reply read earlier points at it", ticket=T1)
    d = t(24, 10, 30)
    sc.add(build("thunderbird", KN, "Re: " + ACK_DE.format(tag=T1, s="Re: " + subj), d, f"Danke für die schnelle Eingangsbestätigung. Die Lohnabrechnung läuft am 27.11., bis dahin bräuchten wir eine Lösung.\n\n{SIG_KN}\n",
                 in_reply_to=our_id(T1), client_rdns=SWM_RDNS),
           at(d), "follow_up", "reply to the ack (valid reference + tag)", ticket=T1)


def s09():
    sc = Scenario("09-kollegen-via-tag",
                  "colleagues of the same customer (same domain, other address) join via the tag")
    d = t(24, 13, 20)
    subj = "Benutzer können keine Dokumente hochladen"
    sc.add(build("outlook", KN, subj, d, f"Hallo,\n\nbeim Hochladen von PDF-Dokumenten in die Personalakte erscheint \"Upload fehlgeschlagen (413)\".\n\n{SIG_KN}\n", client_rdns=SWM_RDNS),
           at(d), "new_ticket", "Outlook, first mail", ticket=T1)
    ack_subj = ACK_DE.format(tag=T1, s=subj)
    d = t(24, 13, 55)
    sc.add(build("apple", MK, "WG: " + ack_subj, d, "Hallo Support,\n\nFrau Neumann hat mir Ihre Bestätigung weitergeleitet. Bei mir tritt der Fehler ab ca. 10 MB auf.\n\nGruß\nMarkus Keller\n",
                 client_ip="10.20.4.33", client_rdns="mbp-mkeller.intern.stadtwerke-musterstadt.de"),
           at(d), "follow_up", "colleague (Apple Mail), 'WG:' of the forwarded ack, no references", ticket=T1)
    d = t(24, 14, 40)
    sc.add(exchange(JH, "AW: " + ack_subj, d, "Guten Tag,\n\nvon unserer Seite (Reverse Proxy) ist das Limit 50 MB, daran liegt es nicht.\n\nMit freundlichen Grüßen\nJens Hoffmann\nIT-Betrieb\n",
                    in_reply_to=f"<{L.hexs(32)}@EXCH01.intern.stadtwerke-musterstadt.de>"),
           at(d), "follow_up", "colleague (Exchange), 'AW:' answering an INTERNAL mail (unknown In-Reply-To) with the tag kept", ticket=T1)
    d = t(24, 15, 5)
    sc.add(build("outlook", KN, "AW: " + ack_subj, d, f"Danke, Herr Hoffmann. Können Sie das Limit auf Ihrer Seite prüfen?\n\n{SIG_KN}\n", client_rdns=SWM_RDNS,
                 in_reply_to=our_id(T1)),
           at(d), "follow_up", "requester again, valid ack reference", ticket=T1)


def s10():
    sc = Scenario("10-hijack-anderer-kunde",
                  "a user of ANOTHER customer with the tag of a Stadtwerke ticket gets a new ticket linked to it")
    d = t(24, 9, 30)
    subj = "Login nicht möglich"
    sc.add(build("outlook", KN, subj, d, f"Hallo,\n\nseit heute Morgen können sich mehrere Kollegen nicht anmelden: \"Anmeldung fehlgeschlagen (Code 401)\".\n\n{SIG_KN}\n", client_rdns=SWM_RDNS),
           at(d), "new_ticket", "Outlook, first mail (Stadtwerke)", ticket=T1)
    d = t(24, 10, 2, tz=GMT)
    sc.add(build("gmail", JW, "Re: " + ACK_DE.format(tag=T1, s=subj), d, f"Hi,\n\nwe have the same login problem (code 401) since this morning - can you add us to this ticket?\n\n{SIG_JW}\n"),
           at(d), "new_ticket", "Harbour Analytics (other customer) with the Stadtwerke tag: not joined, own ticket, linked", ticket=T2, linked_to=T1)
    d = t(24, 11, 10)
    sc.add(build("outlook", KN, "AW: " + ACK_DE.format(tag=T1, s=subj), d, f"Nachtrag: betroffen sind alle Benutzer mit SSO-Anmeldung.\n\n{SIG_KN}\n", client_rdns=SWM_RDNS),
           at(d), "follow_up", "the real requester still joins her ticket", ticket=T1)
    d = t(24, 11, 30, tz=GMT)
    ack2 = our_id(T2)
    sc.add(build("gmail", JW, "Re: " + ACK_EN.format(tag=T2, s="Re: " + ACK_DE.format(tag=T1, s=subj)), d, f"Thanks. It is all SSO users for us too.\n\n{SIG_JW}\n",
                 in_reply_to=ack2),
           at(d), "follow_up", "Jane answers HER ack: both tags in the subject, the first (MT-000002) and the reference win", ticket=T2)


def s11():
    sc = Scenario("11-hijack-unbekannte-domain",
                  "an outsider (unknown domain) with a customer's tag gets a new ticket linked to it")
    d = t(24, 8, 20)
    subj = "Schnittstelle zum Finanzverfahren liefert Fehler 500"
    sc.add(build("notes", SY, subj, d, f"Sehr geehrte Damen und Herren,\n\nder Export der Buchungssätze an das Finanzverfahren bricht mit HTTP 500 ab.\n\n{SIG_SY}\n", **LK),
           at(d), "new_ticket", "HCL Notes, first mail (Landkreis)", ticket=T1)
    d = t(24, 12, 5)
    sc.add(build("thunderbird", KRAUS, "AW: " + ACK_DE.format(tag=T1, s=subj), d, "Hallo,\n\nich betreue als externer Dienstleister das Finanzverfahren des Landkreises. Bitte schicken Sie mir die Logdateien zu diesem Ticket.\n\nStefan Kraus\nKraus IT-Beratung\n",
                 client_ip="198.51.100.150", client_rdns="nb-kraus.kraus-it-beratung.de"),
           at(d), "new_ticket", "unknown domain with the Landkreis tag: not joined, own ticket, linked", ticket=T2, linked_to=T1)
    d = t(24, 14, 15)
    sc.add(build("notes", SY, "Antwort: " + ACK_DE.format(tag=T1, s=subj), d, f"Guten Tag,\n\nder Fehler tritt nur bei Sammelbuchungen auf.\n\n{SIG_SY}\n", **LK),
           at(d), "follow_up", "the requester joins as before", ticket=T1)


def s12():
    sc = Scenario("12-freemail-fremder",
                  "two unrelated private Gmail users: sharing gmail.com does not make them one organisation")
    d = t(24, 19, 12)
    subj = "Passwort zurücksetzen funktioniert nicht"
    sc.add(build("gmail", GM1, subj, d, "Hallo,\n\nich bin Übungsleiter beim Sportverein und nutze MEIN TEAM für die Hallenbelegung. Der Link \"Passwort vergessen\" schickt mir keine Mail.\n\nGruß\nMichael Brandt\n"),
           at(d), "new_ticket", "private Gmail address, no configured customer", ticket=T1)
    d = t(24, 21, 40)
    sc.add(build("gmail", GM2, "Re: " + ACK_DE.format(tag=T1, s=subj), d, "Hallo,\n\nich habe diese Mail von Herrn Brandt weitergeleitet bekommen. Können Sie mir bitte auch einen Zugang freischalten?\n\nDaniel Vogt\n"),
           at(d), "new_ticket", "another private Gmail user with that tag: a stranger, not a colleague", ticket=T2, linked_to=T1)
    d = t(25, 7, 30)
    sc.add(build("gmail", GM1, "Re: " + ACK_DE.format(tag=T1, s=subj), d, "Die Mail ist jetzt doch angekommen, sie lag im Spam-Ordner. Trotzdem danke.\n\nMichael Brandt\n",
                 in_reply_to=our_id(T1)),
           at(d), "follow_up", "the requester answers his ack", ticket=T1)


def s13():
    sc = Scenario("13-gefaelschte-referenz",
                  "In-Reply-To shaped like our Message-ID but with a wrong mac does not join")
    d = t(24, 9, 45)
    subj = "Stundenkonto zeigt falsche Überstunden"
    sc.add(build("outlook", KN, subj, d, f"Hallo,\n\nim Stundenkonto von Herrn Keller werden 312 Überstunden angezeigt, richtig wären 31,2.\n\n{SIG_KN}\n", client_rdns=SWM_RDNS),
           at(d), "new_ticket", "Outlook, first mail", ticket=T1)
    f1 = forged_id(T1)
    d = t(24, 11, 0)
    sc.add(build("thunderbird", KRAUS, "Re: Ihre Anfrage", d, "Hallo,\n\nbitte senden Sie mir den aktuellen Stand.\n\nStefan Kraus\n",
                 in_reply_to=f1, client_ip="198.51.100.150", client_rdns="nb-kraus.kraus-it-beratung.de"),
           at(d), "new_ticket", f"outsider, In-Reply-To {f1} (mac all zeros), no tag: a new ticket, no link", ticket=T2)
    f2 = forged_id(T1, how="other-secret")
    d = t(24, 11, 20, tz=GMT)
    sc.add(build("gmail", JW, "Re: Status", d, f"Hi, what's the status here?\n\n{SIG_JW}\n", in_reply_to=f2, references=f2),
           at(d), "new_ticket", f"other customer, In-Reply-To {f2} (mac made with another secret), no tag", ticket=T3)
    d = t(24, 12, 5)
    sc.add(build("outlook", KN, "AW: Ihre Anfrage ist eingegangen", d, f"Nachtrag: auch bei Frau Fischer stimmt das Komma nicht.\n\n{SIG_KN}\n",
                 in_reply_to=our_id(T1), client_rdns=SWM_RDNS),
           at(d), "follow_up", "requester with a VALID ack reference (subject without tag) joins", ticket=T1)


def close_mail(tag, subj, d):
    return build("outlook", ANNA, "AW: " + f"[{tag}] " + subj, d, "#close\n",
                 in_reply_to=our_id(tag, "notify_agents"), client_ip="10.1.2.15", client_rdns="nb-aberg.roewaplan.de")


def s14():
    sc = Scenario("14-geschlossen-antwort-oeffnet",
                  "a real reply within reopen_days reopens a closed ticket")
    d = t(24, 10, 0)
    subj = "Monatsabschluss lässt sich nicht freigeben"
    sc.add(build("notes", SY, subj, d, f"Guten Tag,\n\nder Button \"Monatsabschluss freigeben\" ist für Oktober ausgegraut, obwohl alle Zeiten bestätigt sind.\n\n{SIG_SY}\n", **LK),
           at(d), "new_ticket", "HCL Notes, first mail", ticket=T1, status_after="new")
    d = t(25, 14, 30)
    sc.add(close_mail(T1, subj, d), at(d), "agent_command", "agent closes by mail (#close)", ticket=T1, status_after="closed")
    d = t(30, 9, 5)
    sc.add(build("notes", SY, "Antwort: " + ACK_DE.format(tag=T1, s=subj), d, f"Guten Tag,\n\nleider ist der Button für November wieder ausgegraut. Können Sie bitte noch einmal nachsehen?\n\n{SIG_SY}\n", **LK),
           at(d), "follow_up", "5 days after closing, a new problem description: reopened (and told so)", ticket=T1, status_after="open",
           answered=True)
    d = t(30, 15, 0)
    sc.add(close_mail(T1, subj, d), at(d), "agent_command", "closed again", ticket=T1, status_after="closed")


def s15():
    sc = Scenario("15-geschlossen-nur-danke",
                  "'Danke, hat geklappt!' alone leaves a closed ticket closed; a real question afterwards reopens it")
    d = t(24, 10, 20)
    subj = "Neue Mitarbeiterin kann sich nicht anmelden"
    sc.add(build("thunderbird", KN, subj, d, f"Hallo,\n\nunsere neue Kollegin Frau Albers (Benutzer s.albers) kann sich seit heute früh nicht anmelden.\n\n{SIG_KN}\n", client_rdns=SWM_RDNS),
           at(d), "new_ticket", "Thunderbird, first mail", ticket=T1)
    d = t(24, 15, 45)
    sc.add(close_mail(T1, subj, d), at(d), "agent_command", "agent closes by mail (#close)", ticket=T1, status_after="closed")
    d = t(25, 8, 3)
    sc.add(build("thunderbird", KN, "Re: " + ACK_DE.format(tag=T1, s=subj), d, "Danke, hat geklappt!\n",
                 in_reply_to=our_id(T1, "status"), client_rdns=SWM_RDNS),
           at(d), "follow_up", "thanks only: stays closed, nobody answered", ticket=T1, status_after="closed")
    d = t(26, 11, 12)
    sc.add(build("thunderbird", KN, "Re: " + ACK_DE.format(tag=T1, s=subj), d, f"Hallo nochmal,\n\neine Frage noch: Frau Albers sieht im Dienstplan die Abteilung Netzbetrieb nicht. Muss ihr dafür eine Rolle zugewiesen werden?\n\n{SIG_KN}\n",
                 in_reply_to=our_id(T1, "status"), client_rdns=SWM_RDNS),
           at(d), "follow_up", "two days later a real question: reopened (and told so)", ticket=T1, status_after="open",
           answered=True)


def s16():
    sc = Scenario("16-geschlossen-nach-30-tagen",
                  "a reply 30+ days after closing opens a new ticket linked to the old one")
    d = t(24, 9, 0, tz=GMT)
    subj = "Holiday calendar for Scotland missing"
    sc.add(build("gmail", JW, subj, d, f"Hi,\n\nour Edinburgh team does not get St Andrew's Day (30 Nov) as a public holiday in the calendar.\n\n{SIG_JW}\n"),
           at(d), "new_ticket", "Gmail, first mail", ticket=T1)
    d = t(26, 16, 0)
    sc.add(close_mail(T1, subj, d), at(d), "agent_command", "agent closes by mail (#close) on 26 Nov", ticket=T1, status_after="closed")
    d = t(28, 9, 14, tz=GMT, month=12)
    ack = our_id(T1)
    sc.add(build("gmail", JW, "Re: " + ACK_EN.format(tag=T1, s=subj), d, f"Hi again,\n\nthe same happens now for Boxing Day being a Saturday - the substitute holiday on 28 Dec is missing.\n\n{SIG_JW}\n",
                 in_reply_to=ack),
           at(d), "new_ticket", "32 days after closing: new ticket linked to the old one (status of the old one unchanged)", ticket=T2, linked_to=T1)
    d = t(28, 10, 2, tz=GMT, month=12)
    sc.add(build("gmail", JW, "Re: " + ACK_EN.format(tag=T2, s="Re: " + ACK_EN.format(tag=T1, s=subj)), d, f"It also affects 1 Jan 2027? Please check.\n\n{SIG_JW}\n",
                 in_reply_to=our_id(T2)),
           at(d), "follow_up", "reply to the NEW ticket's ack joins the new ticket", ticket=T2)


def s17():
    sc = Scenario("17-abwesenheit-auf-ack",
                  "out-of-office replies to our ack are auto_reply: no ticket change, no answer")
    d = t(24, 9, 50)
    subj = "Export der Arbeitszeitkonten bricht ab"
    sc.add(build("outlook", KN, subj, d, f"Hallo,\n\nder Export der Arbeitszeitkonten nach Excel bricht bei 80 % ab.\n\n{SIG_KN}\n", client_rdns=SWM_RDNS,
                 extra=[f"Cc: {MK[0]} <{MK[1]}>"]),
           at(d), "new_ticket", "Outlook, first mail, Cc Markus Keller (gets the ack too)", ticket=T1)
    ack = our_id(T1)
    ack_subj = ACK_DE.format(tag=T1, s=subj)
    d = t(24, 9, 53)
    sc.add(exchange(MK, "Automatische Antwort: " + ack_subj, d, "Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich 04.12.2026 nicht im Büro. In dringenden Fällen wenden Sie sich bitte an it@stadtwerke-musterstadt.de.\n\nMarkus Keller\n",
                    in_reply_to=ack, extra=["Auto-Submitted: auto-generated", "X-Auto-Response-Suppress: All",
                                            "X-MS-Exchange-Inbox-Rules-Loop: m.keller@stadtwerke-musterstadt.de"]),
           at(d), "auto_reply", "Exchange OOF of the Cc'd colleague: Auto-Submitted + X-Auto-Response-Suppress")
    d = t(24, 9, 54)
    data = build("thunderbird", KN, "Abwesend: " + ack_subj, d, "Ich bin heute ab 10 Uhr in einer Schulung und ab morgen wieder erreichbar.\n\nKarin Neumann\n",
                 in_reply_to=ack, extra=["Auto-Submitted: auto-replied (vacation)", "Precedence: bulk"],
                 client_rdns=SWM_RDNS, envelope_kw={"return_path": ""})
    sc.add(data, at(d), "auto_reply", "Sieve vacation of the requester (Return-Path <>, Auto-Submitted: auto-replied)")
    d = t(25, 8, 20)
    sc.add(build("outlook", KN, "AW: " + ack_subj, d, f"Guten Morgen,\n\nnach der Schulung: der Abbruch passiert nur bei Zeiträumen über sechs Monate.\n\n{SIG_KN}\n",
                 in_reply_to=ack, client_rdns=SWM_RDNS),
           at(d), "follow_up", "the requester's real reply afterwards", ticket=T1)


def s18():
    sc = Scenario("18-bounce-auf-ack",
                  "bounces of our ack (DSN and Exchange NDR) are recorded on the ack's ticket, never answered")
    d = t(24, 11, 5)
    subj = "Abwesenheitskalender zeigt falsche Feiertage"
    sc.add(build("notes", SY, subj, d, f"Guten Tag,\n\nim Abwesenheitskalender fehlt der Reformationstag nicht, obwohl er bei uns kein Feiertag ist.\n\n{SIG_SY}\n", **LK,
                 extra=["Cc: c.weber@lk-beispielhausen.de, d.braun@lk-beispielhausen.de"]),
           at(d), "new_ticket", "HCL Notes, Cc two former colleagues", ticket=T1)
    ack = our_id(T1)
    when = t(24, 11, 8)
    orig = f"""Return-Path: <{SUPPORT}>
Received: from mx.roewaplan.de (mx.roewaplan.de [192.0.2.10])
	by mail.lk-beispielhausen.de (Postfix) with ESMTPS id {L.postfix_id()}
	for <c.weber@lk-beispielhausen.de>; {rdate(when + dt.timedelta(seconds=3))}
From: {SUPPORT_FROM}
To: {SY[0]} <{SY[1]}>
Cc: c.weber@lk-beispielhausen.de, d.braun@lk-beispielhausen.de
Subject: {enc_q(ACK_DE.format(tag=T1, s=subj), 'utf-8')}
Date: {date(when)}
Message-ID: {ack}
Auto-Submitted: auto-replied
X-Supportd-Loop: {SUPPORT}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
"""
    d = t(24, 11, 9)
    qid = L.postfix_id()[1:11].upper()
    b = f"{qid}.{int(d.timestamp())}/mail.lk-beispielhausen.de"
    parts = [part("text/plain; charset=us-ascii", """This is the mail system at host mail.lk-beispielhausen.de.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<c.weber@lk-beispielhausen.de>: host
    postfach.verwaltung.lk-beispielhausen.de[private/dovecot-lmtp] said: 550
    5.1.1 <c.weber@lk-beispielhausen.de> User doesn't exist
""", extra=["Content-Description: Notification"]),
             part("message/delivery-status", f"""Reporting-MTA: dns; mail.lk-beispielhausen.de
X-Postfix-Queue-ID: {qid}
X-Postfix-Sender: rfc822; {SUPPORT}
Arrival-Date: {date(when)}

Final-Recipient: rfc822; c.weber@lk-beispielhausen.de
Original-Recipient: rfc822;c.weber@lk-beispielhausen.de
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <c.weber@lk-beispielhausen.de> User doesn't exist
""", extra=["Content-Description: Delivery report"]),
             part("text/rfc822-headers", orig, "8bit", ["Content-Description: Undelivered Message Headers"])]
    h = [envelope("", d, client_ip=None, return_path="", auth_results=False, org_domain="lk-beispielhausen.de"),
         f"Date: {date(d)}", "From: MAILER-DAEMON@mail.lk-beispielhausen.de (Mail Delivery System)",
         "Subject: Undelivered Mail Returned to Sender", f"To: {SUPPORT}", "Auto-Submitted: auto-replied",
         "MIME-Version: 1.0", f"Message-Id: <{d.strftime('%Y%m%d%H%M%S')}.{L.postfix_id()}@mail.lk-beispielhausen.de>"]
    sc.add(finish(mail(h, f'multipart/report; report-type=delivery-status;\n\tboundary="{b}"',
                       multipart(b, parts, preamble="This is a MIME-encapsulated message.\n"))),
           at(d), "bounce", f"Postfix DSN 5.1.1 for the Cc c.weber; text/rfc822-headers carry the ack {ack}", ticket=T1)
    d = t(24, 11, 10)
    b = "_000_" + L.alnum(30) + "_"
    ndr = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>
<p><b>Ihre Nachricht hat einige oder alle Empfänger nicht erreicht.</b></p>
<p>Folgende(r) Empfänger konnte(n) nicht erreicht werden:<br>d.braun@lk-beispielhausen.de<br>
&lt;EXCH01.verwaltung.lk-beispielhausen.de #5.1.1 smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound; not found&gt;</p>
</body></html>
"""
    h = [envelope("", d, client_ip=None, return_path="", auth_results=False, org_domain="lk-beispielhausen.de"),
         "From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@lk-beispielhausen.de>",
         f"To: {SUPPORT_FROM}", f"Date: {date(d)}",
         f"Subject: {enc_q('Unzustellbar: ' + ACK_DE.format(tag=T1, s=subj), 'utf-8')}",
         f"Thread-Index: {L.thread_index()}", f"Message-ID: <{L.hexs(32)}@EXCH01.verwaltung.lk-beispielhausen.de>",
         f"In-Reply-To: {ack}", "Content-Language: de-DE", "X-MS-Has-Attach: yes", "X-MS-Exchange-Message-Is-Ndr:",
         "MIME-Version: 1.0"]
    sc.add(finish(mail(h, f'multipart/mixed;\n\tboundary="{b}"',
                       multipart(b, [html_part(ndr), part("message/rfc822", orig.replace("c.weber@", "d.braun@", 1) + "\nGuten Tag,\n\nvielen Dank für Ihre Nachricht.\n", "8bit")], preamble=None))),
           at(d), "bounce", "Exchange NDR 'Unzustellbar:' for the Cc d.braun (multipart/mixed + message/rfc822 original)", ticket=T1)
    d = t(24, 13, 40)
    sc.add(build("notes", SY, "Antwort: " + ACK_DE.format(tag=T1, s=subj), d, f"Guten Tag,\n\nbitte entschuldigen Sie, die Kollegen Weber und Braun sind nicht mehr im Haus.\n\n{SIG_SY}\n", **LK),
           at(d), "follow_up", "the requester answers normally", ticket=T1)


def write_scenario(sc):
    d = os.path.join(OUT, sc.name)
    os.makedirs(d)
    lines = [f"# Generated by tools/make_threading.py: ingest 1.eml, 2.eml, ... in order into ONE fresh store",
             "# (default config + [support] secret = \"fixture-secret\"), each at its `at`.",
             f"description = {toml_str(sc.description)}", ""]
    for i, m in enumerate(sc.mails, 1):
        f = f"{i}.eml"
        write(os.path.join(d, f), m["data"])
        lines += ["[[mail]]", f"# {m['note']}", f"file = \"{f}\"", f"at = \"{m['at']}\"",
                  f"disposition = \"{m['disposition']}\""]
        for k in ("ticket", "linked_to", "status_after"):
            if m[k]:
                lines.append(f"{k} = \"{m[k]}\"")
        lines += [f"answered = {'true' if m['answered'] else 'false'}", ""]
    with open(os.path.join(d, "scenario.toml"), "w", newline="\n") as fh:
        fh.write("\n".join(lines))


def main():
    for f in (s01, s02, s03, s04, s05, s06, s07, s08, s09, s10, s11, s12, s13, s14, s15, s16, s17, s18):
        f()
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    for sc in SCENARIOS:
        write_scenario(sc)
    n = sum(len(sc.mails) for sc in SCENARIOS)
    print(f"{len(SCENARIOS)} scenarios, {n} mails -> {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
