"""Customer-service message templates for the PII corpus (`tests/support/pii_corpus.py`).

Slots in braces are filled per sample. Personal data: {name} (first and last name), {surname} (after a
title written in the template), {first} (first name in a sign-off), {address} (street, number, postcode
and city), {street} (street and number), {email}, {phone}, {iban}, {card}, {dob} (a date of birth),
{customer_id}, {policy} (POL-...), {kvnr} (German health-insurance number), {tax_id} (German Steuer-ID;
in English the locale's UK NI number or US SSN, named by {tax_label}). Look-alikes that must stay:
{order}, {claim}, {amount}, {date} (an ordinary date), {product}, {tracking}, {time}.
"""

from __future__ import annotations

__all__ = ["HOLDOUT_DE", "HOLDOUT_EN", "TEMPLATES_DE", "TEMPLATES_EN"]

TEMPLATES_DE: tuple[str, ...] = (
    (
        "Guten Tag, mein Name ist {name}. Meine Bestellung {order} ist immer noch nicht angekommen. "
        "Bitte rufen Sie mich unter {phone} zurück."
    ),
    (
        "Hallo, ich heiße {name} und bin umgezogen. Meine neue Adresse lautet {address}. Bitte ändern Sie das "
        "für Kundennummer {customer_id}."
    ),
    "Ich bin Frau {surname} und wohne in der {street}. Seit dem {date} warte ich auf meine Erstattung über {amount}.",
    (
        "Sehr geehrte Damen und Herren,\nich möchte einen Schaden melden. Police {policy}, geboren am {dob}. "
        "Der Wasserschaden ist am {date} passiert.\nMit freundlichen Grüßen\n{name}"
    ),
    "Herr Dr. {surname} hier. Meine Steuer-ID ist {tax_id}, bitte korrigieren Sie die Angabe auf der Rechnung.",
    "Bitte buchen Sie den Betrag von {amount} von meinem Konto {iban} ab. Kontoinhaber: {name}",
    "Meine Kreditkarte {card} wurde doppelt belastet ({amount}) für die Bestellung {order}.",
    "Können Sie mir die Rechnung an {email} schicken? Kundennummer {customer_id}.",
    "Ich bin bei Ihnen krankenversichert, meine Versichertennummer ist {kvnr}. Geb. {dob}.",
    "Hallo, hier ist {name}. Das {product} ist defekt angekommen, Sendungsnummer {tracking}.",
    "Mein Mann {name} hat am {date} angerufen, aber niemand hat sich gemeldet. Sie erreichen uns unter {phone}.",
    "Neue Anschrift ab {date}: {address}. Telefon: {phone}",
    "Ich, {name}, geboren {dob}, widerspreche der Kündigung meines Vertrags {policy}.",
    "Schadenmeldung zu {claim}: Der Fahrradschaden betrifft meine Police {policy}. Rückfragen bitte an {email}.",
    "Guten Morgen, ich habe {amount} überwiesen, aber die Zahlung für Bestellung {order} fehlt. Meine IBAN: {iban}",
    "Bitte ändern Sie meine E-Mail-Adresse auf {email}. Mein Geburtsdatum zur Bestätigung: {dob}",
    "Frau {surname} aus der {street} möchte den Termin am {date} um {time} Uhr absagen.",
    (
        "Ich habe das {product} für {amount} gekauft und möchte es zurückgeben. Bestellung {order}, "
        "Kundennummer {customer_id}."
    ),
    "Mein Name ist {name}, ich bin am {dob} geboren und meine Steuer-ID lautet {tax_id}.",
    "Die Abbuchung von {amount} auf meiner Karte {card} erkenne ich nicht an!",
    (
        "Hallo, ich bin {name} und erreiche Sie telefonisch nie. Rufen Sie mich bitte unter {phone} an oder "
        "schreiben Sie an {email}."
    ),
    "Bitte schicken Sie die Unterlagen an meine Tochter {name}, {address}.",
    (
        "Das ist jetzt das dritte Mal, dass das {product} kaputt ist. Ich will mein Geld zurück ({amount})!\n\n"
        "Viele Grüße\n{name}"
    ),
    "Anbei die Daten für die Erstattung: IBAN {iban}, Kontoinhaberin {name}.",
    "Versicherungsnehmer: {name}\nGeburtsdatum: {dob}\nPolice: {policy}\nSchadentag: {date}",
    "Leider ist mein Paket mit der Sendungsnummer {tracking} nicht bei mir in der {street} angekommen.",
    "Guten Tag Herr {surname}, wie telefonisch besprochen sende ich Ihnen meine Versichertennummer {kvnr}.",
    "Ich möchte meinen Vertrag {policy} kündigen. Meine neue Bankverbindung ist {iban}.\nMfG\n{name}",
    "Hier spricht {name}. Meine Kundennummer ist {customer_id}, ich warte seit dem {date} auf einen Rückruf.",
    "Meine Frau und ich sind umgezogen: {address}. Die alte Adresse bitte löschen.",
    "Warum wurde meine Karte {card} abgelehnt? Ich wollte nur {amount} bezahlen.",
    "Sehr geehrte Frau {surname},\nvielen Dank für Ihre Hilfe. Meine Handynummer hat sich geändert: {phone}",
    "Für die Steuerbescheinigung brauche ich Ihre Bestätigung. Steuer-Identifikationsnummer: {tax_id}, geb. {dob}",
    "Bestellung {order} vom {date}: Das {product} fehlt im Paket. Kontakt: {email}",
    "Ich melde einen Glasschaden zu {claim}. Versichert ist {name}, Versichertennummer {kvnr}.",
    "Meine E-Mail {email} funktioniert nicht mehr, bitte nutzen Sie ab jetzt die {phone}.",
    "Seit dem {date} werden {amount} monatlich von {iban} abgebucht, obwohl ich gekündigt habe!",
    "Hallo,\nbitte liefern Sie künftig an {address}.\nDanke und viele Grüße\n{first}",
    "Mein Sohn {name} (geb. {dob}) soll in meine Familienversicherung {policy} aufgenommen werden.",
    "Ich habe am {date} um {time} Uhr angerufen, Herr {surname} hat mir einen Rückruf versprochen.",
    "Kunden-Nr. {customer_id}, Rechnungsbetrag {amount}: bitte Ratenzahlung, ich kann nicht alles auf einmal zahlen.",
    "Die Reparatur des {product} kostet {amount}? Das ist zu viel. Meine Telefonnummer für Rückfragen: {phone}.",
    (
        "Wir hatten einen Einbruch in unserer Wohnung, {address}. Schadennummer {claim}. Ich bin unter {phone} "
        "erreichbar."
    ),
    "Guten Tag, ich bin {name}, Kundin seit 2015. Meine Versichertennummer {kvnr} wird im Portal nicht erkannt.",
    "Bitte die Gutschrift auf die Kreditkarte {card} buchen, nicht auf das Konto.\nLG {first}",
    "Ich bin am {dob} geboren, nicht am {date}! Bitte korrigieren Sie mein Geburtsdatum.",
    "Mein Paket {tracking} wurde an {address} geliefert, dort wohne ich aber seit dem {date} nicht mehr.",
    (
        "Sehr geehrter Herr {surname},\nmeine Steuer-ID {tax_id} ist auf der Beitragsbescheinigung falsch.\n"
        "Mit freundlichen Grüßen\n{name}"
    ),
    "Wo bleibt meine Bestellung {order}? Ich habe am {date} schon {amount} bezahlt.",
    "Das {product} für {amount} ist seit dem {date} kaputt. Ich bin seit 2019 Kundin und sehr enttäuscht!",
    "Mein Geburtstagsgeschenk, das {product}, sollte bis zum {date} da sein. Sendungsnummer {tracking}.",
    "Die Herr der Ringe Box für {amount} kam ohne die dritte DVD an. Bestellung {order}.",
    "Ich bin Neukundin und habe eine Frage zum {product}: Kostet der Versand nach Österreich extra?",
    "Am Montag, dem {date}, um {time} Uhr war der Techniker da, aber das {product} geht immer noch nicht.",
    "Zum Schaden {claim} vom {date}: Der Gutachter hat {amount} geschätzt, das ist viel zu wenig.",
)

