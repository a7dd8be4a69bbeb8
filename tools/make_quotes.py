#!/usr/bin/env python3
"""Generate fixtures/quotes/NAME.eml + NAME.expected.txt (golden quote stripping).

NAME.expected.txt holds exactly the new text of the mail: quoted history,
'-- ' signature, 'Von meinem iPhone gesendet' and legal disclaimers removed,
trimmed, lines joined with LF, no trailing newline. For multipart/alternative
mails the text/plain part is the reference; for HTML-only mails the HTML is
rendered as text: <p> = paragraph (one blank line between), <br> = line break.
"""

import datetime as dt
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fixturelib import *  # noqa: F401,F403
import fixturelib as L

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "quotes")
L.reseed(2002)
CASES = []


def case(name, data, expected):
    CASES.append((name, data, expected.strip("\n")))


def d(day, hh, mm, month=11, tz=CET):
    return dt.datetime(2026, month, day, hh, mm, (day * 7 + mm) % 60, tzinfo=tz)


MK = ("Markus Keller", "m.keller@stadtwerke-musterstadt.de")
KN = ("Karin Neumann", "kunde@stadtwerke-musterstadt.de")
JH = ("Jens Hoffmann", "it@stadtwerke-musterstadt.de")
LF = ("Lena Fischer", "l.fischer@stadtwerke-musterstadt.de")
SY = ("Selin Yilmaz", "s.yilmaz@lk-beispielhausen.de")
BK = ("Bernd Krüger", "b.krueger@lk-beispielhausen.de")
TW = ("Thomas Wagner", "t.wagner@lk-beispielhausen.de")
JW = ("Jane Whitfield", "jane@harbour-analytics.co.uk")
TB = ("Tom Baker", "tom.baker@harbour-analytics.co.uk")
RP = ("Ravi Patel", "r.patel@harbour-analytics.co.uk")
AB = ("Anna Berg", "anna@roewaplan.de")

AGENT_DE = """Sehr geehrter Herr Keller,

wir haben heute früh ein Update eingespielt, das den Fehler E-5031 beim PDF-Export behebt. Bitte prüfen Sie, ob der Export für Dezember jetzt funktioniert.

Mit freundlichen Grüßen
Anna Berg
MEIN TEAM Support, roewaplan GmbH"""

AGENT_EN = """Dear Mr Baker,

both accounts have been created; Oliver Grant can now approve absences in Client Services. The login details were sent directly to the new colleagues.

Kind regards
Anna Berg
MEIN TEAM Support, roewaplan GmbH"""

SWM_DISCLAIMER = """Diese E-Mail enthält vertrauliche und/oder rechtlich geschützte Informationen. Wenn Sie nicht der richtige Adressat sind oder diese E-Mail irrtümlich erhalten haben, informieren Sie bitte sofort den Absender und vernichten Sie diese E-Mail. Das unerlaubte Kopieren sowie die unbefugte Weitergabe dieser E-Mail ist nicht gestattet."""


