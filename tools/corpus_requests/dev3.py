# Third dev split (dev3). Written as holdout 2 AFTER the round-2 rules were
# frozen (commit 47b31ce); the honest figure on it was 65.0 % accuracy and
# 33.3 % security recall. Since round 3 it is development data. New topics on purpose (safety
# briefings, pool cars, surveys, canteen, wiki, applicants, parents' portal).
# Each entry: (lang, subject, body)

FE = [
("de", "Unterweisung lässt sich nicht abschließen", "Unsere Azubis können die Arbeitsschutz-Unterweisung nicht abschließen. Nach der letzten Frage drücken sie auf Fertig und landen wieder bei Frage 1, ein Zertifikat wird nicht erzeugt. Betrifft alle sechs."),
("de", "Fahrzeugbuchung: Kilometerstand", "Beim Zurückgeben eines Dienstwagens lässt sich der Kilometerstand nur mit maximal 5 Stellen eintragen. Unser Sprinter hat 134.560 km, das Feld schneidet die letzte Ziffer ab und dann meckert das System, der Stand sei kleiner als beim Ausleihen."),
("de", "Umfrage Auswertung zeigt 0 %", "Die Mitarbeiterbefragung ist seit Freitag beendet, 87 Leute haben teilgenommen, aber in der Auswertung steht bei allen Fragen 0 % und 0 Antworten. Die Rohdaten im Export sind da."),
("de", "Gruppenrechte – Fehlermeldung beim Speichern", "Ich wollte der Gruppe Kantine Leserechte auf den Speiseplan-Ordner geben. Beim Klick auf Speichern kommt \"Ein interner Fehler ist aufgetreten (Ref 5521)\" und nichts wird gespeichert. Das Recht hinzufügen hat letzten Monat bei anderen Ordnern problemlos geklappt."),
("de", "Chat Nachrichten kommen verspätet", "Im Team-Chat kommen Nachrichten teils erst 10–15 Minuten später beim Empfänger an. Wir merken das vor allem bei der Schichtübergabe, das ist ziemlich blöd. Unser Netzwerk ist in Ordnung."),
("de", "Wiki-Seite zerschossen", "Nachdem ich eine Tabelle in unsere Wiki-Seite Notfallplan eingefügt habe, ist die ganze Seite nur noch grauer Text mit lauter HTML-Tags drin. Auch die Versionshistorie zeigt das so an. Können Sie die alte Version wiederherstellen und schauen, woran das liegt?"),
("de", "Zeugnisgenerator", "Kann es sein, dass der Zeugnisgenerator seit dem Update das Geschlecht vertauscht? Bei Frau Ilić steht jetzt überall Herr Ilić und er, obwohl im Profil weiblich hinterlegt ist."),
("de", "Kantine doppelt abgebucht", "ich habe heute einmal Mittagessen bestellt, auf meinem Kantinenkonto sind aber 2x 4,90 € abgebucht worden. Bei zwei Kolleginnen ist es genauso."),
("de", "Ideenmanagement Upload bleibt stehen", "Wenn man eine neue Idee einreichen will, bleibt der Dialog beim Hochladen eines Bildes bei 99 % stehen. Ohne Bild geht es."),
("en", "Survey link leads to 404", "The link in the staff survey invitation goes to a 404 page for everyone who clicks it. The survey is active in the admin view."),
("en", "Mileage field cuts off digits", "When returning a pool car the mileage field only takes five digits, so our van's 134,560 km gets truncated and the system then complains the reading is lower than at checkout."),
("en", "Timesheet won't submit", "Hitting submit on my timesheet just spins forever. I tried three times today, and two colleagues have had the same problem since this morning's release."),
]

