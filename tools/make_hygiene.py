#!/usr/bin/env python3
"""Generate fixtures/hygiene/*.eml + expected.toml: machine mail detection.

Each mail is judged on its own (order does not matter; a fresh store per mail
or one store for all both work). Dispositions used: auto_reply, bounce, spam,
loop, new_ticket. Rules these fixtures encode:
- RFC 3834 Auto-Submitted (anything but "no"), X-Autoreply, X-Autorespond,
  X-Auto-Response-Suppress, Precedence: bulk/junk, read receipts (MDN) and
  out-of-office texts without any header -> auto_reply
- mailing-list / newsletter traffic (List-Id, List-Unsubscribe, Precedence: list) -> spam
- DSNs, null sender <>, MAILER-DAEMON/postmaster, qmail and Exchange NDR texts -> bounce
- From = the support address itself, or X-Supportd-Loop naming it -> loop
  (loop wins over auto_reply when both apply)
"""

import datetime as dt
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fixturelib import *  # noqa: F401,F403
import fixturelib as L

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "hygiene")
L.reseed(3003)
CASES = []


def case(file, data, disposition, note):
    CASES.append((file, data, disposition, note))


def d(day, hh, mm, tz=CET):
    return dt.datetime(2026, 11, day, hh, mm, (day * 13 + mm) % 60, tzinfo=tz)


def ack_id(tag, kind="ack"):
    return f"<mt.{tag}.{kind}.{L.hexs(8)}@roewaplan.de>"


KN = ("Karin Neumann", "kunde@stadtwerke-musterstadt.de")
MK = ("Markus Keller", "m.keller@stadtwerke-musterstadt.de")
JH = ("Jens Hoffmann", "it@stadtwerke-musterstadt.de")
SY = ("Selin Yilmaz", "s.yilmaz@lk-beispielhausen.de")
PS = ("Poststelle Landkreis Beispielhausen", "poststelle@lk-beispielhausen.de")
JW = ("Jane Whitfield", "jane@harbour-analytics.co.uk")
TB = ("Tom Baker", "tom.baker@harbour-analytics.co.uk")


def simple(who, subject, date_, text, headers_extra=(), to=SUPPORT_FROM, msgid=None, in_reply_to=None,
           ctype="text/plain; charset=utf-8", cte="quoted-printable", envelope_kw=None, mailer=None, body=None):
    """A single-part mail with explicit headers (for server-generated mail)."""
    name, addr = who
    dom = addr.split("@")[-1]
    env = envelope(addr, date_, **{"client_ip": None, **(envelope_kw or {})})
    disp_name = enc_q(name, "utf-8") if needs_encoding(name) else name
    h = [f"From: {disp_name} <{addr}>" if name else f"From: {addr}",
         f"To: {to}",
         f"Subject: {enc_q(subject, 'utf-8') if needs_encoding(subject) else subject}",
         f"Date: {date(date_)}",
         f"Message-ID: {msgid or '<' + date_.strftime('%Y%m%d%H%M%S') + '.' + L.hexs(10) + '@' + dom + '>'}"]
    if in_reply_to:
        h += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    h += list(headers_extra)
    if mailer:
        h.append(mailer)
    h.append("MIME-Version: 1.0")
    if body is None:
        body = qp(text) if cte == "quoted-printable" else text
    return finish(env + "\n" + mail(h, ctype, body, cte))


L.ORGS["kommunal-it.example"] = ("lists.kommunal-it.example", "203.0.113.140", "postfix")
L.ORGS["newsletter.kommunal-it.example"] = ("mta7.newsletter.kommunal-it.example", "203.0.113.177", "postfix")
L.DKIM["kommunal-it.example"] = "dkim=pass header.d=lists.kommunal-it.example header.s=mm3 header.b="
L.DKIM["newsletter.kommunal-it.example"] = "dkim=pass header.d=newsletter.kommunal-it.example header.s=cr1 header.b="


def relay_for(addr):
    dom = addr.split("@")[1]
    return dom if dom.startswith("mx") else "mail." + dom


def supportd_original(tag, to, subject, when, kind="ack", body=None, full=True):
    """Headers (and body) of a mail supportd sent, as quoted in bounces."""
    mid = f"<mt.{tag}.{kind}.1a2b3c4d@roewaplan.de>" if tag == "MT-000003" else ack_id(tag, kind)
    h = f"""Return-Path: <{SUPPORT}>
Received: from mx.roewaplan.de (mx.roewaplan.de [192.0.2.10])
	by {relay_for(to)} with ESMTPS id {L.postfix_id()}
	for <{to}>; {rdate(when + dt.timedelta(seconds=4))}
From: {SUPPORT_FROM}
To: {to}
Subject: {enc_q(subject, 'utf-8') if needs_encoding(subject) else subject}
Date: {date(when)}
Message-ID: {mid}
Auto-Submitted: auto-replied
X-Supportd-Loop: {SUPPORT}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
"""
    if full:
        h += "\n" + (body or f"Sehr geehrte Damen und Herren,\n\nvielen Dank für Ihre Anfrage. Wir haben sie unter der Ticketnummer {tag} aufgenommen.\n\nMit freundlichen Grüßen\nIhr MEIN TEAM Support\n")
    return h, mid


