# Split new4b: written AFTER the independent check on fixtures/pipeline showed
# one miss (a request to extend a user's roles/permissions classified as a
# change request). It covers that general gap in the training data -- role and
# permission extensions, which are user management, not change requests --
# with mails of its own (no text taken from the fixture); the rules stayed
# frozen. Because of it, the independent figure is no longer fully untouched.
# Each entry: (lang, subject, body)

UM = [
("de", "Berechtigung erweitern", "Bitte erweitern Sie die Rechte von Frau Lea Hofmann: Sie soll zusätzlich zur Rolle Mitarbeiterin auch Schichtleiterin für die Frühschicht Halle 2 sein. Die Zustimmung ihres Vorgesetzten liegt mir vor."),
("de", "Zusätzliche Rolle für Herrn Kaya", "Herr Kaya braucht zusätzlich die Rolle \"Zeiterfassung Prüfer\" im Bereich Logistik. Seine bisherigen Rechte sollen bleiben."),
("de", "Rechte auf weitere Abteilung ausweiten", "Können Sie die Berechtigung unserer Personalsachbearbeiterin Frau Engel auf die Abteilung Technik ausweiten? Bisher sieht sie nur die Verwaltung. Freigabe durch die Personalleitung ist erteilt."),
("de", "Rolle Disponent ergänzen", "Für unseren Kollegen Dennis Vogt bitte die Rolle Disponent im Modul Tourenplanung ergänzen, zusätzlich zu seiner Fahrerrolle."),
("de", "Zugriff erweitern Lohnbüro", "Bitte geben Sie Frau Alici zusätzlich Lesezugriff auf die Zeitkonten aller Standorte. Sie übernimmt ab Juli die Lohnvorbereitung."),
("en", "Extend permissions", "Please extend Mark Doyle's permissions: in addition to his employee role he should get the approver role for the Galway team. His manager has signed off."),
]

CORES = {"user_management": UM}
