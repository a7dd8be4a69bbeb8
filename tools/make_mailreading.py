#!/usr/bin/env python3
"""Generate the [mail-reading] fixtures:

- fixtures/replies-de/NAME.eml + NAME.expected.txt: typical German client
  replies (Outlook, Thunderbird, GMX, web.de, Gmail, Apple Mail, iPhone,
  Outlook for Android, HCL Notes, Zimbra, T-Online, Horde) to a supportd
  mail, most with the HTML part the client really sends beside the text part.
  NAME.expected.txt is the new text (LF, trimmed, no final newline).
- fixtures/spam/07..14: marketing and phishing from senders outside the
  customer domains without any spam header (stored as spam, never answered),
  and look-alikes that must stay tickets (names with "not-spam").

Only these files are written; the other files of fixtures/spam stay.
"""

import datetime as dt
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fixturelib import *  # noqa: F401,F403
import fixturelib as L

ROOT = os.path.join(os.path.dirname(__file__), "..", "fixtures")
L.reseed(2121)

# Senders outside the customer domains, with their outbound relays.
for dom, relay, ip in [
    ("gmx.de", "mout.gmx.net", "212.227.17.20"),
    ("web.de", "mout.web.de", "212.227.15.3"),
    ("t-online.de", "mailout11.t-online.de", "194.25.134.85"),
    ("gmail.com", "mail-ej1-f41.google.com", "209.85.218.41"),
    ("bueroprofi-angebote.de", "mta-41.news-versand.com", "185.41.28.77"),
    ("rankboost-media.com", "mail.rankboost-media.com", "45.95.147.12"),
    ("mail-sicherheit-center.com", "vps-2231.contabo-host.net", "62.171.150.9"),
    ("docsign-secure-mail.net", "smtp.docsign-secure-mail.net", "91.92.240.33"),
    ("securelab.io", "mail.securelab.io", "94.130.10.8"),
    ("pflegedienst-lorenz.de", "mail.pflegedienst-lorenz.de", "85.13.140.21"),
]:
    L.ORGS[dom] = (relay, ip, "google" if dom == "gmail.com" else "postfix")
    L.DKIM[dom] = f"dkim=pass header.d={dom} header.s=s1 header.b="


def d(day, hh, mm):
    return dt.datetime(2026, 11, day, hh, mm, (day * 7 + mm) % 60, tzinfo=CET)


MK = ("Markus Keller", "m.keller@stadtwerke-musterstadt.de")
KN = ("Karin Neumann", "kunde@stadtwerke-musterstadt.de")
SY = ("Selin Yilmaz", "s.yilmaz@lk-beispielhausen.de")
TW = ("Thomas Wagner", "t.wagner@lk-beispielhausen.de")
BK = ("Bernd Krüger", "b.krueger@lk-beispielhausen.de")
LF = ("Lena Fischer", "l.fischer@stadtwerke-musterstadt.de")

AGENT = """Sehr geehrter Herr Keller,

wir haben heute früh ein Update eingespielt, das den Fehler E-5031 beim PDF-Export behebt. Bitte prüfen Sie, ob der Export für Dezember jetzt funktioniert.

Mit freundlichen Grüßen
Anna Berg
MEIN TEAM Support, roewaplan GmbH"""

SUBJ = "[MT-000007] Fehler beim PDF-Export der Dienstpläne"
OUR_ID = "<mt.MT-000007.agent.5d1c2e9a@roewaplan.de>"


def html_p(text):
    return "".join("<p>" + "<br>".join(html_escape(l) for l in p) + "</p>" for p in paras(text))


def header_block_html(lines):
    return "<br>".join(f"<b>{html_escape(k)}</b> {html_escape(v)}" for k, v in lines)


REPLIES = []


def reply(name, data, expected):
    REPLIES.append((name, data, expected.strip("\n")))


