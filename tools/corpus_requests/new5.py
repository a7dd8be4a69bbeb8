# Split new5 (classifier round 5): written AFTER the round-5 rules, the two
# security floors and the umlaut folding of the learned part were frozen; the
# classifier was not changed afterwards. Confusable on purpose: security
# reports phrased as questions or side remarks, user management and errors
# that mention passwords, logins and admin rights, usage questions and change
# requests about security features (which are not security errors).
# Used for training and k-fold cross-validation like the other splits.
# Each entry: (lang, subject, body)

FE = [
("de", "Abmelden geht nicht", "Wenn ich oben rechts auf Abmelden klicke, dreht sich nur das Rad und nichts passiert. Ich muss den Browser schließen. Seit dem Update am Montag bei allen im Büro."),
("de", "Passwort ändern – Fehlermeldung", "Beim Ändern meines Passworts unter Mein Profil kommt jedes Mal \"Das Passwort erfüllt die Richtlinien nicht\", obwohl es 14 Zeichen, Zahlen und Sonderzeichen hat. Auch ganz einfache Varianten werden abgelehnt."),
("de", "Zwei-Faktor-SMS kommt nicht", "Die SMS mit dem Anmeldecode kommt seit heute Vormittag bei niemandem von uns an. Die Nummern stimmen, letzte Woche ging es noch. Wir kommen so gar nicht ins System."),
("de", "Dienstplan Export leer", "Der Excel-Export des Dienstplans liefert nur die Kopfzeile, alle Schichten fehlen. In der Ansicht ist der Plan vollständig. Betrifft alle Standorte."),
("de", "Urlaubsanspruch doppelt", "Bei drei Mitarbeiterinnen wird der Resturlaub aus dem Vorjahr zweimal gutgeschrieben, einmal am 1.1. und einmal am 1.4. Bitte prüfen Sie das, die Zahlen gehen so an die Lohnabrechnung."),
("de", "App zeigt alte Daten", "In der App sehe ich noch den Dienstplan von letzter Woche, im Browser ist der neue da. Abmelden und neu anmelden hilft nicht, Neuinstallation auch nicht."),
("de", "Anhang wird abgeschnitten", "PDF-Anhänge an Nachrichten im Postfach kommen beim Empfänger nur halb an, ab Seite 3 ist die Datei kaputt. Kleine Dateien gehen."),
("de", "Berechtigungsseite lädt nicht", "Die Seite Verwaltung > Rollen lädt bei mir als Admin nicht mehr, es kommt nach einer Minute \"504 Gateway Timeout\". Andere Verwaltungsseiten gehen."),
("en", "Logout button does nothing", "Clicking Log out in the top menu does nothing since yesterday's release, the page just stays as it is. Closing the browser is the only way out."),
("en", "Approval emails missing", "Managers have not received any approval emails since Thursday. The requests show up in their inbox in the app, but no email goes out. Nothing in spam."),
]