def main():
    # ================================================================ auto_reply by header
    t = d(12, 10, 16)
    case("01-auto-submitted-auto-replied.eml",
         simple(SY, "Auto: [MT-000003] Neuen Benutzer für Frau Weber anlegen", t,
                "Vielen Dank für Ihre Nachricht.\n\nIhre E-Mail wird nicht weitergeleitet. In dringenden Fällen wenden Sie sich bitte an poststelle@lk-beispielhausen.de.\n\nSelin Yilmaz\n",
                ["Auto-Submitted: auto-replied (vacation)", "Precedence: bulk"], in_reply_to=ack_id("MT-000003"),
                msgid=f"<dovecot-sieve-{int(t.timestamp())}-{L._rnd.randint(100000, 999999)}-0@mail.lk-beispielhausen.de>",
                envelope_kw={"return_path": ""}),
         "auto_reply", "Dovecot Sieve vacation: Auto-Submitted: auto-replied (vacation), Return-Path <> (null sender is NOT a bounce here)")

    t = d(12, 14, 31)
    case("02-auto-submitted-auto-generated.eml",
         simple(("IT-Servicedesk Stadtwerke Musterstadt", "servicedesk@stadtwerke-musterstadt.de"),
                "[Ticket#2026111210000123] Eingangsbestätigung: [MT-000007] Fehler beim PDF-Export der Dienstpläne", t,
                "Sehr geehrte Damen und Herren,\n\nIhre Nachricht ist in unserem Servicedesk eingegangen und wurde unter der Nummer 2026111210000123 erfasst.\nBitte antworten Sie nicht auf diese E-Mail.\n\nIhr IT-Servicedesk\nStadtwerke Musterstadt GmbH\n",
                ["Auto-Submitted: auto-generated", "X-Mailer: Znuny Mail Service (7.1.3)"], in_reply_to=ack_id("MT-000007")),
         "auto_reply", "customer's ticket system confirms our ack (ping-pong risk): Auto-Submitted: auto-generated")

    t = d(12, 9, 2)
    case("03-precedence-bulk.eml",
         simple(PS, "Eingangsbestätigung Ihrer Nachricht", t,
                "Ihre Nachricht ist bei der Poststelle des Landkreises Beispielhausen eingegangen und wird an die zuständige Stelle weitergeleitet.\n\nLandkreis Beispielhausen\nPoststelle\n",
                ["Precedence: bulk"], in_reply_to=ack_id("MT-000006")),
         "auto_reply", "only signal: Precedence: bulk (receipt from the customer's central mailbox)")

    t = d(12, 17, 45)
    case("04-precedence-junk-vacation.eml",
         simple(JH, "Re: [MT-000004] Sicherheitslücke: Dokumente ohne Anmeldung abrufbar", t,
                "Ich lese meine Nachrichten zur Zeit nicht regelmäßig. Ihre Mail wird nach meiner Rückkehr bearbeitet.\n\n-- Jens Hoffmann\n",
                ["Precedence: junk"], in_reply_to=ack_id("MT-000004"), ctype="text/plain; charset=UTF-8", cte="8bit",
                msgid=f"<{t.strftime('%Y%m%d%H%M%S')}.{L.hexs(6)}@pc-it-03.intern.stadtwerke-musterstadt.de>"),
         "auto_reply", "classic Unix vacation(1): only Precedence: junk, subject 'Re: <original>'")

    t = d(12, 8, 5)
    case("05-precedence-list.eml",
         simple(("Verteiler Netzbetrieb", "verteiler-netzbetrieb@stadtwerke-musterstadt.de"),
                "Betriebsversammlung am 20.11.2026", t,
                "Liebe Kolleginnen und Kollegen,\n\ndie Betriebsversammlung findet am 20.11.2026 um 14:00 Uhr in der Kantine statt.\n\nEuer Betriebsrat\n",
                ["Precedence: list", "Sender: verteiler-netzbetrieb-owner@stadtwerke-musterstadt.de"], to="verteiler-netzbetrieb@stadtwerke-musterstadt.de"),
         "spam", "internal distribution list of the customer that (wrongly) contains the support address: only Precedence: list; no ticket, no answer")

    t = d(12, 11, 22)
    case("06-x-autoreply.eml",
         simple(("Harbour Analytics Reception", "reception@harbour-analytics.co.uk"), "Re: [MT-000002] How do I export the monthly timesheet to CSV?", t,
                "Thank you for contacting Harbour Analytics. Your message has been received and will be passed on to the right person.\n",
                ["X-Autoreply: yes"], in_reply_to=ack_id("MT-000002")),
         "auto_reply", "only signal: X-Autoreply: yes")

    t = d(12, 11, 40)
    case("07-x-autorespond.eml",
         simple(("Tom Baker", "tom.baker@harbour-analytics.co.uk"), "Re: [MT-000005] Request: cost centre field on the project form", t,
                "Thanks for your message. I'm travelling this week and will reply as soon as I can.\n\nTom\n",
                ["X-Autorespond: Re: [MT-000005] Request: cost centre field on the project form"], in_reply_to=ack_id("MT-000005")),
         "auto_reply", "only signal: X-Autorespond (cPanel-style autoresponder)")

    t = d(12, 12, 3)
    oof_html = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>
