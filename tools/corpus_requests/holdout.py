# Holdout split (round 3): written AFTER the round-3 rules were frozen (commits
# 60b8c90 + 9f7c624) and never used to tune them. Evaluation only: the learned
# part is trained on dev + dev2 + dev3 for the headline figure. New topics again
# (onboarding checklists, mileage allowance, noticeboard, phone list, keys,
# access control, bike leasing, supplier ratings).
# Each entry: (lang, subject, body)

FE = [
("de", "Onboarding-Checkliste hakt sich selbst ab", "Bei neuen Mitarbeitern werden in der Onboarding-Checkliste alle Punkte automatisch als erledigt markiert, sobald man den ersten Punkt abhakt. Wir wissen dadurch nicht mehr, was wirklich erledigt ist."),
("de", "Kilometerpauschale falsch", "In der Reisekostenabrechnung wird die Kilometerpauschale mit 0,03 € statt 0,30 € pro km gerechnet. Betrifft alle Abrechnungen, die ab dem 1. eingereicht wurden."),
("de", "Pinnwand: Beiträge verschwinden", "Beiträge, die wir auf der Pinnwand veröffentlichen, sind nach ein paar Stunden einfach weg. Im Papierkorb liegen sie auch nicht. Eingestellt haben wir dauerhaft sichtbar."),
("de", "Schulungsanmeldung verlangt Freigabe", "Mitarbeiter ohne Teamleiterrolle bekommen beim Anmelden zu einer Schulung die Meldung \"Freigabe durch Vorgesetzten erforderlich\", obwohl die Schulung als ohne Genehmigung konfiguriert ist. Bis vor zwei Wochen war das nicht so. Ich vermute einen Fehler in der Logik, nicht in den Rollen."),
("de", "Telefonliste leer nach Filter", "Wenn ich in der Telefonliste nach Abteilung Vertrieb filtere, ist die Liste leer, obwohl dort 23 Personen sind. Andere Abteilungen gehen."),
("de", "Projektzeiten speichern dauert ewig", "Das Speichern der Projektzeiten dauert seit Montag jedes Mal über eine Minute, manchmal kommt dann Gateway Timeout. Vorher ging das in zwei Sekunden."),
("de", "Dienstrad-Vertrag: PDF leer", "Der Überlassungsvertrag für das Dienstrad wird als leeres PDF (0 KB) erzeugt. Wir können so keine Verträge unterschreiben lassen."),
("de", "Ist der Geburtstagskalender kaputt?", "Ist der Geburtstagskalender kaputt? Er zeigt allen Leuten heute Geburtstag an, das Startseiten-Widget gratuliert gerade 480 Personen."),
("de", "SCHLÜSSELVERWALTUNG GEHT NICHT", "BEI DER AUSGABE EINES SCHLÜSSELS KOMMT IMMER \"OBJEKT NICHT GEFUNDEN\", EGAL WELCHER SCHLÜSSEL. BITTE UM SCHNELLE HILFE, DER HAUSMEISTER STEHT HIER."),
("en", "Supplier rating won't save", "Saving a supplier rating throws 'Validation failed: score must be a number' even though I'm entering whole numbers between 1 and 5."),
("en", "Checklist items tick themselves", "On the onboarding checklist, ticking the first item marks every item as done. We've lost track of what has actually been completed for our new starters."),
("en", "Phone list filter", "Filtering the phone list by the Sales department returns an empty list although there are 23 people in it. Other departments work."),
]