TEMPLATES_EN: tuple[str, ...] = (
    "Hi, this is {name}. My order {order} still hasn't arrived. Please call me back on {phone}.",
    (
        "Hello, my name is {name} and I've moved. My new address is {address}. Please update customer number "
        "{customer_id}."
    ),
    "I'm {name}, a customer since 2018. I was charged {amount} twice on my card {card}.",
    (
        "Dear Sir or Madam,\nI would like to report a claim under policy {policy}. The burst pipe happened on {date}.\n"
        "Kind regards,\n{name}"
    ),
    "My {tax_label} is {tax_id}. Please correct it on my account, it was entered wrong.",
    "Please refund the {amount} to my account {iban}. Account holder: {name}.",
    "Can you send the invoice to {email}? My customer ID is {customer_id}.",
    "To verify my identity: DOB {dob}, health insurance number {kvnr}.",
    "Mr {surname} told me on the phone that the {product} would be replaced. Nothing has happened since {date}.",
    "My wife {name} called on {date} but nobody got back to us. You can reach us at {phone}.",
    "New address from {date}: {address}. Phone: {phone}",
    "I, {name}, born {dob}, object to the cancellation of policy {policy}.",
    "Regarding claim {claim}: the damage to the bike is covered under {policy}. Please reply to {email}.",
    "I paid {amount} by bank transfer but order {order} still shows as unpaid. My IBAN is {iban}.",
    "Please change my email address to {email}. My date of birth for verification: {dob}.",
    "Mrs. {surname} from {street} would like to cancel the appointment on {date} at {time}.",
    "I bought the {product} for {amount} and want to return it. Order {order}, customer number {customer_id}.",
    "My name is {name}, I was born on {dob} and my {tax_label} is {tax_id}.",
    "I do not recognise the charge of {amount} on my card {card}!",
    "Hi, I'm {name} and I can never get through on the phone. Call me on {phone} or email {email}.",
    "Please send the documents to my daughter {name}, {address}.",
    "This is the third time the {product} broke. I want my money back ({amount}).\n\nThanks,\n{name}",
    "Details for the refund: IBAN {iban}, account holder {name}.",
    "Policyholder: {name}\nDate of birth: {dob}\nPolicy: {policy}\nDate of loss: {date}",
    "My parcel with tracking number {tracking} never arrived at {street}.",
    "Hello Ms {surname}, as discussed on the phone, here is my {tax_label}: {tax_id}.",
    "I want to cancel policy {policy}. My new bank details are {iban}.\nBest regards,\n{name}",
    "{name} speaking. My customer number is {customer_id} and I have been waiting for a callback since {date}.",
    "We moved house: {address}. Please delete the old address.",
    "Why was my card {card} declined? I only wanted to pay {amount}.",
    "Dear Mr {surname},\nthanks for your help. My mobile number has changed: {phone}",
    "For my tax return I need a confirmation. {tax_label}: {tax_id}, date of birth {dob}.",
    "Order {order} from {date}: the {product} is missing from the box. Contact: {email}",
    "I'm reporting a broken window under claim {claim}. The insured person is {name}, born {dob}.",
    "My email {email} no longer works, please use {phone} from now on.",
    "Since {date} you have been taking {amount} a month from {iban} although I cancelled!",
    "Hi,\nplease deliver to {address} from now on.\nCheers,\n{first}",
    "Please add my son {name} (DOB: {dob}) to my family policy {policy}.",
    "I called on {date} at {time} and Mr {surname} promised a callback.",
    "Customer number {customer_id}, invoice amount {amount}: can I pay in instalments?",
    "The repair of the {product} costs {amount}? That's too much. My phone number for questions: {phone}.",
    "There was a burglary at our flat, {address}. Claim reference {claim}. I'm available on {phone}.",
    "Good morning, my name's {name}. My {tax_label} {tax_id} is shown incorrectly in your portal.",
    "Please put the refund on card {card}, not on the bank account.\nThanks, {first}",
    "My date of birth is {dob}, not {date}! Please correct it.",
    "Hello, this is Dr. {surname}. My health insurance number is {kvnr}, please update it.",
    "My parcel {tracking} was delivered to {address}, but I have not lived there since {date}.",
    "Dear Mrs {surname},\nmy {tax_label} {tax_id} is wrong on the statement.\nYours sincerely,\n{name}",
    "Where is order {order}? I paid {amount} on {date}.",
    "This is the second time the {product} has stopped working since {date}. I'm really disappointed.",
    "It's been three weeks since {date} and claim {claim} is still open.",
    "My birthday present, the {product}, should have arrived by {date}. Tracking number {tracking}.",
    "Dr. Martens boots, size 42, {amount}: the sole came off after two weeks. Order {order}.",
    "I am a new customer and have a question about the {product}: do you ship to Ireland?",
    "On Monday, {date}, at {time} the engineer came, but the {product} still does not work.",
)