def main():
    # 1 Outlook 365 (Windows, de): text part with the Von:/Gesendet: block, HTML with divRplyFwdMsg.
    new = """Hallo Frau Berg,

danke, der Export für Dezember läuft jetzt durch. Nur die Summenzeile fehlt noch im PDF.

Viele Grüße
Markus Keller"""
    hdr = [("Von:", "MEIN TEAM Support <mein-team-support@roewaplan.de>"),
           ("Gesendet:", "Donnerstag, 12. November 2026 10:15"),
           ("An:", "Markus Keller <m.keller@stadtwerke-musterstadt.de>"),
           ("Betreff:", SUBJ)]
    plain = new + "\n\n" + "\n".join(f"{k} {v}" for k, v in hdr) + "\n\n" + AGENT + "\n"
    html = (html_outlook(new).replace("</div>\n</body>", "")
            + '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
            + '<div id="divRplyFwdMsg"><p class="MsoNormal">' + header_block_html(hdr) + "</p></div>"
            + html_p(AGENT) + "</div></div>\n</body>\n</html>\n")
    reply("01-outlook-365-de", build("outlook", MK, "AW: " + SUBJ, d(12, 11, 2), plain, html,
                                     in_reply_to=OUR_ID), new)

    # 2 Thunderbird (de), HTML: moz-cite-prefix and blockquote type=cite; text part with "Am … schrieb …:".
    new = """Hallo Frau Berg,

bei uns erscheint nach dem Update beim Export die Meldung "Vorlage nicht gefunden".

Gruß
Selin Yilmaz"""
    attribution = "Am 12.11.26 um 10:15 schrieb MEIN TEAM Support:"
    plain = new + "\n\n" + attribution + "\n" + quote(AGENT) + "\n"
    reply("02-thunderbird-de", build("thunderbird", SY, "Re: " + SUBJ, d(12, 11, 40), plain,
                                     in_reply_to=OUR_ID), new)
    html = ("<html><head><meta http-equiv=\"content-type\" content=\"text/html; charset=UTF-8\"></head><body>"
            + html_p(new) + f'<div class="moz-cite-prefix">{html_escape(attribution)}<br></div>'
            + '<blockquote type="cite" cite="mid:' + OUR_ID.strip("<>") + '">' + html_p(AGENT)
            + "</blockquote><br></body></html>")
    reply("03-thunderbird-de-html", build("thunderbird", SY, "Re: " + SUBJ, d(12, 11, 41), None, html,
                                          in_reply_to=OUR_ID), new)

    # 4 GMX (webmail): "Gesendet: … Von: … An: … Betreff: …" block, quoted text not marked.
    new = """Guten Tag,

ich habe es zu Hause probiert, dort geht der Export. Im Büro nicht.

Mit freundlichen Grüßen
Bernd Krüger"""
    plain = (new + "\n\n\nGesendet: Donnerstag, 12. November 2026 um 10:15 Uhr\n"
             "Von: \"MEIN TEAM Support\" <mein-team-support@roewaplan.de>\n"
             "An: \"Bernd Krüger\" <b.krueger.privat@gmx.de>\nBetreff: " + SUBJ + "\n\n" + AGENT + "\n")
    html = ("<html><head></head><body><div style=\"font-family: Verdana;font-size: 12.0px;\"><div>"
            + html_p(new) + "<div name=\"quote\" style=\"margin:10.0px 5.0px 5.0px 10.0px; padding: 10.0px 0 10.0px 10.0px;"
            " border-left:2.0px solid #C3D9E5;\"><div style=\"margin:0 0 10.0px 0;\"><b>Gesendet:</b>&nbsp;Donnerstag, "
            "12. November 2026 um 10:15 Uhr<br><b>Von:</b>&nbsp;&quot;MEIN TEAM Support&quot; "
            "&lt;mein-team-support@roewaplan.de&gt;<br><b>An:</b>&nbsp;&quot;Bernd Krüger&quot; "
            "&lt;b.krueger.privat@gmx.de&gt;<br><b>Betreff:</b>&nbsp;" + html_escape(SUBJ) + "</div>"
            "<div name=\"quoted-content\">" + html_p(AGENT) + "</div></div></div></div></body></html>")
    reply("04-gmx-de", build("gmail", ("Bernd Krüger", "b.krueger.privat@gmx.de"), "Aw: " + SUBJ, d(12, 12, 5),
                             plain, html, in_reply_to=OUR_ID,
                             msgid=f"<trinity-{uuid4()}-1794913500412@3c-app-gmx-bap55>"), new)

    # 5 web.de (webmail): one-line "Am … schrieb …:" with the address, quoted with "> ".
    new = """Hallo,

danke! Geht wieder.

LG Karin Neumann"""
    plain = (new + "\n\nAm 12.11.2026 um 10:15 schrieb \"MEIN TEAM Support\" <mein-team-support@roewaplan.de>:\n"
             + quote(AGENT) + "\n")
    reply("05-webde-de", build("gmail", ("Karin Neumann", "k.neumann@web.de"), "Re: " + SUBJ, d(12, 12, 30),
                               plain, None, in_reply_to=OUR_ID,
                               msgid=f"<trinity-{uuid4()}-1794915000731@3c-app-webde-bap12>"), new)

    # 6 Gmail (de): the header wraps inside the address; HTML gmail_quote.
    new = """Hallo Frau Berg,

der Export klappt, danke. Können Sie das Ticket schließen?

Lena Fischer"""
    plain = (new + "\n\nAm Do., 12. Nov. 2026 um 10:15 Uhr schrieb MEIN TEAM Support <\n"
             "mein-team-support@roewaplan.de>:\n\n" + quote(AGENT) + "\n")
    quote_html = ('<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">Am Do., 12. Nov. 2026 um 10:15&nbsp;Uhr '
                  'schrieb MEIN TEAM Support &lt;<a href="mailto:mein-team-support@roewaplan.de">'
                  'mein-team-support@roewaplan.de</a>&gt;:<br></div><blockquote class="gmail_quote" '
                  'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
                  + html_p(AGENT) + "</blockquote></div>")
    reply("06-gmail-de", build("gmail", ("Lena Fischer", "lena.fischer.swm@gmail.com"), "Re: " + SUBJ,
                               d(12, 13, 1), plain, html_gmail(new, quote_html), in_reply_to=OUR_ID), new)

    # 7 Apple Mail (macOS, de): the header line is quoted too.
    new = """Hallo Frau Berg,

auf dem Mac kommt beim Export nur ein leeres PDF.

Viele Grüße
Thomas Wagner"""
    plain = (new + "\n\n> Am 12.11.2026 um 10:15 schrieb MEIN TEAM Support <mein-team-support@roewaplan.de>:\n> \n"
             + quote(AGENT) + "\n\n")
    reply("07-apple-mail-de", build("apple", TW, "Re: " + SUBJ, d(12, 13, 20), plain, in_reply_to=OUR_ID), new)

    # 8 iPhone (de): "Von meinem iPhone gesendet" then the quoted header.
    new = """Danke, probiere ich morgen früh aus."""
    plain = (new + "\n\nVon meinem iPhone gesendet\n\n> Am 12.11.2026 um 10:15 schrieb MEIN TEAM Support "
             "<mein-team-support@roewaplan.de>:\n> \n" + quote(AGENT) + "\n")
    reply("08-iphone-de", build("iphone", MK, "AW: " + SUBJ, d(12, 18, 44), plain, in_reply_to=OUR_ID), new)

    # 9 Outlook for Android (de): footer with a link, then an English header block.
    new = """Export geht wieder, danke!"""
    plain = (new + "\n\nGesendet von Outlook für Android<https://aka.ms/AAb9ysg>\n"
             "________________________________\nFrom: MEIN TEAM Support <mein-team-support@roewaplan.de>\n"
             "Sent: Thursday, November 12, 2026 10:15:07 AM\nTo: Lena Fischer <l.fischer@stadtwerke-musterstadt.de>\n"
             "Subject: " + SUBJ + "\n\n" + AGENT + "\n")
    html = ('<html><head></head><body><div dir="auto">' + html_escape(new) + '</div><div dir="auto"><br></div>'
            '<div id="ms-outlook-mobile-signature" dir="auto">Gesendet von <a href="https://aka.ms/AAb9ysg">'
            'Outlook für Android</a></div><hr style="display:inline-block;width:98%" tabindex="-1">'
            '<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> MEIN TEAM Support<br><b>Sent:</b> Thursday, '
            'November 12, 2026 10:15:07 AM</div>' + html_p(AGENT) + "</body></html>")
    reply("09-outlook-android-de", build("outlook", LF, "Re: " + SUBJ, d(12, 19, 3), plain, html,
                                         in_reply_to=OUR_ID), new)

    # 10 HCL Notes (de): tab-separated header block below the signature.
    new = """Sehr geehrte Frau Berg,

der Export funktioniert jetzt auch bei uns im Landratsamt.

Mit freundlichen Grüßen

Thomas Wagner
Landkreis Beispielhausen
Sachgebiet IT"""
    plain = (new + "\n\n\n\nVon:\t\"MEIN TEAM Support\" <mein-team-support@roewaplan.de>\n"
             "An:\t\"Thomas Wagner\" <t.wagner@lk-beispielhausen.de>\nDatum:\t12.11.2026 10:15\n"
             "Betreff:\t" + SUBJ + "\n\n\n\n" + AGENT + "\n")
    reply("10-notes-de", build("notes", TW, "Antwort: " + SUBJ, d(13, 8, 12), plain, in_reply_to=OUR_ID), new)

    # 11 Zimbra (de): "----- Ursprüngliche Mail -----" then Von:/An:/Gesendet:/Betreff:.
    new = """Hallo Frau Berg,

der Export geht, aber die Umlaute im Dateinamen fehlen.

Gruß, K. Neumann"""
    plain = (new + "\n\n----- Ursprüngliche Mail -----\nVon: \"MEIN TEAM Support\" <mein-team-support@roewaplan.de>\n"
             "An: \"Karin Neumann\" <kunde@stadtwerke-musterstadt.de>\nGesendet: Donnerstag, 12. November 2026 10:15:07\n"
             "Betreff: " + SUBJ + "\n\n" + AGENT + "\n")
    reply("11-zimbra-de", build("claws", KN, "Re: " + SUBJ, d(13, 9, 1), plain, in_reply_to=OUR_ID), new)

    # 12 T-Online Mail (de): "-----Original-Nachricht-----" with Betreff/Datum/Von/An.
    new = """Guten Morgen,

funktioniert wieder. Vielen Dank.

Bernd Krüger"""
    plain = (new + "\n\n-----Original-Nachricht-----\nBetreff: " + SUBJ + "\nDatum: 2026-11-12T10:15:07+0100\n"
             "Von: \"MEIN TEAM Support\" <mein-team-support@roewaplan.de>\nAn: \"Bernd Krüger\" <b.krueger@t-online.de>\n\n\n\n"
             + AGENT + "\n")
    reply("12-t-online-de", build("claws", ("Bernd Krüger", "b.krueger@t-online.de"), "AW: " + SUBJ, d(13, 9, 20),
                                  plain, in_reply_to=OUR_ID), new)

    # 13 Horde (de): "Zitat von …:" that no text rule knows; the HTML blockquote marks the quote.
    new = """Hallo,

wir testen das heute Nachmittag und melden uns.

Freundliche Grüße
Selin Yilmaz"""
    plain = (new + "\n\nZitat von \"MEIN TEAM Support\" <mein-team-support@roewaplan.de>:\n\n" + quote(AGENT) + "\n")
    html = ("<html><body style=\"font-family:Arial\">" + html_p(new)
            + "<p>Zitat von &quot;MEIN TEAM Support&quot; &lt;mein-team-support@roewaplan.de&gt;:</p>"
            + '<blockquote type="cite" style="border-left:2px solid blue;margin-left:2px;padding-left:12px;">'
            + html_p(AGENT) + "</blockquote></body></html>")
    reply("13-horde-de-html", build("gmail", SY, "Re: " + SUBJ, d(13, 10, 2), plain, html, in_reply_to=OUR_ID), new)

    out = os.path.join(ROOT, "replies-de")
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    for name, data, expected in REPLIES:
        write(os.path.join(out, name + ".eml"), data)
        with open(os.path.join(out, name + ".expected.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write(expected)

    spam()

    # 14 Outlook (de) forward "WG:" under a short note: no "Weitergeleitete
    # Nachricht" line, only the header block; the forwarded mail is the request.
    # (Generated after the spam cases so that their bytes stay as they were.)
    fwd = """Hallo Frau Berg,

seit heute Morgen kann sich niemand in der Leitstelle anmelden, es kommt "Konto gesperrt". Können Sie bitte schnell helfen? Wir arbeiten gerade mit Papierlisten.

Gruß
Jens Hoffmann"""
    new = """zur Info, bitte dringend.

Markus Keller

________________________________
Von: Jens Hoffmann <it@stadtwerke-musterstadt.de>
Gesendet: Dienstag, 24. November 2026 07:41
An: Markus Keller <m.keller@stadtwerke-musterstadt.de>
Betreff: Anmeldung Leitstelle gesperrt

""" + fwd
    name, data = "14-outlook-de-weiterleitung", build("outlook", MK, "WG: Anmeldung Leitstelle gesperrt",
                                                       d(24, 7, 55), new + "\n")
    write(os.path.join(out, name + ".eml"), data)
    with open(os.path.join(out, name + ".expected.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write(new.strip("\n"))
    print(f"{len(REPLIES) + 1} German replies, {len(SPAM)} spam cases")


SPAM = []


def stranger(name, addr, subject, day, plain, html, extra=(), msgid=None):
    """A mail from a sender outside the customer domains: its relay, no spam header."""
    dom = addr.split("@", 1)[1]
    env = envelope(addr, day, client_ip=None)
    mid = msgid or f"<{hexs(24)}@{L.ORGS[dom][0]}>"
    name = enc_b(name, "UTF-8") if needs_encoding(name) else name
    subject = enc_b(subject, "UTF-8") if needs_encoding(subject) else subject
    h = [f"From: {name} <{addr}>", f"To: {SUPPORT}", f"Subject: {subject}", f"Date: {date(day)}",
         f"Message-ID: {mid}", "MIME-Version: 1.0", *extra]
    if html is None:
        return finish(env + "\n" + mail(h, 'text/plain; charset="utf-8"', qp(plain), "quoted-printable"))
    b = "----=_Part_" + hexs(12)
    parts = ([text_part(plain)] if plain else []) + [html_part(html)]
    return finish(env + "\n" + mail(h, f'multipart/alternative; boundary="{b}"', multipart(b, parts, preamble=None)))


def spam():
    track = "https://r.news-versand.com/mk/cl/f/"
    text = """Nur bis Freitag: 20 % Rabatt auf alle Bürostühle!

Sehr geehrte Damen und Herren,

sichern Sie sich jetzt unser Sonderangebot für ergonomische Bürostühle. Versand kostenlos ab 2 Stück.

Jetzt sichern: {t}a8Hk2

Sie erhalten diesen Newsletter, weil Sie sich auf bueroprofi-angebote.de angemeldet haben.
Newsletter abbestellen: {t}u9Xq1
Im Browser ansehen: {t}v1Lm0""".format(t=track)
    html = ("<html><body><table width=\"600\"><tr><td><h1>Nur bis Freitag: 20&nbsp;% Rabatt!</h1>"
            "<p>Sehr geehrte Damen und Herren,</p><p>sichern Sie sich jetzt unser Sonderangebot für ergonomische "
            f"Bürostühle.</p><p><a href=\"{track}a8Hk2\">Jetzt sichern</a></p><p style=\"font-size:10px\">"
            f"<a href=\"{track}u9Xq1\">Newsletter abbestellen</a> | <a href=\"{track}v1Lm0\">Im Browser ansehen</a>"
            "</p><img src=\"https://r.news-versand.com/mk/op/p1x1.gif\" width=\"1\" height=\"1\"></td></tr></table>"
            "</body></html>")
    SPAM.append(("07-marketing-de-ohne-header", stranger("BüroProfi Angebote", "info@bueroprofi-angebote.de",
                                                         "Nur bis Freitag: 20 % Rabatt auf Bürostühle", d(24, 6, 12),
                                                         text, html)))

    text = """Hi there,

I was looking at roewaplan.de and noticed it is not on the first page of Google for your main keywords.

Our SEO team builds high-quality backlinks and has helped 300+ companies get more traffic. We offer a free trial audit this month.

Would you be open to a quick chat? You can book a call here: https://calendly.com/rankboost-david/15min

Best regards,
David Miller
RankBoost Media

If you do not want to hear from us again, reply "unsubscribe"."""
    SPAM.append(("08-marketing-en-seo", stranger("David Miller", "david@rankboost-media.com",
                                                 "Quick question about roewaplan.de", d(24, 7, 3), text, None)))

    phish = "https://login-microsoftonline.secure-verify-365.com/owa/?id=mein-team-support"
    html = ("<html><body><div style=\"font-family:Segoe UI\"><h2>Microsoft 365</h2>"
            "<p>Sehr geehrter Benutzer,</p><p>Ihr Postfach wurde vorübergehend gesperrt, weil wir eine ungewöhnliche "
            "Anmeldeaktivität festgestellt haben.</p><p>Bitte bestätigen Sie Ihre Zugangsdaten innerhalb von 24 Stunden, "
            f"sonst wird Ihr Konto gelöscht.</p><p><a href=\"{phish}\" style=\"background:#0078d4;color:#fff;padding:8px\">"
            "Jetzt bestätigen</a></p><p>Ihr Microsoft 365 Team</p></div></body></html>")
    SPAM.append(("09-phishing-de-postfach-gesperrt", stranger("Microsoft 365 Team", "it-service@mail-sicherheit-center.com",
                                                              "Ihr Postfach wurde vorübergehend gesperrt", d(24, 5, 47),
                                                              None, html)))

    text = """Your account has been suspended

We were unable to process the last payment for your document workspace. To avoid losing access, please verify your account and update your payment details:

https://docsign-secure-mail.net.account-review.top/verify?u=mein-team-support

This link expires within 24 hours.

DocSign Billing"""
    SPAM.append(("10-phishing-en-account-suspended", stranger("DocSign Billing", "no-reply@docsign-secure-mail.net",
                                                              "Action required: your account has been suspended",
                                                              d(24, 4, 2), text, None)))

    # Look-alikes: must stay tickets.
    text = """Hallo Frau Berg,

könnten Sie uns bitte ein Angebot für die Schnittstelle zum neuen Zeiterfassungssystem schicken? Die Beschreibung des Herstellers finden Sie hier:
https://www.zeit-system-hersteller.de/schnittstellen/rest-api

Ist die Einrichtung kostenlos oder wird sie berechnet? Ein Termin zur Abstimmung wäre gut.

Viele Grüße
Markus Keller
Stadtwerke Musterstadt GmbH
https://www.stadtwerke-musterstadt.de"""
    SPAM.append(("11-not-spam-kunde-mit-links", build("outlook", MK, "Angebot Schnittstelle Zeiterfassung",
                                                      d(24, 8, 14), text)))

    text = """Guten Tag,

seit heute Morgen bricht der Import der Schichtpläne mit der Meldung "Datei ungültig" ab. Die Datei ist im Anhang unserer letzten Mail.

Mit freundlichen Grüßen
Selin Yilmaz
Landkreis Beispielhausen - Personalamt

--
Landkreis Beispielhausen | Kreishaus, Hauptstraße 1 | 76999 Beispielhausen
Abonnieren Sie unseren Newsletter: https://www.lk-beispielhausen.de/newsletter - jetzt anmelden und nichts verpassen!
Veranstaltungen im Kreis: https://www.veranstaltungen-bw.de/beispielhausen (kostenlos und exklusiv für Bürger)"""
    SPAM.append(("12-not-spam-kunde-newsletter-fusszeile", build("thunderbird", SY, "Import der Schichtpläne bricht ab",
                                                                 d(24, 8, 31), text)))

    text = """Hallo,

ich bin Pflegekraft im Klinikum und nutze MEIN TEAM für meine Dienstpläne. Seit gestern kann ich mich nicht mehr anmelden, die Fehlermeldung sehen Sie hier: https://prnt.sc/x7Qm2ab

Können Sie mir helfen? Abmelden und neu anmelden habe ich schon probiert.

Danke
Jana Becker"""
    SPAM.append(("13-not-spam-unbekannt-mit-screenshot-link", build("gmail", ("Jana Becker", "jana.becker88@gmail.com"),
                                                                    "Anmeldung geht nicht", d(24, 9, 2), text)))

    text = """Sehr geehrte Damen und Herren,

bei einer Prüfung habe ich eine Sicherheitslücke (Stored XSS) im Kundenportal gefunden, das unter https://portal.example-kunde.de/einsatzplanung läuft. Über das Feld "Bemerkung" lässt sich Skriptcode speichern, der bei anderen Benutzern ausgeführt wird.

Details und einen Nachweis finden Sie unter https://securelab.io/advisories/2026-117 (nicht öffentlich, Passwort folgt telefonisch). Ich veröffentliche nichts, bevor die Lücke behoben ist.

Mit freundlichen Grüßen
Dr. Paul Wendt
SecureLab"""
    SPAM.append(("14-not-spam-sicherheitsforscher", stranger("Dr. Paul Wendt", "p.wendt@securelab.io",
                                                             "Sicherheitslücke im Einsatzplanungsportal", d(24, 9, 40),
                                                             text, None)))

    text = """Guten Tag,

wir sind ein ambulanter Pflegedienst mit 40 Mitarbeitenden und suchen eine Software für die Dienstplanung. Könnten Sie uns ein Angebot schicken? Ist eine Testphase kostenlos?

Unser Träger ist die Diakonie Musterland: https://www.diakonie-musterland.de/ambulante-dienste

Bitte melden Sie sich innerhalb von 24 Stunden, wir entscheiden am Freitag.

Mit freundlichen Grüßen
Petra Lorenz
Pflegedienst Lorenz"""
    SPAM.append(("15-not-spam-interessent-angebot", stranger("Petra Lorenz", "p.lorenz@pflegedienst-lorenz.de",
                                                             "Anfrage Dienstplanung", d(24, 10, 5), text, None)))

    out = os.path.join(ROOT, "spam")
    for name, data in SPAM:
        write(os.path.join(out, name + ".eml"), data)


if __name__ == "__main__":
    main()