SE = [
("de", "Zutrittsprotokoll anderer Standorte", "Seit dem letzten Update kann ich im Zutrittsprotokoll nicht nur unseren Standort, sondern auch die Ein- und Ausgänge der Mitarbeiter im Werk Bremen sehen – mit Namen und Uhrzeiten. Ich bin nur Empfangskraft bei uns in Ulm."),
("de", "Nur damit Sie es wissen", "Hallo, nur damit Sie es wissen: Wenn man in der Telefonliste auf Details klickt und dann in der Adresszeile die Zahl hochzählt, kommt man auch an die Notfallkontakte und Privatnummern von Leuten, die ihre Daten gar nicht freigegeben haben."),
("de", "Mail offene Rechnung mit Link", "Unsere Buchhaltung hat eine Mail mit dem Betreff \"MEIN TEAM: offene Rechnung\" erhalten. Der Link führt auf eine Seite mit Ihrem Logo, auf der man sich mit den MEIN TEAM Zugangsdaten anmelden soll. Die Mail kam von einer Gmail-Adresse. Bitte warnen Sie auch andere Kunden."),
("de", "Zugangsdaten im Wiki", "Beim Durchsehen unseres Wikis habe ich eine Seite gefunden, auf der jemand die Zugangsdaten für das Admin-Konto und die Schnittstelle hinterlegt hat. Die Seite ist für alle Mitarbeiter lesbar. Was sollen wir jetzt tun, reicht es, das Passwort zu ändern?"),
("de", "Kilometerpauschale und noch was", "Die Kilometerpauschale wird falsch berechnet, siehe Screenshot. Außerdem ist mir aufgefallen, dass ich als Sachbearbeiterin die Abrechnungen aller Abteilungen einschließlich der Geschäftsleitung öffnen und sogar ändern kann. Das sollte eigentlich nicht möglich sein, oder?"),
("de", "Link macht mich zum Admin", "Wenn ich den Link aus der Mail \"Ihr Bericht ist fertig\" öffne, bin ich direkt als Administrator angemeldet, obwohl ich nur ein normaler Nutzer bin. Das passiert bei mehreren Kollegen."),
("de", "Unbekannte Geräte", "In meinem Profil unter Angemeldete Geräte stehen zwei Android-Handys, die ich nicht besitze. Ich habe nur ein iPhone. Sollte ich mir Sorgen machen?"),
("de", "Ausweisscans unbegrenzt abrufbar", "Bei der Zutrittskontrolle werden Scans der Personalausweise gespeichert und sind für alle Empfangsmitarbeiter unbegrenzt abrufbar, inklusive ehemaliger Besucher. Unser Datenschutzbeauftragter hält das für einen meldepflichtigen Vorfall."),
("de", "Mails von noreply@mein-team.de", "Wir bekommen seit heute Mails von noreply@mein-team.de, die zur Zahlung einer Lizenzverlängerung auffordern und eine ausführbare Datei im Anhang haben. Ist Ihr Mailserver vielleicht missbraucht worden?"),
("en", "Visitor ID scans", "Scans of visitors' ID cards are stored in the access control module and anyone at reception can open them, including for visitors from years ago. That can't be right."),
("en", "Wiki page with admin password", "I just found a wiki page that contains our admin login and the API secret, readable by all staff. What's the best way to handle this – is changing the password enough?"),
("en", "Strange devices on my account", "My profile lists two Android phones under signed-in devices. I only own an iPhone. Should I be worried?"),
]

UQ = [
("de", "Dienstrad beantragen", "Wie beantrage ich ein Dienstrad über MEIN TEAM und wer muss das genehmigen?"),
("de", "Von Schulung abmelden", "Kann ich mich von einer Schulung, für die ich angemeldet bin, selbst wieder abmelden, oder muss das die Personalabteilung machen?"),
("de", "Gelbes Warndreieck", "Bei einigen Einträgen in meiner Projektzeiterfassung erscheint ein gelbes Warndreieck. Was will mir das System damit sagen? Muss ich da etwas tun?"),
("de", "Eigene Durchwahl ändern", "Wo kann ich meine eigene Durchwahl in der Telefonliste ändern? Die stimmt seit dem Umzug nicht mehr."),
("de", "Gesamtnote Lieferantenbewertung", "Nach welchen Kriterien wird die Gesamtnote in der Lieferantenbewertung berechnet? Sind die einzelnen Punkte gewichtet?"),
("de", "Beitrag nur fürs Team", "Geht es, einen Pinnwand-Beitrag nur für mein Team sichtbar zu machen und nicht für die ganze Firma?"),
("de", "Sitzung läuft ab", "Mir wird ständig angezeigt \"Ihre Sitzung läuft in 5 Minuten ab\". Verliere ich dann meine Eingaben im Formular, und kann man die Zeit irgendwie verlängern?"),
("de", "Hotel teurer als erlaubt", "Was mache ich, wenn das Hotel teurer ist als die Obergrenze? Kann ich die Differenz trotzdem einreichen?"),
("de", "Zielvereinbarungen ansehen", "Kann ich mir meine bisherigen Zielvereinbarungen irgendwo gesammelt ansehen oder ausdrucken?"),
("en", "Unregister from a course", "Can I unregister myself from a training course or does HR have to do it?"),
("en", "Yellow warning icon", "Some of my project time entries show a yellow warning triangle. What does it mean and do I need to do anything?"),
("en", "Update my extension", "Where do I update my own phone extension in the phone list? It's been wrong since we moved offices."),
]

