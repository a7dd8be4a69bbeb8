# Second dev split (dev2). Written as holdout 1 AFTER the round-1 rules were
# frozen (commit b02e02d); the honest figure on it was 60.0 % accuracy and
# 58.3 % security recall. Since round 2 it is development data (the rules were
# revised looking at it); the new holdout is holdout.py.
# Each entry: (lang, subject, body)

FE = [
("de", "Raumbuchung zeigt belegt", "Bei der Raumbuchung wird der Besprechungsraum 2.14 für den ganzen Donnerstag als belegt angezeigt, obwohl im Belegungsplan nur ein Termin von 9 bis 10 steht. Buchen kann man ihn deshalb nicht. Gestern Abend ging das noch problemlos."),
("de", "Schichtplan druckt nur erste Woche", "Wenn ich den Schichtplan für den Monat als PDF ausgebe, kommen nur die ersten sieben Tage raus, der Rest ist weg. Früher kam immer der ganze Monat."),
("de", "Inventar: Rückgabe klappt nicht", "Beim Klick auf Rückgabe im Inventarmodul erscheint kurz ein Ladebalken, dann passiert nichts und das Notebook steht weiterhin auf meinem Namen. Mehrmals probiert, auch nach Abmelden und neu Anmelden."),
("de", "Rolle wird nach Speichern falsch angezeigt", "Wenn ich in der Benutzerverwaltung einem Kollegen die Rolle Schichtleitung gebe und speichere, zeigt die Liste danach wieder die alte Rolle an. Nach Neuladen der Seite ist die neue Rolle aber doch da. Scheint ein Anzeigeproblem zu sein, verwirrt aber alle."),
("de", "Besucheranmeldung: QR-Code fehlt", "Die Einladungsmails für Besucher enthalten seit letzter Woche keinen QR-Code mehr, nur ein kaputtes Bildsymbol. Am Empfang können wir die Gäste so nicht einchecken."),
("de", "Fortbildungskatalog sortiert nicht", "Im Fortbildungskatalog reagiert die Sortierung nach Datum nicht, egal ob man auf- oder absteigend wählt, die Reihenfolge bleibt gleich."),
("de", "Pausen werden doppelt abgezogen", "Bei Schichten über 9 Stunden zieht das System die Pause zweimal ab (2x 45 min). Dadurch fehlen unseren Leuten jede Woche Stunden auf dem Konto. Bitte schnell korrigieren, der Betriebsrat fragt schon."),
("de", "tablet ansicht", "auf dem tablet (ipad) überlappen sich in der wochenansicht die termine, man kann nichts mehr anklicken. am pc ist alles ok."),
("de", "Warum kommt keine Mail mehr?", "Warum bekomme ich seit Dienstag keine Benachrichtigungen mehr, wenn mir jemand eine Aufgabe zuweist? In meinen Einstellungen ist alles aktiviert und im Spam ist auch nichts. Bei zwei Kollegen das gleiche."),
("en", "Expense totals off by a few cents", "The expense summary rounds every single item before adding them up, so the total is off by a few cents on most reports. Accounting keeps bouncing them back."),
("en", "Room booking calendar blank", "The room booking calendar has been blank since this morning for everyone in our Dublin office. The list view still works, only the calendar view shows nothing."),
("en", "Can't attach photos in the app", "Attaching a photo to a defect report in the iOS app does nothing – the picker closes and no photo is added. Worked last week on the same phones."),
]