SE = [
("de", "Merkwürdige Weiterleitung", "Wenn ich auf unseren MEIN TEAM Link auf der Intranet-Startseite klicke, lande ich manchmal auf einer Seite, die genauso aussieht, aber eine andere Adresse hat und nochmal nach meinem Passwort fragt. Ist das normal?"),
("de", "Bewerbungen für alle Teamleiter sichtbar", "Im Bewerbermanagement sehen seit dieser Woche auch die normalen Teamleiter alle Bewerbungen inklusive Gehaltsvorstellungen und Lebensläufen, auch für Stellen, mit denen sie nichts zu tun haben. Das war vorher streng auf die Personalabteilung beschränkt."),
("de", "Freigabelink zeigt den ganzen Ordner", "Ich habe einen Freigabelink für ein Dokument an einen Kunden geschickt. Jetzt habe ich gemerkt, dass man mit dem Link auch alle anderen Dokumente im selben Ordner sehen kann, indem man die Nummer am Ende ändert."),
("de", "nur so ne frage", "nur so ne frage am rande: wenn ich mich in der app anmelde, steht das passwort danach im klartext in den app-einstellungen unter gespeicherte zugangsdaten. muss das so?"),
("de", "Zugriffe aus dem Ausland", "Unsere IT hat in der Firewall Verbindungen zu unserem MEIN TEAM-Konto aus Russland und Brasilien gesehen, mit unserem Admin-Benutzer. Keiner von uns war dort. Können Sie bitte nachsehen, was da gemacht wurde?"),
("de", "Dienstplan Oktober", "Der Dienstplan für Oktober wird nicht richtig gedruckt (Spalten verrutscht), bitte mal anschauen. Was mich mehr beunruhigt: die automatische Mail mit dem Dienstplan ging heute auch an eine Adresse bei einer fremden Firma, die nie bei uns war."),
("de", "Makro in der Vertragsvorlage", "In der Wordvorlage für Arbeitsverträge, die wir aus MEIN TEAM herunterladen, ist plötzlich ein Makro drin, das beim Öffnen eine Verbindung ins Internet aufbauen will. Das haben wir nicht eingebaut."),
("de", "Reset-Code an fremde Nummer", "Beim Passwort-Reset schickt das System den Code an eine Handynummer, die gar nicht meine ist (endet auf 4471). Jemand anders könnte sich also mit meinem Konto anmelden. Bitte dringend prüfen."),
("de", "DATENSCHUTZ!!!", "IM ÖFFENTLICHEN BEREICH DER KARRIERESEITE SIND DIE ANHÄNGE VON BEWERBERN (ZEUGNISSE, AUSWEISKOPIEN) PER GOOGLE AUFFINDBAR. BITTE SOFORT OFFLINE NEHMEN."),
("en", "Possible breach?", "One of our managers got an email from an address outside the company containing a screenshot of our internal staff directory from MEIN TEAM. We have no idea how they got it. How can we check who accessed or exported it?"),
("en", "Session stays alive", "If I close the browser on a shared kiosk PC and someone else opens it, they're still logged in as me, even hours later. Shouldn't the session expire?"),
("en", "Export link works without login", "The export link in the report email can be opened from my phone without ever logging in, and it shows everyone's overtime and salaries. Is that intended?"),
]

UQ = [
("de", "Unterweisung wiederholen", "Muss ich die Arbeitsschutz-Unterweisung jedes Jahr neu machen, oder wird das automatisch angestoßen? Und wo sehe ich, wann meine letzte war?"),
("de", "Dienstwagen für zwei Tage", "Wie reserviere ich einen Dienstwagen für eine Fahrt über zwei Tage? Ich finde nur die Auswahl für einzelne Stunden."),
("de", "Umfrage anonym?", "Sind die Antworten bei der Mitarbeiterbefragung wirklich anonym, oder kann die Führungskraft sehen, wer was geantwortet hat? Das fragen mich gerade viele Kollegen."),
("de", "Meldung Budget überschritten", "Beim Anlegen einer Dienstreise kommt die rote Meldung \"Budget der Kostenstelle überschritten\". Darf ich die Reise trotzdem einreichen und entscheidet dann mein Chef, oder ist das eine Sperre?"),
("de", "Essen abbestellen", "Bis wann kann ich ein bestelltes Mittagessen in der Kantine wieder stornieren?"),
("de", "Wiki-Seite verschieben", "Wie kann ich eine Wiki-Seite in einen anderen Bereich verschieben, ohne dass die Links darauf kaputtgehen?"),
("de", "Resturlaub komisch", "Bei mir steht Resturlaub 31,5 Tage, ich habe aber nur 30 Tage Anspruch. Kommt das vom Übertrag aus dem letzten Jahr? Wie wird das berechnet?"),
("de", "Mitarbeitergespräch vorbereiten", "Wo finde ich den Leitfaden für das Mitarbeitergespräch, und kann mein Mitarbeiter den Bogen vorab selbst ausfüllen?"),
("de", "Zwei Kinder im Elternportal", "Ich habe zwei Kinder in unterschiedlichen Gruppen der Betriebskita. Kann ich beide über ein Konto im Elternportal verwalten oder brauche ich zwei Logins?"),
("en", "Cancel a lunch order", "Until what time can I cancel a canteen order for the same day?"),
("en", "Is the survey anonymous?", "Are the answers in the staff survey actually anonymous? Several people on my team are asking before they fill it in."),
("en", "How is overtime calculated", "How does the system calculate overtime on public holidays? My balance went up by more than I expected and I'd like to understand why."),
]