UM = [
("de", "Neuer Hausmeister", "Am Montag fängt unser neuer Hausmeister Herr Brandt an. Er braucht einen Zugang mit Rechten für die Schlüsselverwaltung und die Störungsmeldungen."),
("de", "Vertretung Empfang", "Frau Schuster vom Empfang ist drei Wochen im Urlaub. Bitte geben Sie Herrn Jung für diese Zeit ihre Rechte in der Zutrittskontrolle und nehmen Sie sie am 24. wieder weg."),
("de", "Übernahme Azubi", "Unsere Auszubildende Frau Demir wurde übernommen und ist jetzt Sachbearbeiterin im Einkauf. Bitte die Rolle Azubi entfernen und die Einkaufsrechte vergeben."),
("de", "Anmeldung nach Namensänderung", "Nach meiner Hochzeit wurde meine E-Mail-Adresse geändert, seitdem kann ich mich nicht mehr anmelden. Bitte meinen Benutzernamen auf die neue Adresse umstellen: l.bauer-stein@kunde.de"),
("de", "Zugang für den Betriebsrat", "Der Betriebsrat soll lesenden Zugriff auf die Dienstpläne aller Abteilungen bekommen. Bitte für die drei Mitglieder (Liste anbei) einrichten."),
("de", "Konto entsperren – dringend", "Unsere Schichtleiterin hat sich ausgesperrt (zu viele Fehlversuche) und die Nachtschicht beginnt in einer Stunde. Bitte entsperren Sie das Konto s.ludwig so schnell wie möglich."),
("de", "Rolle Projektleitung", "Herr Wagner hat ab sofort die Projektleitung für das Projekt Rathausumbau. Er kann aber die Projektzeiten seines Teams noch nicht freigeben. Bitte die Projektleiter-Rolle zuweisen."),
("de", "Externe Reinigungsfirma", "Die neue Reinigungsfirma braucht für zwei Vorarbeiter einen eingeschränkten Zugang, nur für die Störungsmeldungen ihres Bereichs. Bitte einrichten und bis Vertragsende 31.12. befristen."),
("de", "Ruhestand Herr Schubert", "Herr Schubert geht Ende des Monats in Rente. Bitte sein Konto zum 1. deaktivieren und seine Dokumente an seinen Nachfolger Herrn Pfeiffer übergeben."),
("en", "Access for works council", "Please give the three works council members read access to all department rosters. Names attached."),
("en", "Locked out before night shift", "Our shift lead locked herself out with too many wrong attempts and her shift starts in an hour. Please unlock s.ludwig asap."),
("en", "Retiring colleague", "Frank Kearney retires at the end of the month. Please deactivate his account on the 1st and hand his documents over to his successor."),
]

CR = [
("de", "Onboarding-Checkliste je Abteilung", "Wir hätten gerne für jede Abteilung eine eigene Onboarding-Checkliste statt der einen allgemeinen. Könnten Sie das umsetzen und uns sagen, was das kostet?"),
("de", "Telefonliste nicht zeitgemäß", "Die Telefonliste ist wirklich nicht mehr zeitgemäß: keine Fotos, keine Suche nach Kenntnissen, keine Ansicht nach Standort. Andere Firmen haben da längst ein richtiges Mitarbeiterverzeichnis. Können wir da bitte was Moderneres bekommen?"),
("de", "Weitere Kriterien Lieferantenbewertung", "In der Lieferantenbewertung möchten wir zusätzlich die Kriterien Nachhaltigkeit und Termintreue aufnehmen, jeweils mit eigener Gewichtung."),
("de", "Foto bei Schlüsselausgabe", "Bei der Schlüsselausgabe wäre es hilfreich, wenn man ein Foto des Schlüsselbunds hinterlegen könnte. Geht das als Erweiterung?"),
("de", "Zutritt per App", "Wir überlegen, die Zutrittskontrolle künftig per Smartphone-App statt Karte zu machen. Ist das mit MEIN TEAM umsetzbar und in welchem Rahmen bewegen sich die Kosten?"),
("de", "Jeden Monat doppelt tippen", "Es ist jeden Monat dasselbe Theater: die Reisekosten müssen wir in MEIN TEAM erfassen und danach nochmal in die Buchhaltungssoftware abtippen. Da muss endlich eine Übergabe her."),
("de", "Kommentare an der Pinnwand", "Schön wäre eine Kommentarfunktion unter den Pinnwand-Beiträgen, gerne mit der Möglichkeit, Kommentare zu moderieren."),
("de", "Dienstradantrag mit Betriebsrat", "Ab nächstem Jahr soll beim Dienstradantrag zusätzlich der Betriebsrat zustimmen. Bitte den Genehmigungsablauf entsprechend erweitern."),
("de", "Felder in der Telefonliste", "Bitte ergänzen Sie in der Telefonliste die Felder Raumnummer und Vertretung."),
("en", "Onboarding checklist per department", "We'd like a separate onboarding checklist per department instead of one general list. Could you implement that and let us know the cost?"),
("en", "Double entry every month", "Every month we enter travel expenses in MEIN TEAM and then type them all again into our accounting software. There really needs to be an export or interface for that."),
("en", "Comments on noticeboard posts", "A comment function under noticeboard posts would be nice, ideally with moderation."),
]

CORES = {
    "functional_error": FE,
    "security_error": SE,
    "usage_question": UQ,
    "user_management": UM,
    "change_request": CR,
}