<body><div style="font-family:Calibri,Arial,Helvetica,sans-serif;font-size:11pt">
<p>Vielen Dank für Ihre Nachricht. Ich bin ab dem 23.11.2026 wieder erreichbar. In dringenden Fällen wenden Sie sich bitte an it@stadtwerke-musterstadt.de.</p>
<p>Markus Keller</p></div></body></html>
"""
    b = "_000_" + L.alnum(30) + "_"
    body = multipart(b, [text_part("Vielen Dank für Ihre Nachricht. Ich bin ab dem 23.11.2026 wieder erreichbar. In dringenden Fällen wenden Sie sich bitte an it@stadtwerke-musterstadt.de.\n\nMarkus Keller\n"),
                         html_part(oof_html)], preamble=None)
    env = envelope(MK[1], t, client_ip=None)
    irt = ack_id("MT-000007", "reply")
    h = [f"From: {MK[0]} <{MK[1]}>", f"To: {SUPPORT_FROM}",
         f"Subject: {enc_q('Automatische Antwort: [MT-000007] Fehler beim PDF-Export der Dienstpläne', 'utf-8')}",
         f"Thread-Topic: {enc_q('[MT-000007] Fehler beim PDF-Export der Dienstpläne', 'utf-8')}",
         f"Thread-Index: {L.thread_index()}", f"Date: {date(t)}",
         f"Message-ID: <{L.hexs(32)}@EXCH01.intern.stadtwerke-musterstadt.de>", f"In-Reply-To: {irt}",
         "Accept-Language: de-DE, en-US", "Content-Language: de-DE", "X-MS-Has-Attach:", "X-MS-TNEF-Correlator:",
         "X-Auto-Response-Suppress: All", "X-MS-Exchange-Inbox-Rules-Loop: m.keller@stadtwerke-musterstadt.de",
         "MIME-Version: 1.0"]
    case("08-x-auto-response-suppress-outlook-oof.eml",
         finish(env + "\n" + mail(h, f'multipart/alternative;\n\tboundary="{b}"', body)),
         "auto_reply", "Exchange/Outlook OOF: X-Auto-Response-Suppress: All (+ subject 'Automatische Antwort:'), no Auto-Submitted")

    # ================================================================ list / newsletter -> spam
    t = d(12, 13, 10)
    case("09-list-id-mailingliste.eml",
         simple(("Rainer Busch", "r.busch@kommunal-it.example"), "[mt-anwender] Erfahrungen mit dem Update auf 4.2?", t,
                "Hallo zusammen,\n\nhat schon jemand das Update auf MEIN TEAM 4.2 eingespielt? Gab es Probleme mit dem Dienstplan-Export?\n\nGruß\nRainer Busch\n_______________________________________________\nmt-anwender mailing list -- mt-anwender@lists.kommunal-it.example\nTo unsubscribe send an email to mt-anwender-leave@lists.kommunal-it.example\n",
                ["Message-ID-Hash: QX7ZL3K2T5NVYH4WGRMBEFJ6D2CSAU8P",
                 "X-Message-ID-Hash: QX7ZL3K2T5NVYH4WGRMBEFJ6D2CSAU8P",
                 "X-Mailman-Version: 3.3.9",
                 "List-Id: MEIN TEAM Anwendergruppe <mt-anwender.lists.kommunal-it.example>",
                 "List-Archive: <https://lists.kommunal-it.example/archives/list/mt-anwender@lists.kommunal-it.example/>",
                 "List-Help: <mailto:mt-anwender-request@lists.kommunal-it.example?subject=help>",
                 "List-Post: <mailto:mt-anwender@lists.kommunal-it.example>"],
                to="mt-anwender@lists.kommunal-it.example", envelope_kw={"org_domain": "kommunal-it.example",
                                                                         "return_path": "mt-anwender-bounces@lists.kommunal-it.example"}),
         "spam", "Mailman 3 list post (user group the support address is subscribed to): List-Id; no ticket, no answer")

    t = d(12, 6, 30)
    nl_html = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Kommunal-IT Newsletter 11/2026</title></head>
<body style="margin:0;background:#f4f4f4"><table width="100%" cellpadding="0" cellspacing="0"><tr><td align="center">
<table width="600" style="background:#ffffff;font-family:Arial,sans-serif"><tr><td style="padding:24px">
<h1 style="font-size:22px">Kommunal-IT Newsletter November 2026</h1>
<p>Digitale Verwaltung 2027: Jetzt Frühbucherrabatt für unsere Fachtagung sichern!</p>
<p><a href="https://newsletter.kommunal-it.example/c/8f3a/tagung">Zur Anmeldung</a></p>
<p style="font-size:11px;color:#888">Sie erhalten diesen Newsletter, weil Sie sich angemeldet haben.
<a href="https://newsletter.kommunal-it.example/u/8f3a9c21">Abmelden</a></p>
</td></tr></table></td></tr></table></body></html>
"""
    b = "b1_" + L.hexs(32)
    body = multipart(b, [text_part("Kommunal-IT Newsletter November 2026\n\nDigitale Verwaltung 2027: Jetzt Frühbucherrabatt für unsere Fachtagung sichern!\nZur Anmeldung: https://newsletter.kommunal-it.example/c/8f3a/tagung\n\nAbmelden: https://newsletter.kommunal-it.example/u/8f3a9c21\n"),
                         html_part(nl_html)], preamble=None)
    env = envelope("bounce-8f3a9c21@newsletter.kommunal-it.example", t, client_ip=None,
                   org_domain="newsletter.kommunal-it.example")
    h = ["From: Kommunal-IT Forum <newsletter@kommunal-it.example>", f"To: {SUPPORT}",
         f"Subject: {enc_q('Kommunal-IT Newsletter 11/2026: Frühbucherrabatt Fachtagung', 'utf-8')}",
         f"Date: {date(t)}", f"Message-ID: <{L.hexs(24)}@newsletter.kommunal-it.example>",
         "List-Unsubscribe: <https://newsletter.kommunal-it.example/u/8f3a9c21>,\n <mailto:unsubscribe-8f3a9c21@newsletter.kommunal-it.example>",
         "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
         "Feedback-ID: 8f3a9c21:newsletter:kommunal-it", "X-Mailer: CleverReach Mailer",
         "MIME-Version: 1.0"]
    case("10-list-unsubscribe-newsletter.eml",
         finish(env + "\n" + mail(h, f'multipart/alternative; boundary="{b}"', body)),
         "spam", "marketing newsletter: List-Unsubscribe (+ One-Click), no Precedence, no List-Id")

    # ================================================================ bounces
    t = d(12, 15, 2)
    orig, _ = supportd_original("MT-000010", "a.schulz@stadtwerke-musterstadt.de", "[MT-000010] Wie kann ich die Urlaubsübersicht drucken?", t - dt.timedelta(minutes=1), full=False)
    case("11-return-path-leer-postmaster.eml",
         simple(("", "postmaster@stadtwerke-musterstadt.de"), "Nachricht nicht zustellbar", t,
                f"Ihre Nachricht an a.schulz@stadtwerke-musterstadt.de konnte nicht zugestellt werden.\nDer Empfänger ist in unserem System nicht bekannt (550 5.1.1 User unknown).\n\n----- Kopfzeilen der Originalnachricht -----\n{orig}",
                envelope_kw={"return_path": ""}, cte="8bit", ctype="text/plain; charset=utf-8"),
         "bounce", "plain-text failure notice, null sender Return-Path <> and From postmaster@ (no multipart/report)")

    t = d(12, 15, 20)
    orig, _ = supportd_original("MT-000001", "j.roth@stadtwerke-musterstadt.de", "[MT-000001] Login nicht möglich", t - dt.timedelta(minutes=2))
    case("12-mailer-daemon-sendmail.eml",
         simple(("Mail Delivery Subsystem", "MAILER-DAEMON@mx2.stadtwerke-musterstadt.de"), "Returned mail: see transcript for details", t,
                "The original message was received at Thu, 12 Nov 2026 15:18:01 +0100\nfrom mx.roewaplan.de [192.0.2.10]\n\n   ----- The following addresses had permanent fatal errors -----\n<j.roth@stadtwerke-musterstadt.de>\n    (reason: 550 5.1.1 <j.roth@stadtwerke-musterstadt.de>... User unknown)\n\n   ----- Transcript of session follows -----\n... while talking to exch01.intern.stadtwerke-musterstadt.de.:\n>>> DATA\n<<< 550 5.1.1 <j.roth@stadtwerke-musterstadt.de>... User unknown\n550 5.1.1 <j.roth@stadtwerke-musterstadt.de>... User unknown\n\n   ----- Original message follows -----\n" + orig,
                ["Auto-Submitted: auto-generated (failure)"],
                envelope_kw={"return_path": "", "org_domain": "stadtwerke-musterstadt.de"}, cte="8bit",
                ctype="text/plain; charset=utf-8"),
         "bounce", "Sendmail-style plain-text bounce from MAILER-DAEMON (not multipart/report); also Auto-Submitted - bounce wins over auto_reply")

    # ---- 17/18: standard DSNs
    t = d(12, 9, 40)
    orig, mid = supportd_original("MT-000003", "c.weber@lk-beispielhausen.de", "[MT-000003] Neuen Benutzer für Frau Weber anlegen", t - dt.timedelta(minutes=1), full=False)
    qid = L.postfix_id()[1:11].upper()
    b = f"{qid}.{int(t.timestamp())}/mail.lk-beispielhausen.de"
    parts = [part("text/plain; charset=us-ascii", f"""This is the mail system at host mail.lk-beispielhausen.de.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

                   The mail system

<c.weber@lk-beispielhausen.de>: host
    postfach.verwaltung.lk-beispielhausen.de[private/dovecot-lmtp] said: 550
    5.1.1 <c.weber@lk-beispielhausen.de> User doesn't exist:
    c.weber@lk-beispielhausen.de (in reply to RCPT TO command)
""", extra=["Content-Description: Notification"]),
             part("message/delivery-status", f"""Reporting-MTA: dns; mail.lk-beispielhausen.de
X-Postfix-Queue-ID: {qid}
X-Postfix-Sender: rfc822; {SUPPORT}
Arrival-Date: {date(t - dt.timedelta(minutes=1))}

Final-Recipient: rfc822; c.weber@lk-beispielhausen.de
Original-Recipient: rfc822;c.weber@lk-beispielhausen.de
Action: failed
Status: 5.1.1
Remote-MTA: dns; postfach.verwaltung.lk-beispielhausen.de
Diagnostic-Code: smtp; 550 5.1.1 <c.weber@lk-beispielhausen.de> User doesn't
    exist: c.weber@lk-beispielhausen.de
""", extra=["Content-Description: Delivery report"]),
             part("text/rfc822-headers", orig, "8bit", ["Content-Description: Undelivered Message Headers"])]
    h = [envelope("", t, client_ip=None, return_path="", auth_results=False, org_domain="lk-beispielhausen.de"),
         f"Date: {date(t)}", "From: MAILER-DAEMON@mail.lk-beispielhausen.de (Mail Delivery System)",
         "Subject: Undelivered Mail Returned to Sender", f"To: {SUPPORT}", "Auto-Submitted: auto-replied",
         "MIME-Version: 1.0", f"Message-Id: <{t.strftime('%Y%m%d%H%M%S')}.{L.postfix_id()}@mail.lk-beispielhausen.de>"]
    case("13-dsn-postfix-user-unknown.eml",
         finish(mail(h, f'multipart/report; report-type=delivery-status;\n\tboundary="{b}"',
                     multipart(b, parts, preamble="This is a MIME-encapsulated message.\n"))),
         "bounce", f"RFC 3464 DSN (Postfix): Final-Recipient c.weber@lk-beispielhausen.de, 5.1.1; text/rfc822-headers carries the supportd Message-ID {mid} -> ticket MT-000003")

    t = d(12, 10, 5, GMT)
    orig, mid = supportd_original("MT-000014", "oliver.grant@harbour-analytics.co.uk", "[MT-000014] User accounts for two new starters", t - dt.timedelta(minutes=1),
                                  body="Dear Mr Grant,\n\nyour MEIN TEAM account has been created.\n\nKind regards\nYour MEIN TEAM Support team\n")
    b = "000000000000" + L.hexs(16)
    parts = [part("multipart/related; boundary=\"" + b[:-4] + "abcd\"",
                  multipart(b[:-4] + "abcd", [part('text/html; charset="UTF-8"', """<html><head></head><body><table cellpadding="0" cellspacing="0" class="email-wrapper"><tr><td>
<h2>Address not found</h2>
<p>Your message wasn't delivered to <a style='color:#212121;text-decoration:none'><b>oliver.grant@harbour-analytics.co.uk</b></a> because the address couldn't be found, or is unable to receive mail.</p>
<p>The response from the remote server was:</p>
<p>550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. For more information, go to https://support.google.com/mail/?p=NoSuchUser</p>
</td></tr></table></body></html>
""")], preamble=None)),
             part("message/delivery-status", f"""Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; mx.roewaplan.de
Arrival-Date: {date(t - dt.timedelta(minutes=1))}
X-Original-Message-ID: {mid}

Final-Recipient: rfc822; oliver.grant@harbour-analytics.co.uk
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; The email account that you tried to reach does not exist.
Last-Attempt-Date: {date(t)}
"""),
             part("message/rfc822", orig, "8bit")]
    h = [envelope("", t, client_ip=None, return_path="", auth_results=False, org_domain="harbour-analytics.co.uk"),
         "MIME-Version: 1.0", "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
         f"To: {SUPPORT}", "Auto-Submitted: auto-replied", "Subject: Delivery Status Notification (Failure)",
         f"References: {mid}", f"In-Reply-To: {mid}", "X-Failed-Recipients: oliver.grant@harbour-analytics.co.uk",
         f"Message-ID: <{L.hexs(20)}.{L.alnum(8)}@mx.google.com>", f"Date: {date(t)}"]
    case("14-dsn-google-address-not-found.eml",
         finish(mail(h, f'multipart/report; boundary="{b}"; report-type=delivery-status',
                     multipart(b, parts, preamble=None))),
         "bounce", f"Google Workspace DSN: HTML notice, message/delivery-status, full original (message/rfc822) with {mid}; In-Reply-To points at the bounced ack")

    t = d(12, 16, 12)
    orig, mid = supportd_original("MT-000001", "k.neumann-privat@mx2.stadtwerke-musterstadt.de", "[MT-000001] Login nicht möglich", t - dt.timedelta(minutes=3))
    text = f"""Hi. This is the qmail-send program at mx2.stadtwerke-musterstadt.de.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<k.neumann-privat@mx2.stadtwerke-musterstadt.de>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

{orig}"""
    case("15-qmail-bounce.eml",
         simple(("", "MAILER-DAEMON@mx2.stadtwerke-musterstadt.de"), "failure notice", t, text,
                envelope_kw={"return_path": "", "org_domain": "stadtwerke-musterstadt.de"}, cte="8bit",
                ctype="text/plain; charset=utf-8"),
         "bounce", f"qmail bounce: no DSN, no Auto-Submitted; 'Hi. This is the qmail-send program'; copy of the original with {mid}")

    t = d(12, 16, 30)
    orig, mid = supportd_original("MT-000012", "d.braun@lk-beispielhausen.de", "[MT-000012] Benutzer deaktivieren: Herr Braun", t - dt.timedelta(minutes=1))
    ndr_html = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>
