"""The call page's words, in French (default) and English: short sentences a child understands.

Plain strings with ``{placeholders}`` filled in by `partners.callpage`; the template only prints
them (autoescaped). ``js`` strings go to the page's script through a JSON data attribute.
"""

from __future__ import annotations

from typing import Any

MONTHS = {
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip
WEEKDAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}

TEXTS: dict[str, dict[str, Any]] = {
    "fr": {
        "html_lang": "fr",
        "title": "Appeler le 3018",
        "other_lang": "English",
        "headline": "Tu peux parler à quelqu'un",
        "intro": (
            "Le 3018, c'est un numéro pour les jeunes qui vivent du harcèlement ou des violences "
            "sur internet : moqueries, menaces, photos ou vidéos partagées sans ton accord, "
            "chantage, compte piraté…"
        ),
        "who": (
            "Une personne formée pour t'aider te répond : psychologue, juriste ou spécialiste "
            "du numérique. Tu peux aussi appeler si tu es un parent ou un professionnel."
        ),
        "promise": "C'est gratuit, anonyme et confidentiel : tu n'as pas besoin de dire ton nom.",
        "from_platform": "Tu arrives depuis {name} : nous saurons seulement ça, rien d'autre.",
        "open": "Le 3018 est ouvert maintenant.",
        "closed": "Le 3018 est fermé pour le moment.",
        "reopens": "Il rouvre {when} à {time}.",
        "today": "aujourd'hui",
        "tomorrow": "demain",
        "on_day": "le {weekday} {day} {month}",
        "every_day": "Ouvert tous les jours de {start} à {end}.",
        "meanwhile": (
            "En attendant, tu peux écrire sur le chat de l'application 3018 ou aller sur {site}."
        ),
        "call_button": "Appeler le 3018 depuis cet appareil",
        "call_hint": (
            "L'appel passe par internet. Ton navigateur va te demander le micro : accepte pour "
            "qu'on puisse t'entendre."
        ),
        "hang_up": "Raccrocher",
        "tel_link": "Appeler le 3018 avec mon téléphone",
        "tel_hint": "Depuis un téléphone, l'appel est gratuit.",
        "no_browser_call": (
            "Les appels depuis cette page ne sont pas disponibles pour le moment. Appelle le "
            "3018 avec ton téléphone."
        ),
        "danger_title": "Tu es en danger tout de suite ?",
        "danger": (
            "Appelle le 17 (police) ou le 112. Si un enfant est en danger : le 119, jour et nuit."
        ),
        "js": {
            "connecting": "Connexion…",
            "ringing": "Ça sonne… Quelqu'un va te répondre.",
            "in_call": "Tu es en communication avec le 3018.",
            "ended": "L'appel est terminé. Tu peux rappeler quand tu veux.",
            "busy": "Trop d'appels en ce moment. Réessaie dans une minute, ou appelle le 3018 "
            "avec ton téléphone.",
            "unavailable": "L'appel depuis cette page ne marche pas pour le moment. Appelle le "
            "3018 avec ton téléphone.",
            "expired": "La page a expiré : recharge-la pour appeler.",
            "mic": "Sans le micro, on ne peut pas t'entendre. Autorise le micro, ou appelle le "
            "3018 avec ton téléphone.",
        },
    },
    "en": {
        "html_lang": "en",
        "title": "Call 3018",
        "other_lang": "Français",
        "headline": "You can talk to someone",
        "intro": (
            "3018 is a number for young people who face bullying or abuse online: mockery, "
            "threats, photos or videos shared without your consent, blackmail, a hacked account…"
        ),
        "who": (
            "Someone trained to help you answers: a psychologist, a lawyer or a digital safety "
            "specialist. Parents and professionals can call too."
        ),
        "promise": "It is free, anonymous and confidential: you don't have to say your name.",
        "from_platform": "You come from {name}: that is all we will know.",
        "open": "3018 is open now.",
        "closed": "3018 is closed at the moment.",
        "reopens": "It opens again {when} at {time}.",
        "today": "today",
        "tomorrow": "tomorrow",
        "on_day": "on {weekday} {day} {month}",
        "every_day": "Open every day from {start} to {end} (Paris time).",
        "meanwhile": "Meanwhile, you can write on the chat of the 3018 app or visit {site}.",
        "call_button": "Call 3018 from this device",
        "call_hint": (
            "The call goes over the internet. Your browser will ask for the microphone: say yes "
            "so that we can hear you."
        ),
        "hang_up": "Hang up",
        "tel_link": "Call 3018 with my phone",
        "tel_hint": "From a phone in France, the call is free.",
        "no_browser_call": (
            "Calls from this page are not available right now. Please call 3018 with your phone."
        ),
        "danger_title": "Are you in danger right now?",
        "danger": "Call 17 (police) or 112. If a child is in danger: 119, day and night.",
        "js": {
            "connecting": "Connecting…",
            "ringing": "Ringing… Someone will answer you.",
            "in_call": "You are talking with 3018.",
            "ended": "The call has ended. You can call again whenever you want.",
            "busy": "Too many calls right now. Try again in a minute, or call 3018 with your "
            "phone.",
            "unavailable": "Calling from this page does not work right now. Please call 3018 "
            "with your phone.",
            "expired": "This page has expired: reload it to call.",
            "mic": "Without the microphone we cannot hear you. Allow the microphone, or call "
            "3018 with your phone.",
        },
    },
}