SE = [
("de", "kurze Rückfrage", "Kurze Rückfrage, vielleicht ist das ja Absicht: Wenn ich in der App auf \"Kollegen\" gehe, sehe ich bei allen die private Handynummer und Wohnadresse, auch bei Leuten, die das in ihrem Profil auf \"nicht anzeigen\" gestellt haben. Passt das so?"),
("de", "Komischer Anruf", "Bei uns hat heute jemand angerufen, der sich als MEIN TEAM Support ausgegeben hat, und wollte von unserer Lohnbuchhalterin die Zugangsdaten haben, \"für ein Update\". Sie hat nichts rausgegeben. Ruft ihr sowas wirklich an?"),
("de", "Noch was nebenbei", "Die Schichtvorlage hat wieder die falsche Farbe, aber das ist nicht so wichtig. Was mich mehr wundert: Unser Azubi konnte gestern die Gehaltsgruppen aller Kollegen in der Auswertung Personalkosten sehen, obwohl er nur die Rolle Mitarbeiter hat."),
("de", "Export an falsche Adresse?", "Der automatische Monatsexport mit den Stundenkonten geht laut Protokoll seit Februar an eine Adresse @gmx.de, die keiner von uns kennt. Eingetragen haben wir das nicht. Was sollen wir jetzt tun?"),
("de", "Alte Sitzung offen", "Ich war heute am Rechner in der Pausenküche, da war noch die Personalabteilung angemeldet – seit Freitag, laut Anzeige. Ich dachte, man wird nach einer Weile automatisch abgemeldet?"),
("de", "passwort im klartext", "wenn ich mir im profil die seite \"sicherheit\" anzeigen lasse und den quelltext öffne, steht mein aktuelles passwort da lesbar drin. ist das normal so?"),
("de", "Frage zum Dokumentenlink", "Wenn ich einen Link zu einer Gehaltsabrechnung kopiere und in einem privaten Fenster öffne, kommt das PDF direkt, ohne dass man sich anmelden muss. Ist das gewollt? Die Links landen ja auch mal in Mails."),
("de", "Ex-Mitarbeiter noch aktiv?", "Herr Sommer hat uns im März verlassen und wurde deaktiviert. Im Änderungsprotokoll steht aber, dass er letzte Woche noch drei Dienstpläne geändert hat. Wie kann das sein?"),
("en", "Odd thing in the export", "Not urgent, but: the absence export we downloaded this morning contains rows for people from Kellerman Solutions, which is a completely different company. Probably shouldn't be in our file?"),
("en", "Password reset email", "I got a password reset email I never asked for, and when I clicked the link (I know, I know) it let me set a new password for a colleague's account, not mine. Is that supposed to happen?"),
]

UQ = [
("de", "Zwei-Faktor einrichten", "Wie richte ich die Anmeldung mit zweitem Faktor für mich ein? Ich finde in meinem Profil nur die Passwort-Einstellungen. Geht das auch mit einer Authenticator-App statt SMS?"),
("de", "Wer sieht meine Krankmeldung?", "Wer kann eigentlich meine Krankmeldungen sehen, nur meine Teamleitung oder auch die Personalabteilung? Ich möchte das vor dem Hochladen wissen."),
("de", "Automatische Abmeldung", "Nach wie vielen Minuten ohne Aktivität wird man abgemeldet? Und kann ich das für unseren Mandanten selbst einstellen?"),
("de", "Passwortrichtlinie", "Welche Anforderungen gelten bei Ihnen für Passwörter (Länge, Sonderzeichen, Ablauf)? Unser Datenschutzbeauftragter möchte das für das Verarbeitungsverzeichnis wissen."),
("de", "Protokoll der Zugriffe", "Gibt es eine Übersicht, wer wann auf eine Personalakte zugegriffen hat? Wenn ja, wo finde ich die?"),
("de", "Dienstplan teilen", "Wie kann ich den Dienstplan für meine Abteilung als Link an Aushilfen schicken, die keinen Zugang haben? Oder geht das nur als PDF?"),
("de", "Vertretung einrichten", "Ich bin ab Montag drei Wochen im Urlaub. Wie stelle ich ein, dass meine Kollegin in der Zeit meine Urlaubsanträge genehmigen kann?"),
("de", "Wo sind die Vorlagen?", "Wo finde ich die Vorlagen für Arbeitszeugnisse? Im Handbuch steht Verwaltung > Vorlagen, aber den Punkt gibt es bei mir nicht."),
("en", "Which data is stored where?", "Our auditors are asking in which data centre our MEIN TEAM data is stored and whether backups leave the EU. Where can I find that information?"),
("en", "How do trusted devices work?", "What does \"remember this device\" on the login page actually do, and for how long? Some of my colleagues tick it on shared PCs and I want to tell them whether that's okay."),
]