<p><b><font color="#000066" size="3" face="Arial">Ihre Nachricht hat einige oder alle Empfänger nicht erreicht.</font></b></p>
<p><font size="2" face="Tahoma">Betreff: [MT-000012] Benutzer deaktivieren: Herr Braun<br>
Gesendet: 12.11.2026 16:29</font></p>
<p><font size="2" face="Tahoma">Folgende(r) Empfänger konnte(n) nicht erreicht werden:</font></p>
<p><font size="2" face="Tahoma">Dieter Braun am 12.11.2026 16:30<br>
&nbsp;&nbsp;&nbsp;&nbsp;Das E-Mail-Konto existiert nicht in der Organisation, an die diese Nachricht gesendet wurde.<br>
&nbsp;&nbsp;&nbsp;&nbsp;&lt;EXCH01.verwaltung.lk-beispielhausen.de #5.1.1 smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound; not found&gt;</font></p>
</body></html>
"""
    b = "_000_" + L.alnum(30) + "_"
    body = multipart(b, [html_part(ndr_html), part("message/rfc822", orig, "8bit")], preamble=None)
    h = [envelope("", t, client_ip=None, return_path="", auth_results=False, org_domain="lk-beispielhausen.de"),
         "From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@lk-beispielhausen.de>",
         f"To: {SUPPORT_FROM}", f"Date: {date(t)}",
         f"Subject: {enc_q('Unzustellbar: [MT-000012] Benutzer deaktivieren: Herr Braun', 'utf-8')}",
         f"Thread-Topic: [MT-000012] Benutzer deaktivieren: Herr Braun", f"Thread-Index: {L.thread_index()}",
         f"Message-ID: <{L.hexs(32)}@EXCH01.verwaltung.lk-beispielhausen.de>", f"In-Reply-To: {mid}",
         "Content-Language: de-DE", "X-MS-Has-Attach: yes", "X-MS-Exchange-Message-Is-Ndr:",
         "X-MS-Exchange-Organization-SCL: -1", "MIME-Version: 1.0"]
    case("16-exchange-ndr-unzustellbar.eml",
         finish(mail(h, f'multipart/mixed;\n\tboundary="{b}"', body)),
         "bounce", "old-style Exchange NDR 'Unzustellbar:' as multipart/mixed (NOT multipart/report), German HTML notice + message/rfc822 original; Return-Path <>")

    # ================================================================ out-of-office texts without any header
    t = d(12, 11, 25)
    case("17-oof-text-abwesenheitsnotiz.eml",
         build("outlook", KN, "Abwesenheitsnotiz: [MT-000010] Wie kann ich die Urlaubsübersicht drucken?", t,
               "Sehr geehrte Damen und Herren,\n\nvielen Dank für Ihre Nachricht. Ich bin bis einschließlich 20.11.2026 nicht im Haus. Ihre E-Mail wird nicht weitergeleitet; in dringenden Fällen wenden Sie sich bitte an it@stadtwerke-musterstadt.de.\n\nMit freundlichen Grüßen\nKarin Neumann\n",
               in_reply_to=ack_id("MT-000010"), client_rdns="pc-nb-0417.intern.stadtwerke-musterstadt.de"),
         "auto_reply", "no auto headers at all; subject 'Abwesenheitsnotiz:' + OOF text")

    t = d(12, 14, 45)
    case("18-oof-text-automatische-antwort.eml",
         build("outlook", MK, "Automatische Antwort: [MT-000007] Fehler beim PDF-Export der Dienstpläne", t,
               "Vielen Dank für Ihre E-Mail. Ich bin ab Montag, 23.11.2026, wieder im Büro und werde Ihre Nachricht dann beantworten.\n\nMarkus Keller\n",
               client_rdns="pc-nb-0233.intern.stadtwerke-musterstadt.de", client_ip="10.20.4.33"),
         "auto_reply", "no auto headers; subject 'Automatische Antwort:'")

    t = d(12, 15, 50)
    case("19-oof-text-nicht-im-buero.eml",
         build("thunderbird", SY, "[MT-000009] Import der Stammdaten bricht ab", t,
               "Guten Tag,\n\nich bin bis zum 04.12. nicht im Büro und habe keinen Zugriff auf meine E-Mails. Ihre Nachricht wird nicht weitergeleitet. In dringenden Fällen erreichen Sie die IT-Koordination unter 05432 100-400.\n\nSelin Yilmaz\n",
               client_ip="10.3.12.54", client_rdns="ws-it-054.verwaltung.lk-beispielhausen.de"),
         "auto_reply", "no auto headers; subject is just the original subject; only the body 'Ich bin bis zum 04.12. nicht im Büro' marks it")

    t = d(12, 9, 58, GMT)
    case("20-oof-text-out-of-office.eml",
         build("outlook-en", TB, "Out of Office: [MT-000017] Security issue: session remains valid after logout", t,
               "I am out of the office until Monday 16 November with no access to email. For urgent matters please contact jane@harbour-analytics.co.uk.\n\nTom Baker\n",
               client_ip="192.0.2.61", client_rdns="DESKTOP-7QK2T1M"),
         "auto_reply", "no auto headers; subject 'Out of Office:' + English OOF text")

    t = d(12, 10, 2)
    b = "----=_NextPart_000_" + L.hexs(4, True) + "_01DB" + L.hexs(4, True) + "." + L.hexs(8, True)
    mdn = """Reporting-UA: PC-NB-0417; Microsoft Outlook 16.0