def main():
    # ---------------------------------------------------------------- Outlook DE: Von:/Gesendet:/An:/Betreff:
    new = """Hallo Frau Berg,

vielen Dank, der Export für Dezember funktioniert nach dem Update wieder. Sie können das Ticket schließen.

Gruß
Markus Keller"""
    body = f"""{new}

Von: MEIN TEAM Support <mein-team-support@roewaplan.de> 
Gesendet: Donnerstag, 12. November 2026 10:15
An: Markus Keller <m.keller@stadtwerke-musterstadt.de>
Cc: Anna Berg <anna@roewaplan.de>
Betreff: [MT-000007] Fehler beim PDF-Export der Dienstpläne

{AGENT_DE}
"""
    case("outlook-de-von-gesendet", build("outlook", MK, "AW: [MT-000007] Fehler beim PDF-Export der Dienstpläne",
                                          d(12, 11, 2), body, client_rdns="pc-nb-0233.intern.stadtwerke-musterstadt.de"), new)

    # ---------------------------------------------------------------- Outlook DE: -----Ursprüngliche Nachricht-----
    new = """Hallo Frau Berg,

bei Frau Roth funktioniert die Anmeldung jetzt auch, nachdem sie auf Firefox 128 aktualisiert hat. Danke für die Hilfe!

Viele Grüße
Karin Neumann"""
    body = f"""{new}

-----Ursprüngliche Nachricht-----
Von: MEIN TEAM Support [mailto:mein-team-support@roewaplan.de] 
Gesendet: Mittwoch, 11. November 2026 09:40
An: Karin Neumann
Betreff: [MT-000001] Login nicht möglich

Sehr geehrte Frau Neumann,

Firefox ESR 115 wird seit Version 4.1 nicht mehr unterstützt. Bitte aktualisieren Sie den Browser bei Frau Roth.

Mit freundlichen Grüßen
Anna Berg

-----Ursprüngliche Nachricht-----
Von: Karin Neumann [mailto:kunde@stadtwerke-musterstadt.de] 
Gesendet: Dienstag, 10. November 2026 13:48
An: MEIN TEAM Support
Betreff: AW: [MT-000001] Login nicht möglich

Hallo Frau Berg,

danke für die schnelle Rückmeldung. Bei Frau Roth erscheint die Fehlermeldung aber weiterhin.
"""
    case("outlook-de-urspruengliche-nachricht", build("outlook", KN, "AW: [MT-000001] Login nicht möglich", d(11, 10, 5),
                                                      body, charset="windows-1252",
                                                      client_rdns="pc-nb-0417.intern.stadtwerke-musterstadt.de"), new)

    # ---------------------------------------------------------------- Outlook EN: From:/Sent:/To:/Subject:
    new = """Hi Anna,

thanks a lot. Priya can log in, but Oliver gets "account locked" on his first login. Could you unlock him please?

Tom"""
    body = f"""{new}

From: MEIN TEAM Support <mein-team-support@roewaplan.de> 
Sent: Thursday, November 12, 2026 9:15 AM
To: Tom Baker <tom.baker@harbour-analytics.co.uk>
Subject: [MT-000014] User accounts for two new starters

{AGENT_EN}
"""
    case("outlook-en-from-sent", build("outlook-en", TB, "RE: [MT-000014] User accounts for two new starters",
                                       d(12, 10, 31, tz=GMT), body, client_ip="192.0.2.61",
                                       client_rdns="DESKTOP-7QK2T1M"), new)

    # ---------------------------------------------------------------- Outlook EN: -----Original Message-----
    new = """Hello,

we have the same problem again today, see the original message below. Could you please check the nightly job?

Best regards,
Ravi Patel
Data Engineering | Harbour Analytics Ltd"""
    body = f"""{new}

-----Original Message-----
From: Ravi Patel <r.patel@harbour-analytics.co.uk> 
Sent: Monday, November 9, 2026 8:02 AM
To: mein-team-support@roewaplan.de
Subject: Nightly sync to MEIN TEAM failed

Hello,

the nightly user sync failed with "HTTP 504 Gateway Timeout" at 02:00.

Best regards,
Ravi
"""
    case("outlook-en-original-message", build("outlook-en", RP, "FW: Nightly sync to MEIN TEAM failed",
                                              d(12, 8, 14, tz=GMT), body, client_ip="192.0.2.63",
                                              client_rdns="DESKTOP-RP0042"), new)

    # ---------------------------------------------------------------- Thunderbird DE
    new = """Guten Tag Frau Berg,

danke, Frau Weber kann sich jetzt anmelden. Die Rolle "Urlaubsfreigabe" fehlt allerdings noch.

Freundliche Grüße
Selin Yilmaz"""
    body = f"""{new}

Am 12.11.2026 um 10:15 schrieb MEIN TEAM Support:
{quote('''Sehr geehrte Frau Yilmaz,

der Benutzer für Frau Claudia Weber ist angelegt, die Zugangsdaten hat sie per Mail erhalten.

Mit freundlichen Grüßen
Anna Berg
MEIN TEAM Support''')}
"""
    case("thunderbird-de-am-schrieb", build("thunderbird", SY, "Re: [MT-000003] Neuen Benutzer für Frau Weber anlegen",
                                            d(12, 11, 40), body, client_ip="10.3.12.54",
                                            client_rdns="ws-it-054.verwaltung.lk-beispielhausen.de"), new)

    # ---------------------------------------------------------------- Thunderbird EN
    new = """Hi,

the sync ran fine last night, thank you. You can close the ticket.

Ravi"""
    body = f"""{new}

On 12/11/2026 10:15, MEIN TEAM Support wrote:
{quote('''Dear Mr Patel,

we have increased the timeout of the import endpoint. Please let us know whether tonight's run succeeds.

Kind regards
Anna Berg''')}
"""
    case("thunderbird-en-on-wrote", build("thunderbird", RP, "Re: [MT-000024] Nightly sync to MEIN TEAM failed",
                                          d(13, 9, 2, tz=GMT), body, client_ip="192.0.2.63"), new)

    # ---------------------------------------------------------------- Gmail DE, attribution wrapped over two lines
    new = """Hallo MEIN TEAM Support,

ich leite Ihnen die Meldung meines Kollegen weiter: Ein genehmigter Schichttausch wird im Dienstplan nicht übernommen, beide Mitarbeiter stehen weiterhin in ihrer alten Schicht.

Können Sie sich das bitte ansehen?

Viele Grüße
Lena Fischer"""
    orig = """Hallo Lena,

ich habe den Schichttausch mit Herrn Roth für Samstag genehmigt, aber im Plan steht noch die alte Einteilung. Kannst du das an den Support geben?

Danke
Max"""
    plain = f"""{new}

Am Do., 12. März 2026 um 10:15 Uhr schrieb Max Mustermann <
max.mustermann@stadtwerke-musterstadt.de>:

{quote(orig)}
"""
    qhtml = ('<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">Am Do., 12. März 2026 um 10:15&nbsp;Uhr '
             'schrieb Max Mustermann &lt;<a href="mailto:max.mustermann@stadtwerke-musterstadt.de">'
             'max.mustermann@stadtwerke-musterstadt.de</a>&gt;:<br></div><blockquote class="gmail_quote" '
             'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
             + html_gmail(orig).strip() + '</blockquote></div>\n')
    case("gmail-de-umbrochener-header", build("gmail", LF, "Re: Schichttausch wird nicht übernommen",
                                              dt.datetime(2026, 3, 12, 11, 3, 9, tzinfo=CET), plain,
                                              html=html_gmail(new, qhtml),
                                              envelope_kw={"org_domain": "stadtwerke-musterstadt.de"}), new)

    # ---------------------------------------------------------------- Gmail EN
    new = """Hi Anna,

confirmed, the dashboard loads again for everyone in London. Thanks for the quick fix!

Jane"""
    orig = AGENT_EN.replace("Mr Baker", "Ms Whitfield").replace(
        "both accounts have been created; Oliver Grant can now approve absences in Client Services. The login details were sent directly to the new colleagues.",
        "the error 500 on the dashboard was caused by a faulty cache entry after the update. We have cleared it; please check again.")
    plain = f"""{new}

On Thu, 12 Nov 2026 at 10:15, MEIN TEAM Support <
mein-team-support@roewaplan.de> wrote:

{quote(orig)}
"""
    qhtml = ('<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Thu, 12 Nov 2026 at 10:15, MEIN TEAM Support '
             '&lt;<a href="mailto:mein-team-support@roewaplan.de">mein-team-support@roewaplan.de</a>&gt; wrote:<br></div>'
             '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
             + html_gmail(orig).strip() + '</blockquote></div>\n')
    case("gmail-en-on-wrote", build("gmail", JW, "Re: [MT-000008] Dashboard shows error 500 after update",
                                    d(12, 10, 48, tz=GMT), plain, html=html_gmail(new, qhtml),
                                    in_reply_to=f"<mt.MT-000008.reply.{L.hexs(8)}@roewaplan.de>"), new)

    # ---------------------------------------------------------------- Apple Mail DE
    new = """Guten Tag Frau Berg,

vielen Dank. In den Protokollen, die Sie mir geschickt haben, sehe ich keine weiteren Zugriffe mit alten Links. Für uns ist der Vorfall damit erledigt.

Mit freundlichen Grüßen
Thomas Wagner"""
    body = f"""{new}

Am 12.03.2026 um 10:15 schrieb Anna Berg <anna@roewaplan.de>:

{quote('''Sehr geehrter Herr Wagner,

der Passwort-Reset-Link ist jetzt nur noch einmal und höchstens 30 Minuten gültig. Die Protokolle der letzten 90 Tage finden Sie im Anhang der vorigen Mail.

Mit freundlichen Grüßen
Anna Berg''')}
"""
    case("apple-mail-de", build("apple", TW, "Re: [MT-000015] Passwort-Reset-Link funktioniert für fremde Konten",
                                dt.datetime(2026, 3, 12, 14, 22, 31, tzinfo=CET), body, client_ip="10.3.12.90",
                                client_rdns="mbp-isb-01.verwaltung.lk-beispielhausen.de"), new)

    # ---------------------------------------------------------------- HCL Notes: tab aligned header block, unquoted history
    new = """Guten Tag,

die Liste der Benutzer mit Leserechten auf den Dienstplan schicke ich Ihnen morgen.

Mit freundlichen Grüßen

Bernd Krüger
Landkreis Beispielhausen
FB 3 - Ordnung und Soziales"""
    body = f"""{new}



Von:	"MEIN TEAM Support" <mein-team-support@roewaplan.de>
An:	b.krueger@lk-beispielhausen.de
Datum:	12.11.2026 10:15
Betreff:	[MT-000012] Benutzer deaktivieren: Herr Braun
________________________________



Sehr geehrter Herr Krüger,

der Benutzer von Herrn Braun ist deaktiviert. Bitte nennen Sie uns noch die Benutzer, die künftig Leserechte auf den Dienstplan haben sollen.

Mit freundlichen Grüßen
Anna Berg
"""
    case("notes-de-tab-block", build("notes", BK, "Antwort: [MT-000012] Benutzer deaktivieren: Herr Braun",
                                     d(12, 15, 9), body, client_ip="10.3.30.8",
                                     client_rdns="notes01.verwaltung.lk-beispielhausen.de"), new)

    # ---------------------------------------------------------------- HCL Notes: ----- Weitergeleitet von ... -----
    new = """Sehr geehrte Damen und Herren,

zur Kenntnis und mit der Bitte um Prüfung: Frau Yilmaz meldet, dass der Import erneut abgebrochen ist.

Mit freundlichen Grüßen

Bernd Krüger"""
    body = f"""{new}

----- Weitergeleitet von Bernd Krüger/LKBSP am 12.11.2026 10:20 -----

Von:	Selin Yilmaz/LKBSP
An:	Bernd Krüger/LKBSP@LKBSP
Datum:	12.11.2026 09:58
Betreff:	Import Personalstammdaten wieder abgebrochen

Hallo Bernd,

der Import ist heute Nacht wieder bei Datensatz 1.244 abgebrochen. Kannst du das an MEIN TEAM weitergeben?

Gruß
Selin
"""
    case("notes-weitergeleitet", build("notes", BK, "WG: Import Personalstammdaten wieder abgebrochen", d(12, 10, 20),
                                       body, client_ip="10.3.30.8",
                                       client_rdns="notes01.verwaltung.lk-beispielhausen.de"), new)

    # ---------------------------------------------------------------- '-- ' signature, no quote
    new = """Hallo,

seit dem Update auf 4.2 fehlt in der Monatsansicht der Einsatzplanung die Spalte "Bereitschaft". Ist das Absicht?

Gruß
Jens"""
    body = f"""{new}

-- 
Jens Hoffmann
IT-Service
Stadtwerke Musterstadt GmbH
Werkstraße 12, 12345 Musterstadt
Tel. 01234 5678-300
"""
    case("signatur-dashdash", build("claws", JH, "Spalte Bereitschaft fehlt seit Update", d(12, 13, 44), body,
                                    client_ip="10.20.9.3", client_rdns="pc-it-03.intern.stadtwerke-musterstadt.de"), new)

    # ---------------------------------------------------------------- iPhone footer, iOS quoted attribution
    new = """Danke, die App zeigt jetzt nur noch unsere Daten. Ich melde mich, falls es nochmal auftritt.

Gruß
Jens Hoffmann"""
    body = f"""{new}

Von meinem iPhone gesendet

> Am 12.11.2026 um 10:15 schrieb MEIN TEAM Support <mein-team-support@roewaplan.de>:
> 
> ﻿Sehr geehrter Herr Hoffmann,
> 
> die fehlerhafte Mandantenzuordnung in der App ist behoben. Bitte melden Sie sich einmal ab und wieder an.
> 
> Mit freundlichen Grüßen
> Anna Berg
"""
    case("iphone-footer", build("iphone", JH, "Re: [MT-000020] Dringend: fremde Mitarbeiterdaten in der App sichtbar",
                                d(12, 19, 3), body, client_ip="198.51.100.199",
                                client_rdns="ip-198-51-100-199.mobile.example.net"), new)

    # ---------------------------------------------------------------- German legal disclaimer
    new = """Hallo,

bitte richten Sie für unseren Werkstudenten Paul Lehmann (p.lehmann@stadtwerke-musterstadt.de) einen Lesezugang zur Einsatzplanung ein, befristet bis 31.03.2027.

Gruß
Markus Keller
Stadtwerke Musterstadt GmbH – Netzbetrieb"""
    body = f"""{new}

{SWM_DISCLAIMER}
Stadtwerke Musterstadt GmbH, Sitz Musterstadt, Amtsgericht Musterstadt HRB 4711, Geschäftsführer: Dr. Rainer Voss
"""
    case("disclaimer-de", build("outlook", MK, "Lesezugang für Werkstudent", d(12, 14, 5), body,
                                client_rdns="pc-nb-0233.intern.stadtwerke-musterstadt.de", client_ip="10.20.4.33"), new)

    # ---------------------------------------------------------------- HTML-only reply with <blockquote>
    new = """Guten Tag Frau Berg,

der Import lief heute Nacht ohne Fehler durch. Vielen Dank!

Freundliche Grüße
Selin Yilmaz"""
    html = f"""<!DOCTYPE html>
<html>
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
  </head>
  <body>
    <p>Guten Tag Frau Berg,</p>
    <p>der Import lief heute Nacht ohne Fehler durch. Vielen Dank!</p>
    <p>Freundliche Grüße<br>
      Selin Yilmaz<br>
    </p>
    <div class="moz-cite-prefix">Am 12.11.2026 um 10:15 schrieb MEIN TEAM Support:<br>
    </div>
    <blockquote type="cite" cite="mid:mt.MT-000009.reply.4be1c2d7@roewaplan.de">
      <p>Sehr geehrte Frau Yilmaz,</p>
      <p>das Datum 31.02.2019 im Datensatz 1.244 ist ungültig. Wir haben den Import so angepasst, dass solche Datensätze übersprungen und protokolliert werden.</p>
      <p>Mit freundlichen Grüßen<br>
        Anna Berg</p>
    </blockquote>
    <div class="moz-signature">-- <br>
      Selin Yilmaz<br>
      Landkreis Beispielhausen</div>
  </body>
</html>
"""
    case("html-only-blockquote", build("thunderbird", SY, "Re: [MT-000009] Import der Stammdaten bricht ab",
                                       d(13, 8, 31), html=html, client_ip="10.3.12.54",
                                       in_reply_to="<mt.MT-000009.reply.4be1c2d7@roewaplan.de>",
                                       client_rdns="ws-it-054.verwaltung.lk-beispielhausen.de"), new)

    # ---------------------------------------------------------------- Outlook (mobile/web) DE: underscore line + Von:/Gesendet:
    new = """Hallo Frau Berg,

ja, Sie dürfen das Update am 03.12. zwischen 18 und 20 Uhr einspielen. Die Leitstelle ist informiert.

Viele Grüße
Markus Keller"""
    body = f"""{new}

________________________________
Von: MEIN TEAM Support <mein-team-support@roewaplan.de>
Gesendet: Donnerstag, 12. November 2026 16:02
An: Markus Keller <m.keller@stadtwerke-musterstadt.de>
Betreff: [MT-000007] Ankündigung: Update auf Version 4.2

Sehr geehrter Herr Keller,

wir möchten am 03.12.2026 zwischen 18:00 und 20:00 Uhr das Update auf Version 4.2 einspielen. Bitte bestätigen Sie den Termin.

Mit freundlichen Grüßen
Anna Berg
"""
    case("outlook-de-unterstrich-von", build("outlook", MK, "AW: [MT-000007] Ankündigung: Update auf Version 4.2",
                                             d(12, 16, 40), body, client_ip="198.51.100.202",
                                             client_rdns="ip-198-51-100-202.mobile.example.net"), new)

    # ---------------------------------------------------------------- Thunderbird: '-- ' signature ABOVE the quote
    new = """Hallo Frau Berg,

der Termin am 03.12. passt auch für den Landkreis.

Freundliche Grüße
Selin Yilmaz"""
    body = f"""{new}

-- 
Selin Yilmaz
Landkreis Beispielhausen
Fachbereich 1 - Zentrale Dienste, IT-Koordination

Am 12.11.2026 um 16:05 schrieb MEIN TEAM Support:
{quote('''Sehr geehrte Frau Yilmaz,

wir möchten am 03.12.2026 zwischen 18:00 und 20:00 Uhr das Update auf Version 4.2 einspielen.

Mit freundlichen Grüßen
Anna Berg''')}
"""
    case("thunderbird-signatur-ueber-zitat", build("thunderbird", SY, "Re: [MT-000003] Ankündigung: Update auf Version 4.2",
                                                   d(13, 9, 12), body, client_ip="10.3.12.54",
                                                   client_rdns="ws-it-054.verwaltung.lk-beispielhausen.de"), new)

    # ---------------------------------------------------------------- agent reply (Outlook DE) quoting the customer
    new = """Sehr geehrter Herr Keller,

der Lesezugang für Herrn Lehmann ist eingerichtet und endet automatisch am 31.03.2027.

Mit freundlichen Grüßen
Anna Berg"""
    body = f"""{new}

Von: Markus Keller <m.keller@stadtwerke-musterstadt.de> 
Gesendet: Donnerstag, 12. November 2026 14:05
An: MEIN TEAM Support <mein-team-support@roewaplan.de>
Betreff: [MT-000025] Lesezugang für Werkstudent

Hallo,

bitte richten Sie für unseren Werkstudenten Paul Lehmann einen Lesezugang zur Einsatzplanung ein.

Gruß
Markus Keller
"""
    case("outlook-de-agent-antwort", build("outlook", AB, "AW: [MT-000025] Lesezugang für Werkstudent", d(13, 10, 2),
                                           body, client_ip="10.1.2.15", client_rdns="nb-aberg.roewaplan.local"), new)

    # ---------------------------------------------------------------- Thunderbird EN, bottom-posted (quote first)
    new = """Thanks, Anna. Do you also need the screenshots from the other browsers?

Ravi"""
    body = f"""On 12/11/2026 14:30, MEIN TEAM Support wrote:
{quote('''Dear Mr Patel,

could you please tell us which browser and version you are using?

Kind regards
Anna Berg''')}

We use Chrome 131 on Windows 11 and Safari 18 on macOS.

{new}
"""
    new = "We use Chrome 131 on Windows 11 and Safari 18 on macOS.\n\n" + new
    case("thunderbird-en-unten-geantwortet", build("thunderbird", RP, "Re: [MT-000024] Nightly sync to MEIN TEAM failed",
                                                   d(12, 15, 1, tz=GMT), body, client_ip="192.0.2.63"), new)

    os.makedirs(OUT, exist_ok=True)
    # Only the cases made here are (re)written: fixtures/quotes also holds
    # hand-written cases that this script must not delete.
    for name, data, expected in CASES:
        write(os.path.join(OUT, name + ".eml"), data)
        with open(os.path.join(OUT, name + ".expected.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write(expected)
    print(f"{len(CASES)} quote cases")


if __name__ == "__main__":
    main()