UM = [
("de", "Neue Azubis Oktober", "Zum 1. Oktober fangen vier neue Auszubildende an (Liste anbei). Bitte Zugänge einrichten, Rolle Azubi, Standort Heilbronn."),
("de", "Login geht nicht mehr", "Ich komme seit meinem Urlaub nicht mehr in MEIN TEAM rein, es kommt \"Benutzer gesperrt\". Wahrscheinlich zu oft falsch eingegeben. Bitte entsperren, Benutzer: k.maier"),
("de", "Zugriff Bewerbungen für Herrn Vogt", "Herr Vogt aus der Produktion soll bei der Besetzung der Schichtleiterstelle mitentscheiden. Bitte ihm befristet bis Ende November Zugriff auf die Bewerbungen für diese eine Stelle geben."),
("de", "Elternzeit Frau Hahn", "Frau Hahn geht ab 1.12. für ein Jahr in Elternzeit. Bitte ihr Konto für diese Zeit ruhend stellen, aber nicht löschen."),
("de", "Separates Adminkonto", "Für unseren IT-Kollegen hätten wir gerne ein separates Administratorkonto, damit er für seine normale Arbeit nicht mit Adminrechten unterwegs ist."),
("de", "Wechsel Kostenstelle Herr Lindner", "Herr Lindner wechselt zum 1.11. in die Kostenstelle 4711 und das Team Instandhaltung. Bitte in seinem Benutzerkonto entsprechend umstellen."),
("de", "E-Mail-Adresse falsch geschrieben", "Bei der Anlage von Frau Nowak ist die E-Mail-Adresse falsch geschrieben worden (nowack statt nowak), deshalb kommt bei ihr keine Einladung an. Können Sie das korrigieren und die Einladung nochmal senden?"),
("de", "Zugänge nach Projektende entziehen", "Das Projekt Neubau Halle 5 ist abgeschlossen. Bitte den externen Architekten (3 Personen, Firma Stein & Partner) die Zugänge entziehen."),
("de", "Vertretung Personalabteilung", "Während Frau Albers krank ist, braucht Herr Kurz vorübergehend ihre Berechtigungen in der Personalabteilung. Bitte ab sofort bis auf Widerruf."),
("en", "New hire next week", "Tomás Reilly joins the warehouse team next Tuesday. Could you create his login and put him in the Warehouse group?"),
("en", "Reset mail not arriving", "I can't log in anymore and the reset email doesn't show up, not even in junk. Can you send me a new temporary password? Username j.nolan."),
("en", "Remove access for contractor", "Our contractor's engagement ended last Friday. Please revoke all of their accesses: p.doyle and m.quinn."),
]

CR = [
("de", "Unterweisung mit Video", "Für die Arbeitsschutz-Unterweisung hätten wir gerne die Möglichkeit, statt nur Text auch kurze Videos einzubinden, die bis zum Ende angeschaut werden müssen. Bitte um Rückmeldung, was das kosten würde."),
("de", "Fahrzeugbuchung nervt", "Die Fahrzeugbuchung ist so, wie sie jetzt ist, eine echte Geduldsprobe: fünf Klicks, bis man überhaupt ein Auto sieht, und keine Übersicht, welche frei sind. Bitte bauen Sie eine Kalenderansicht aller Fahrzeuge ein, das wünschen sich hier alle."),
("de", "Allergene im Speiseplan", "Im Speiseplan sollen künftig die Allergene und Zusatzstoffe zu jedem Gericht angezeigt werden, das ist für uns gesetzlich vorgeschrieben."),
("de", "Matrixfragen in Umfragen", "Wäre es möglich, bei den Umfragen auch Matrixfragen (mehrere Aussagen mit derselben Skala) anzubieten? Das vermissen wir sehr."),
("de", "Anbindung Zeiterfassungsterminals", "Wir schaffen neue Zeiterfassungsterminals von Firma Kaba an. Können die Buchungen automatisch in MEIN TEAM übernommen werden? Bitte um ein Angebot für die Anbindung."),
("de", "Wiki-Bereich als PDF", "Für Audits bräuchten wir die Möglichkeit, einen ganzen Wiki-Bereich auf einmal als PDF zu exportieren, mit Inhaltsverzeichnis."),
("de", "Formular Mitarbeitergespräch zu starr", "Ich ärgere mich jedes Jahr über das starre Formular fürs Mitarbeitergespräch. Wir wollen eigene Fragen ergänzen und die Bewertungsskala von 1–5 auf 1–4 ändern. Das muss doch machbar sein."),
("de", "Kosten Release 8", "Mit welchen Kosten müssen wir rechnen, wenn wir von Version 7 auf das neue Release 8 wechseln? Und was ändert sich für die Anwender?"),
("de", "SMS bei Schichtänderung", "Für unsere Fahrer ohne Dienst-Smartphone wäre eine SMS-Benachrichtigung bei Schichtänderungen sinnvoll. Ist so etwas machbar?"),
("en", "Allergen info on the menu", "We'd like the canteen menu to list allergens for each dish – it's a legal requirement for us from January."),
("en", "Survey tool is too basic", "Honestly the survey tool is too basic for our needs: no matrix questions, no branching, no way to reuse a question set. Please consider extending it, we'd pay for it."),
("en", "Integrate our time clocks", "We're installing new time clocks from Kaba. Could their punches flow into MEIN TEAM automatically? Please quote us for the integration."),
]

CORES = {
    "functional_error": FE,
    "security_error": SE,
    "usage_question": UQ,
    "user_management": UM,
    "change_request": CR,
}