Final-Recipient: rfc822;kunde@stadtwerke-musterstadt.de
Original-Message-ID: <mt.MT-000001.reply.6c1f00ab@roewaplan.de>
Disposition: manual-action/MDN-sent-manually; displayed
"""
    body = multipart(b, [text_part("Ihre Nachricht\n\n  An:  Karin Neumann\n  Betreff:  [MT-000001] Login nicht möglich\n  Gesendet:  Donnerstag, 12. November 2026 09:40:13 (UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien\n\nwurde am Donnerstag, 12. November 2026 10:02:15 (UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien gelesen.\n"),
                         part("message/disposition-notification", mdn, "7bit")])
    env = envelope(KN[1], t, client_rdns="pc-nb-0417.intern.stadtwerke-musterstadt.de")
    h = [f"From: {KN[0]} <{KN[1]}>", f"To: {SUPPORT_FROM}",
         f"Subject: {enc_q('Gelesen: [MT-000001] Login nicht möglich', 'iso-8859-1')}", f"Date: {date(t)}",
         f"Message-ID: {L.outlook_msgid('stadtwerke-musterstadt.de')}", "MIME-Version: 1.0",
         "X-Mailer: Microsoft Outlook 16.0", f"Thread-Index: {L.thread_index()}", "Content-Language: de"]
    case("21-lesebestaetigung-mdn.eml",
         finish(env + "\n" + mail(h, f'multipart/report; report-type=disposition-notification;\n\tboundary="{b}"', body)),
         "auto_reply", "Outlook read receipt 'Gelesen:' (multipart/report; report-type=disposition-notification): machine mail, not a bounce, no ticket")

    # ================================================================ loops
    t = d(12, 11, 5)
    case("22-from-support-adresse.eml",
         build("outlook", ("MEIN TEAM Support", SUPPORT), "[MT-000007] Rückfrage zum Exportfehler", t,
               "Sehr geehrter Herr Keller,\n\nkönnen Sie uns bitte mitteilen, welche Dienstplanvorlage Sie für Dezember verwenden?\n\nMit freundlichen Grüßen\nAnna Berg\nMEIN TEAM Support\n",
               to=f"{MK[0]} <{MK[1]}>", extra=[f"Cc: {SUPPORT_FROM}"], client_ip="10.1.2.15",
               client_rdns="nb-aberg.roewaplan.local", envelope_kw={"org_domain": "roewaplan.de"}),
         "loop", "sent by hand from the shared support mailbox with the support address in Cc, so it comes back: From = support address -> loop (no ticket, no answer), though it is not machine mail")

    t = d(12, 13, 55)
    fwd_body = "Sehr geehrte Frau Yilmaz,\n\nvielen Dank für Ihre Anfrage. Wir haben sie unter der Ticketnummer MT-000009 aufgenommen.\n\nMit freundlichen Grüßen\nIhr MEIN TEAM Support\n"
    case("23-x-supportd-loop-header.eml",
         simple(("MEIN TEAM Support via IT-Koordination", "it-koordination@lk-beispielhausen.de"),
                "[MT-000009] Import der Stammdaten bricht ab", t, fwd_body,
                ["Reply-To: MEIN TEAM Support <mein-team-support@roewaplan.de>",
                 f"X-Supportd-Loop: {SUPPORT}",
                 "X-Original-From: MEIN TEAM Support <mein-team-support@roewaplan.de>"],
                in_reply_to=f"<{L.uuid4()}@lk-beispielhausen.de>"),
         "loop", "the customer's group address re-sends our ack to its members (and back to us) with From rewritten; only our X-Supportd-Loop header survives -> loop")

    # ================================================================ look-alikes that ARE customer requests
    t = d(12, 8, 21)
    case("24-normal-nach-urlaub-login.eml",
         build("outlook", KN, "Nach meinem Urlaub: Login geht nicht mehr", t,
               "Guten Morgen,\n\nich war drei Wochen im Urlaub und bin seit heute wieder im Büro. Jetzt geht der Login in MEIN TEAM nicht mehr: Nach der Anmeldung erscheint \"Ihr Konto ist gesperrt\". Das Passwort habe ich nicht geändert.\n\nKönnen Sie meinen Zugang bitte wieder freischalten?\n\nMit freundlichen Grüßen\nKarin Neumann\n",
               client_rdns="pc-nb-0417.intern.stadtwerke-musterstadt.de"),
         "new_ticket", "human mail that talks about holidays ('im Urlaub', 'wieder im Büro'): must NOT be taken for an out-of-office")

    t = d(12, 9, 12)
    case("25-normal-auto-submitted-no.eml",
         simple(JH, "Frage zur automatischen Schichtplanung", t,
                "Hallo,\n\nwie stelle ich in der automatischen Schichtplanung ein, dass Bereitschaftsdienste gleichmäßig verteilt werden? Die Option \"Fairness\" finde ich nur für Nachtschichten.\n\nMit freundlichen Grüßen\nJens Hoffmann\n",
                ["Auto-Submitted: no", "Organization: Stadtwerke Musterstadt GmbH"],
                mailer="X-Mailer: Claws Mail 4.1.1 (GTK 3.24.38; x86_64-pc-linux-gnu)",
                envelope_kw={"client_ip": "10.20.9.3", "client_rdns": "pc-it-03.intern.stadtwerke-musterstadt.de"}),
         "new_ticket", "explicit 'Auto-Submitted: no' (RFC 3834: a human mail) and the word 'automatisch' in subject and text")

    t = d(12, 10, 40)
    case("26-normal-abwesenheiten-falsch.eml",
         build("thunderbird", SY, "Abwesenheiten werden im Teamkalender falsch angezeigt", t,
               "Guten Tag,\n\nim Teamkalender werden seit gestern genehmigte Abwesenheiten (Urlaub, Dienstreise) um einen Tag versetzt angezeigt: Ein Urlaub vom 16.11. bis 20.11. erscheint vom 17.11. bis 21.11.\n\nFreundliche Grüße\nSelin Yilmaz\n",
               client_ip="10.3.12.54", client_rdns="ws-it-054.verwaltung.lk-beispielhausen.de"),
         "new_ticket", "subject starts with 'Abwesenheit...' but it is a bug report, not an 'Abwesenheitsnotiz'")

    t = d(12, 11, 58)
    case("27-normal-kunde-leitet-ndr-weiter.eml",
         build("outlook", MK, "WG: Unzustellbar: Dienstplan Dezember", t,
               "Hallo Support,\n\nseit heute kommen die Benachrichtigungen von MEIN TEAM an unsere Bereitschaftsgruppe als unzustellbar zurück, siehe unten. Die Adresse bereitschaft@stadtwerke-musterstadt.de gibt es aber. Können Sie das prüfen?\n\nGruß\nMarkus Keller\n\n-----Ursprüngliche Nachricht-----\nVon: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@stadtwerke-musterstadt.de>\nGesendet: Donnerstag, 12. November 2026 11:40\nAn: Markus Keller <m.keller@stadtwerke-musterstadt.de>\nBetreff: Unzustellbar: Dienstplan Dezember\n\nIhre Nachricht hat einige oder alle Empfänger nicht erreicht.\n\nbereitschaft@stadtwerke-musterstadt.de am 12.11.2026 11:40\n    550 5.7.1 Delivery not authorized, message refused\n",
               client_rdns="pc-nb-0233.intern.stadtwerke-musterstadt.de", client_ip="10.20.4.33"),
         "new_ticket", "a customer FORWARDS an NDR and asks for help: subject contains 'Unzustellbar', body NDR text, but From is a human customer, no null sender, no DSN")

    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    lines = ["# supportd hygiene fixtures: one case per mail, order does not matter.",
             "# Generated by tools/make_hygiene.py; see its docstring for the rules they encode.",
             "# disposition: auto_reply | bounce | spam | loop | new_ticket",
             ""]
    for file, data, disp, note in CASES:
        write(os.path.join(OUT, file), data)
        lines += ["[[case]]", f"file = {toml_str(file)}", f"disposition = {toml_str(disp)}", f"note = {toml_str(note)}", ""]
    with open(os.path.join(OUT, "expected.toml"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines))
    print(f"{len(CASES)} hygiene cases")


if __name__ == "__main__":
    main()