SE = [
("de", "Teilen-Dialog", "Ich wollte eigentlich nur fragen, wie man ein Dokument mit einer Kollegin teilt. Dabei ist mir aufgefallen, dass im Teilen-Dialog in der Vorschlagsliste auch Leute aus anderen Organisationen mit vollem Namen und Handynummer auftauchen. Ist das Absicht?"),
("de", "Nachricht von Ex-Kollegin", "Eine Kollegin, die seit Ende Januar nicht mehr bei uns ist, hat mir gestern eine Nachricht über MEIN TEAM geschickt. Ihr Zugang müsste doch längst gesperrt sein?!"),
("de", "Ist diese Mail echt?", "Wir haben eine E-Mail bekommen, angeblich von MEIN TEAM, mit der Aufforderung, das Passwort innerhalb von 24 Stunden über einen Link zu erneuern. Der Absender war support@mein-team-sicherheit.net. Ist die echt? Einige haben schon geklickt."),
("de", "Rechnung eines anderen Kunden in unserem Ordner", "In unserem Dokumentenordner Rechnungen liegt seit heute eine Rechnung, die eindeutig nicht an uns gerichtet ist, sondern an ein Autohaus in Bremen, mit deren Bankverbindung. Wie kommt die zu uns?"),
("de", "Passwort in der Adresszeile", "Beim Klick auf den Link in der Willkommensmail steht das Passwort des neuen Benutzers als Parameter in der Adresszeile und damit auch im Browserverlauf und in unseren Proxy-Logs."),
("de", "Komisches Fenster bei Bewerbung", "Ein Bewerber hat im Bewerbungsformular als Vornamen \"<img src=x onerror=...>\" eingetragen und bei der Sachbearbeiterin ging beim Öffnen ein Fenster auf. Bitte prüfen, ob da was passiert sein kann."),
("de", "Export enthält zu viel", "Wenn ich als Teamleiterin die Liste meines Teams exportiere, stehen in der Excel-Datei auch die Gehälter und Privatadressen aller Mitarbeitenden des Unternehmens drin, nicht nur meines Teams. In der Oberfläche sehe ich die nicht."),
("de", "blöde frage", "mal ne blöde frage: wieso kann eigentlich jeder bei uns die Krankmeldungen der anderen lesen, wenn er im Suchfeld nach dem Namen sucht? ist das so eingestellt?"),
("de", "Schnittstelle liefert Mitarbeiterliste ohne Token", "Unser Dienstleister hat festgestellt, dass die REST-Schnittstelle unter /api/v1/employees ohne Token die komplette Mitarbeiterliste ausliefert. Bitte umgehend schließen, falls das jemand abgerufen hat, ist das nach DSGVO meldepflichtig."),
("en", "I can see other people's timesheets", "Not sure if this is a bug or a feature, but if I change the week number in the timesheet URL I end up seeing timesheets of people in other departments. I'm not a manager."),
("en", "Fake login page", "Someone sent our staff a link to meinteam-portal-login.co that looks exactly like your sign-in page. Can you get it taken down? At least one colleague typed in his password."),
("en", "Account activity I didn't do", "My account shows that I approved three invoices last night at 2am. I was asleep. Could someone have access to my account?"),
]

UQ = [
("de", "Raum für mehrere Tage", "Kann ich einen Raum gleich für eine ganze Woche am Stück reservieren, oder muss ich jeden Tag einzeln buchen?"),
("de", "Meldung Kein Kontingent", "Beim Beantragen einer Fortbildung kommt \"Kein ausreichendes Kontingent vorhanden\". Heißt das, mein Fortbildungsbudget ist aufgebraucht? Wo sehe ich, wie viel ich noch habe?"),
("de", "Was passiert nach Ablehnung", "Wenn mein Vorgesetzter meinen Antrag ablehnt, kann ich den dann korrigieren und neu einreichen oder muss ich einen komplett neuen anlegen?"),
("de", "Schichttausch", "Wie funktioniert ein Schichttausch mit einer Kollegin? Muss die Schichtleitung das bestätigen?"),
("de", "Inventarliste herunterladen", "In welchem Format kann ich die Inventarliste herunterladen? Wir bräuchten sie für die Jahresinventur als Excel oder CSV."),
("de", "Geht nicht?", "Ich versuche seit einer halben Stunde meine Überstunden abzubauen, aber im Antrag gibt es die Option Freizeitausgleich nicht. Geht das gar nicht über MEIN TEAM oder übersehe ich etwas?"),
("de", "Push-Nachrichten", "Bekomme ich die Push-Nachrichten auch auf dem Handy, wenn die App geschlossen ist? Und wo schalte ich die ein?"),
("de", "Nur meinen Standort anzeigen", "Ist es möglich, im Kalender nur die Termine meines Standorts anzuzeigen? Mir werden alle Standorte angezeigt und das ist sehr unübersichtlich."),
("de", "Verständnisfrage", "Kurze Verständnisfrage: was ist bei Ihnen der Unterschied zwischen einer Aufgabe und einem Vorgang? Die Schulung ist schon eine Weile her."),
("en", "Booking a room for external guests", "What's the right way to book a meeting room when the attendees are external visitors? Do I have to register them separately?"),
("en", "Remaining leave", "Quick one: where can I see how many days of annual leave I have left for this year?"),
("en", "Upload limit?", "What's the maximum file size for uploads in the document area? I have a 120 MB video of the safety briefing I'd like to share."),
]