UM = [
("de", "Zugang für neue Pflegekraft", "Ab 1. Juni fängt Frau Melanie Brandt als Pflegekraft auf Station 3 an. Bitte legen Sie einen Zugang mit der Rolle Mitarbeiterin an, Vorgesetzte ist Frau Yilmaz."),
("de", "Passwort läuft ab", "Bei mir steht seit gestern \"Ihr Passwort ist abgelaufen\", und beim Setzen eines neuen kommt keine Mail an. Können Sie mir ein neues Startpasswort schicken? Benutzer: k.ludwig"),
("de", "Adminrechte entziehen", "Frau Brenner war kommissarisch Personalleitung und hat dafür Adminrechte bekommen. Ab heute ist wieder Herr Otto zuständig, bitte nehmen Sie Frau Brenner die Adminrechte wieder weg."),
("de", "Zwei-Faktor zurücksetzen", "Ich habe ein neues Handy und komme nicht mehr an meine Authenticator-App. Können Sie den zweiten Faktor bei mir zurücksetzen, damit ich ihn neu einrichten kann?"),
("de", "Konto gesperrt nach Urlaub", "Nach drei Wochen Urlaub ist mein Konto gesperrt, es kommt \"Benutzer inaktiv\". Bitte wieder freischalten, Personalnummer 40117."),
("de", "Ausscheiden zum Monatsende", "Herr Jan Keller verlässt uns zum 31.05. Bitte deaktivieren Sie seinen Zugang zum 01.06., seine offenen Anträge soll Frau Roth übernehmen."),
("de", "Namensänderung", "Unsere Kollegin Sarah Meier heißt nach ihrer Heirat Sarah Lindner. Bitte Anzeigenamen und Anmeldenamen anpassen, die E-Mail-Adresse ändert sich auch."),
("de", "Leserechte Betriebsrat", "Der Betriebsrat soll Lesezugriff auf die Dienstpläne aller Abteilungen bekommen, aber nichts ändern dürfen. Die Mitglieder sind Herr Kurz, Frau Alt und Herr Baum."),
("en", "New starter next week", "We have a new site manager, Ciara Doyle, starting next Monday. Please create her account with the site manager role for Cork and send the invitation to ciara.doyle@northbridge-fm.co.uk."),
("en", "Locked out after too many attempts", "I mistyped my password too many times and now the account is locked. Could you unlock it? Username m.kelly."),
]

CR = [
("de", "Zwei-Faktor verpflichtend", "Wir möchten, dass für alle Führungskräfte der zweite Faktor verpflichtend ist und nicht abgeschaltet werden kann. Bitte schicken Sie uns ein Angebot, falls das eine Anpassung ist."),
("de", "Passwortrichtlinie verschärfen", "Unser IT-Sicherheitsbeauftragter wünscht sich für unseren Mandanten eine Mindestlänge von 12 Zeichen und Ablauf nach 180 Tagen. Ist das als Einstellung möglich oder müsste man das bei Ihnen beauftragen?"),
("de", "Single Sign-On mit Azure", "Wir stellen gerade auf Microsoft Entra ID um und hätten gerne, dass sich unsere Mitarbeiter mit ihrem Firmenkonto anmelden. Was würde die Anbindung kosten?"),
("de", "Feld für Notfallkontakt", "Im Mitarbeiterprofil fehlt uns ein Feld für einen Notfallkontakt, das nur die Personalabteilung sehen darf. Können Sie das ergänzen?"),
("de", "Automatische Abmeldung kürzer", "Bitte stellen Sie die automatische Abmeldung für die Terminals in der Produktion auf 2 Minuten statt 30. Die Geräte werden von vielen Leuten benutzt."),
("de", "Zugriffsprotokoll als Bericht", "Es wäre gut, wenn wir einmal im Monat automatisch einen Bericht bekämen, wer auf Personalakten zugegriffen hat. Bitte als Erweiterung einplanen."),
("de", "Genehmigung in zwei Stufen", "Urlaubsanträge über 10 Tage sollen künftig zuerst von der Teamleitung und dann von der Bereichsleitung genehmigt werden. Geht das umzubauen?"),
("de", "Export im neuen Format", "Unser Lohnbüro stellt auf ein neues Programm um, das die Stunden als CSV mit Semikolon und eigener Spaltenreihenfolge braucht. Bitte passen Sie den Export entsprechend an."),
("en", "IP restriction", "We would like logins from outside our office network to require the second factor every time, while logins from the office don't. Could you quote for that?"),
("en", "Audit log retention", "Our compliance team needs the audit log to be kept for 10 years instead of 2. Please let us know whether that can be configured and what it would cost."),
]

CORES = {
    "functional_error": FE,
    "security_error": SE,
    "usage_question": UQ,
    "user_management": UM,
    "change_request": CR,
}