# Written after the redactor was tuned and never tuned on: the bench reports them apart, as a check of
# how far the rules carry to phrasings they were not written for.
HOLDOUT_DE: tuple[str, ...] = (
    "Moin, {name} am Apparat. Ich wollte nur sagen, dass die Lieferung {order} beschädigt war.",
    "Bitte senden Sie die Ersatzkarte an folgende Adresse: {address}",
    "Sehr geehrtes Team, mein Vater {name} ist verstorben. Wir möchten seinen Vertrag {policy} beenden.",
    "Rückruf bitte an {phone}, am besten nach {time} Uhr. Gruß, {name}",
    "Die Lastschrift von {iban} ging zurück, bitte nochmal versuchen. {amount} sind wieder auf dem Konto.",
    "Geburtsdatum {dob}, KV-Nummer {kvnr}. Reicht das zur Identifizierung?",
    "Ich bin umgezogen!! neue Adresse: {address}, Tel. {phone}",
    "Hallo Frau {surname}, anbei wie besprochen meine Kreditkartennummer {card} für die Rückerstattung.",
    "Meine steuerliche Identifikationsnummer ({tax_id}) steht falsch im Bescheid.",
    "Kundennr. {customer_id} - Mahnung über {amount} ist unberechtigt, ich habe am {date} bezahlt!!!",
    "Bitte Post nur noch an {email}, nicht mehr an die {street}.",
    "Unfall am {date}: Mein Auto wurde von Herrn {surname} beschädigt, Schadennummer {claim}.",
)
HOLDOUT_EN: tuple[str, ...] = (
    "Hey, {name} here. The delivery {order} turned up damaged.",
    "Please send the replacement card to the following address: {address}",
    "Dear team, my father {name} has passed away. We would like to close his policy {policy}.",
    "Please ring me back on {phone}, ideally after {time}. Thanks, {name}",
    "The direct debit from {iban} bounced, please try again. The {amount} is back in the account.",
    "Date of birth {dob}, {tax_label} {tax_id}. Is that enough to identify me?",
    "I've moved!! new address: {address}, tel. {phone}",
    "Hello Mrs {surname}, as agreed here is my credit card number {card} for the refund.",
    "you can email me at {email} or text {phone}",
    "Account no. {customer_id} - the reminder for {amount} is wrong, I paid on {date}!!!",
    "Please only send post to {email}, no longer to {street}.",
    "Accident on {date}: my car was damaged by Mr {surname}, claim number {claim}.",
)