UM = [
("de", "Zugang für neue Schichtleiterin", "Ab dem 15. beginnt Frau Petrović bei uns als Schichtleiterin in der Spätschicht. Bitte richten Sie ihr ein Konto ein und geben ihr die Rechte zum Bearbeiten des Schichtplans."),
("de", "Kennwort abgelaufen", "Mein Kennwort ist abgelaufen und beim Ändern kommt immer \"entspricht nicht den Richtlinien\". Können Sie mir bitte ein Startkennwort schicken?"),
("de", "Austritt Herr Albrecht", "Herr Albrecht ist zum Monatsende ausgetreten. Bitte sein Konto sperren und seine offenen Aufgaben an Frau Seidel übertragen."),
("de", "Zugriff Inventarmodul", "Unsere neue Hausmeisterin braucht Zugriff auf das Inventarmodul (nur lesen und Rückgaben buchen). Die Freigabe durch die Verwaltungsleitung liegt vor."),
("de", "Falscher Standort im Profil", "Bei drei Kolleginnen ist im Benutzerprofil noch der alte Standort Esslingen hinterlegt, sie arbeiten seit März in Plochingen. Können Sie das umstellen, damit sie die richtigen Schichten sehen?"),
("de", "Fehlermeldung beim Anmelden", "Seit heute steht bei mir beim Anmelden \"Ihr Konto wurde deaktiviert\". Ich bin aber noch ganz normal angestellt. Kann mich bitte jemand wieder freischalten?"),
("de", "Doppeltes Konto", "Herr Roth hat aus Versehen zwei Konten (einmal mit privater, einmal mit dienstlicher Mail). Bitte das private Konto löschen und die Daten auf das dienstliche zusammenführen."),
("de", "Sekretariat soll Termine eintragen", "Unser Sekretariat soll für den Geschäftsführer Termine eintragen und seine Reiseanträge vorbereiten dürfen. Welche Rolle müssen wir dafür vergeben? Können Sie das bitte einrichten."),
("de", "Saisonkräfte", "Für die Saison kommen 22 Aushilfen. Können Sie die anhand der beigefügten Liste anlegen und nach Saisonende am 31.10. automatisch deaktivieren?"),
("en", "New starter Monday", "We have a new starter on Monday, Aoife Brennan, facilities coordinator. Please set her up with the standard staff profile and access to the room booking module."),
("en", "Locked out", "I've been locked out after typing my password wrong too many times. Could you unlock my account? Username is d.kelly."),
("en", "Change of line manager", "Ciara moved to the HR team; please move her under Tom as line manager so her leave requests go to him instead of me."),
]

CR = [
("de", "Catering bei Raumbuchung", "Es wäre super, wenn man bei der Raumbuchung direkt Catering (Kaffee, Wasser, Snacks) mitbestellen könnte. Aktuell schreiben wir dafür extra Mails an die Küche. Was würde so eine Erweiterung kosten?"),
("de", "Schichtplan unübersichtlich", "Ehrlich gesagt ist der Schichtplan in der aktuellen Form für unsere Schichtleiter eine Zumutung: man sieht immer nur eine Woche, und Farben für Früh/Spät/Nacht gibt es auch nicht. So geht das nicht weiter, wir brauchen eine Monatsansicht mit Farben."),
("de", "Kategorie Werkzeug", "Im Inventarmodul fehlt uns die Kategorie Werkzeug. Können Sie die ergänzen und dazu die Felder Seriennummer und Prüfdatum?"),
("de", "Fortbildungsantrag zweistufig", "Künftig soll jeder Fortbildungsantrag über 1.000 Euro erst vom Bereichsleiter und dann von der Personalabteilung genehmigt werden. Bitte den Ablauf so umbauen."),
("de", "Export nach DATEV", "Wir würden gerne die Spesenabrechnungen direkt im DATEV-Format exportieren, damit unsere Steuerberaterin nicht alles abtippen muss."),
("de", "Unmöglich!", "Dass man in MEIN TEAM keine Vorlagen für wiederkehrende Anträge speichern kann, ist echt ein Witz. Jeden Monat das gleiche Formular von vorne ausfüllen – das muss doch besser gehen."),
("de", "Besucherausweis", "Könnte man bei der Besucheranmeldung zusätzlich einen Besucherausweis mit Foto ausdrucken lassen? Bitte um ein Angebot."),
("de", "Erinnerung an Prüftermine", "Wir möchten, dass das System 4 Wochen vor Ablauf einer Geräteprüfung automatisch eine Mail an den Verantwortlichen schickt. Geht das als Anpassung?"),
("de", "Startseite selbst anordnen", "Die Kacheln auf der Startseite sollten sich von jedem Nutzer selbst anordnen lassen. Viele brauchen die Raumbuchung gar nicht und wollen sie nach hinten schieben."),
("en", "Idea: Teams meeting links", "Could room bookings automatically create a Microsoft Teams meeting link? That would save us a lot of copying and pasting. Happy to discuss scope and pricing."),
("en", "Seriously, no bulk approve?", "Managers have to approve each timesheet one by one, there's no way to select several and approve them together. With 40 people per team that's a joke. Please add bulk approval."),
("en", "Custom fields for assets", "We'd need two custom fields on assets: warranty end date and supplier contract number, both visible in the list and in the export."),
]

CORES = {
    "functional_error": FE,
    "security_error": SE,
    "usage_question": UQ,
    "user_management": UM,
    "change_request": CR,
}
