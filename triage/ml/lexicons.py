"""Per-language patterns for triage/ml/signals.py, kept apart so that adding a
language is a data change. Patterns run on lower-cased text."""

from __future__ import annotations

_P = r"(?:person|human|human being|agent|someone|somebody|representative|rep|operator|advisor|adviser|employee|staff member|manager|real person|actual person|live agent|live person)"

HUMAN_REQUESTS: dict[str, list[str]] = {
    "en": [
        rf"\b(?:talk|speak|chat)\s+(?:to|with)\s+(?:a|an|some|your|one of your)?\s*(?:real\s+|actual\s+|live\s+)?{_P}\b",
        r"\b(?:human|agent|person|representative|operator)\s*,?\s*(?:please|pls|plz|now)\b",
        r"\b(?:connect|transfer|put)\s+me\s+(?:through\s+)?(?:to|with)\b",
        r"\b(?:want|need|would like|'d like|get)\s+(?:a|an|to get a)\s+(?:real\s+)?(?:human|person|agent|representative)\b",
        r"\bis there\s+(?:a|any)\s+(?:real\s+)?(?:human|person|agent)\b",
        r"\b(?:don't|do not|dont)\s+want\s+(?:to\s+(?:talk|speak|chat)\s+(?:to|with)\s+)?(?:a|the|your)\s+(?:bot|robot|machine|ai)\b",
        r"\b(?:let me|i want to|i need to)\s+(?:talk|speak)\s+to\s+someone\b",
    ],
    "sv": [
        r"\b(?:prata|tala|snacka)\s+med\s+(?:en\s+)?(?:riktig\s+)?(?:människa|person|handläggare|agent|någon|kundtjänst|personal)\b",
        r"\b(?:människa|handläggare|person)\s*,?\s*tack\b",
        r"\bkoppla\s+(?:mig|vidare)\b",
        r"\bvill\s+ha\s+(?:en\s+)?(?:riktig\s+)?(?:människa|handläggare)\b",
    ],
    "de": [
        r"\bmit\s+(?:einem|einer)\s+(?:echten\s+)?(?:menschen|mitarbeiter(?:in)?|person|berater(?:in)?|kundenberater(?:in)?)\s+(?:sprechen|reden|verbunden)\b",
        r"\b(?:mensch|menschen|mitarbeiter|berater)\s*,?\s*bitte\b",
        r"\bverbinden\s+sie\s+mich\b",
        r"\b(?:echten|richtigen)\s+menschen\b",
    ],
    "fr": [
        r"\bparler\s+(?:à|a|avec)\s+(?:un|une|quelqu'un|un vrai|une vraie)\s*(?:vrai\s+|vraie\s+)?(?:humain|personne|conseill(?:er|ère)|agent|opérat(?:eur|rice)|être humain)?",
        r"\b(?:humain|conseiller|conseillère|agent)\s*,?\s*(?:svp|s'il vous pla[iî]t|s'il te pla[iî]t)",
        r"\bmettez-moi\s+en\s+relation\b",
    ],
    "es": [
        r"\bhablar\s+con\s+(?:un|una|alguien)\s*(?:humano|persona|agente|asesor|asesora|operador|operadora|real)?",
        r"\b(?:humano|agente|asesor|operador)\s*,?\s*por\s+favor\b",
        r"\bquiero\s+(?:un|una)\s+(?:humano|persona real|agente)\b",
        r"\bpas(?:ar|e|a|en|ame|eme)\s+con\s+(?:un|una|alguien)\b",
    ],
    "it": [
        r"\bparlare\s+con\s+(?:un|una|un'|qualcuno)\s*(?:operatore|operatrice|persona|umano|essere umano|consulente|addetto)?",
        r"\b(?:operatore|persona|umano)\s*,?\s*per\s+favore\b",
        r"\bmi\s+pass(?:i|a|ate)\s+(?:un|una|qualcuno)\b",
    ],
    "nl": [
        r"\b(?:praten|spreken)\s+met\s+(?:een\s+)?(?:echte\s+|echt\s+)?(?:mens|medewerker|persoon|iemand)\b",
        r"\bmet\s+(?:een\s+)?(?:echte\s+|echt\s+)?(?:mens|medewerker|persoon|iemand)\s+(?:praten|spreken)\b",
        r"\b(?:medewerker|mens)\s*,?\s*(?:alstublieft|alsjeblieft|graag)\b",
    ],
    "pt": [
        r"\bfalar\s+com\s+(?:um|uma|alguém)\s*(?:humano|pessoa|atendente|agente|assistente|real)?",
        r"\b(?:atendente|humano|agente)\s*,?\s*por\s+favor\b",
        r"\bpass(?:a|e|ar)\s+(?:para|pra)\s+(?:um|uma|alguém)\b",
    ],
    "pl": [
        r"\b(?:po)?rozmawiać\s+z\s+(?:prawdziwym\s+)?(?:człowiekiem|konsultantem|konsultantką|osobą|pracownikiem)\b",
        r"\b(?:konsultant|człowiek)\s*,?\s*proszę\b",
    ],
    "fi": [
        r"\bpuhua\s+(?:oikean\s+)?(?:ihmisen|asiakaspalvelijan|henkilön|virkailijan)\s+kanssa\b",
        r"\b(?:ihminen|asiakaspalvelija|virkailija)\s*,?\s*kiitos\b",
    ],
    "da": [
        r"\b(?:tale|snakke)\s+med\s+(?:et\s+|en\s+)?(?:rigtigt?\s+)?(?:menneske|medarbejder|person|rådgiver)\b",
        r"\b(?:menneske|medarbejder)\s*,?\s*tak\b",
    ],
    "no": [
        r"\b(?:snakke|prate)\s+med\s+(?:et\s+|en\s+)?(?:ekte\s+)?(?:menneske|ansatt|person|rådgiver|saksbehandler)\b",
        r"\b(?:menneske|saksbehandler)\s*,?\s*takk\b",
    ],
    "tr": [
        r"(?:insanla|temsilciyle|temsilci ile|yetkiliyle|yetkili ile|kişiyle|biriyle)\s+(?:konuşmak|görüşmek|görüşebilir|konuşabilir)",
        r"\b(?:temsilci|yetkili)\s*,?\s*lütfen\b",
    ],
    "ar": [
        r"(?:التحدث|أتحدث|اتكلم|أتكلم)\s+(?:مع|إلى)\s+(?:موظف|شخص|إنسان|انسان)",
        r"(?:موظف|إنسان)\s+(?:من فضلك|لو سمحت)",
    ],
    "ja": [r"(?:人間|担当者|オペレーター|スタッフ)(?:と|に)(?:話し|つな|繋)"],
    "zh": [r"(?:人工客服|转人工|真人客服|找人工|和真人)"],
}

HUMAN_NEGATIONS: dict[str, list[str]] = {
    "en": [
        rf"\b(?:don't|do not|dont|no need to|won't|will not)\s+(?:need|want|have)?\s*(?:to\s+)?(?:talk|speak|chat)\s+(?:to|with)\s+(?:a|an|anyone|any)?\s*{_P}?",
        r"\bno need for\s+(?:a|an)\s+(?:human|person|agent)\b",
    ],
    "sv": [r"\b(?:behöver|vill)\s+inte\s+(?:prata|tala)\s+med\b"],
    "de": [r"\b(?:muss|möchte|will)\s+nicht\s+mit\b"],
    "fr": [r"\b(?:pas besoin de|ne veux pas|n'ai pas besoin de)\s+parler\b"],
    "es": [r"\bno\s+(?:necesito|quiero)\s+hablar\b"],
    "it": [r"\bnon\s+(?:ho bisogno di|voglio)\s+parlare\b"],
    "nl": [r"\b(?:hoef|wil)\s+niet\s+met\b"],
    "pt": [r"\bnão\s+(?:preciso|quero)\s+falar\b"],
    "pl": [r"\bnie\s+(?:muszę|chcę)\s+rozmawiać\b"],
    "fi": [r"\ben\s+(?:halua|tarvitse)\s+puhua\b"],
    "da": [r"\b(?:behøver|vil)\s+ikke\s+(?:tale|snakke)\b"],
    "no": [r"\b(?:trenger|vil)\s+ikke\s+(?:snakke|prate)\b"],
    "tr": [r"(?:konuşmak|görüşmek)\s+istemiyorum"],
}

INJECTION: dict[str, list[str]] = {
    "en": [
        r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:the\s+|your\s+|my\s+)?(?:previous|prior|above|earlier|preceding|original)?\s*(?:instructions|prompts?|rules|directions)\b",
        r"\bsystem\s*prompt\b",
        r"\byou\s+are\s+now\s+(?:a|an|in|my|the|dan)\b",
        r"\b(?:developer|god|jailbreak|dan)\s+mode\b",
        r"\b(?:reveal|print|show|repeat)\s+(?:me\s+)?(?:your|the)\s+(?:hidden\s+|initial\s+|system\s+)?(?:instructions|prompt|rules)\b",
        r"\bnew\s+instructions\s*:",
        r"</?\s*(?:system|assistant|instructions?)\s*>",
        r"\bact\s+as\s+(?:an?\s+)?(?:unrestricted|admin|administrator|system)\b",
    ],
    "sv": [
        r"\b(?:ignorera|strunta i|glöm)\s+(?:alla\s+)?(?:dina\s+|de\s+)?(?:tidigare|föregående)?\s*(?:instruktioner|regler)\b",
        r"\bdu\s+är\s+nu\b",
        r"\bsystemprompt(?:en)?\b",
    ],
    "de": [
        r"\b(?:vergiss|ignoriere|ignorieren sie|vergessen sie)\s+(?:alle\s+)?(?:deine\s+|ihre\s+|die\s+)?(?:vorherigen\s+|bisherigen\s+)?(?:anweisungen|instruktionen|regeln)\b",
        r"\bdu\s+bist\s+(?:jetzt|ab sofort|nun)\b",
        r"\bsystem-?prompt\b",
    ],
    "fr": [
        r"\b(?:ignore[zr]?|oublie[zr]?)\s+(?:toutes\s+)?(?:les|tes|vos)\s+(?:instructions|consignes|règles)",
        r"\btu\s+es\s+maintenant\b",
        r"\bprompt\s+syst[eè]me\b",
    ],
    "es": [
        r"\b(?:ignora|olvida|ignore|olvide)\s+(?:todas\s+)?(?:las|tus|sus)\s+(?:instrucciones|reglas)",
        r"\bahora\s+eres\b",
    ],
    "it": [
        r"\b(?:ignora|dimentica)\s+(?:tutte\s+)?(?:le)\s+(?:istruzioni|regole)",
        r"\bora\s+sei\s+(?:un|una)\b",
    ],
    "nl": [
        r"\b(?:negeer|vergeet)\s+(?:alle\s+)?(?:vorige\s+|eerdere\s+|je\s+)?(?:instructies|regels)",
        r"\bje\s+bent\s+nu\b",
    ],
    "pt": [
        r"\b(?:ignore|esqueça|ignora)\s+(?:todas\s+)?(?:as)\s+(?:instruções|regras)",
        r"\bagora\s+você\s+é\b",
    ],
    "pl": [r"\b(?:zignoruj|zapomnij)\s+(?:wszystkie\s+)?(?:poprzednie\s+)?instrukcje"],
    "fi": [r"\b(?:unohda|ohita)\s+(?:kaikki\s+)?(?:aiemmat\s+)?ohjeet"],
}

LEGAL: dict[str, list[str]] = {
    "en": [
        r"\b(?:lawyer|attorney|solicitor|lawsuit|legal action|small claims|ombudsman|take you to court|sue you|suing)\b",
    ],
    "sv": [
        r"\b(?:advokat|stämma er|stämning|rättsliga åtgärder|arn|konsumentverket)\b"
    ],
    "de": [
        r"\b(?:anwalt|rechtsanwalt|verklagen|klage einreichen|rechtliche schritte)\b"
    ],
    "fr": [r"\b(?:avocat|poursuivre en justice|action en justice|tribunal)\b"],
    "es": [r"\b(?:abogado|demandar|acciones legales|tribunal)\b"],
    "it": [r"\b(?:avvocato|fare causa|vie legali)\b"],
    "nl": [r"\b(?:advocaat|rechtszaak|juridische stappen)\b"],
    "pt": [r"\b(?:advogado|processar|ação judicial)\b"],
}

VULNERABLE: dict[str, list[str]] = {
    "en": [
        r"\b(?:suicid\w*|kill myself|end my life|can't go on|self[- ]harm|passed away|bereave\w*|funeral|domestic abuse|dementia|terminally ill|homeless|can't afford (?:food|rent))\b",
    ],
    "sv": [r"\b(?:självmord|ta mitt liv|gick bort|avliden|begravning|hemlös)\b"],
    "de": [r"\b(?:selbstmord|suizid|verstorben|beerdigung|obdachlos)\b"],
    "fr": [r"\b(?:suicide|décédée?|funérailles|sans abri)\b"],
    "es": [r"\b(?:suicidio|falleció|funeral|sin hogar)\b"],
}

NEGATIVE_WORDS = frozenset(
    [
        "angry",
        "annoyed",
        "awful",
        "bad",
        "broken",
        "disappointed",
        "disgusting",
        "frustrated",
        "furious",
        "horrible",
        "joke",
        "pathetic",
        "poor",
        "rubbish",
        "ridiculous",
        "scam",
        "terrible",
        "unacceptable",
        "useless",
        "waste",
        "worst",
        "hate",
        "upset",
        "wrong",
        "still",
        "never",
        "arg",
        "besviken",
        "dålig",
        "dåligt",
        "hemsk",
        "katastrof",
        "oacceptabelt",
        "värdelös",
        "värsta",
        "ärgerlich",
        "enttäuscht",
        "furchtbar",
        "schlecht",
        "schrecklich",
        "unverschämt",
        "wütend",
        "déçu",
        "furieux",
        "inacceptable",
        "mauvais",
        "nul",
        "horrible",
        "honteux",
        "enfadado",
        "fatal",
        "horrible",
        "inaceptable",
        "pésimo",
        "terrible",
        "decepcionado",
        "arrabbiato",
        "deluso",
        "inaccettabile",
        "pessimo",
        "terribile",
        "boos",
        "slecht",
        "teleurgesteld",
        "waardeloos",
        "belachelijk",
        "péssimo",
        "horrível",
        "inaceitável",
        "decepcionado",
        "fatalny",
        "okropny",
        "beznadziejny",
        "wkurzony",
        "huono",
        "kamala",
        "pettynyt",
        "surkea",
    ]
)

POSITIVE_WORDS = frozenset(
    [
        "thanks",
        "thank",
        "great",
        "excellent",
        "love",
        "awesome",
        "amazing",
        "helpful",
        "perfect",
        "happy",
        "wonderful",
        "appreciate",
        "appreciated",
        "good",
        "tack",
        "bra",
        "toppen",
        "utmärkt",
        "nöjd",
        "danke",
        "super",
        "toll",
        "prima",
        "hervorragend",
        "zufrieden",
        "merci",
        "génial",
        "parfait",
        "excellent",
        "gracias",
        "genial",
        "perfecto",
        "excelente",
        "grazie",
        "ottimo",
        "perfetto",
        "bedankt",
        "geweldig",
        "prima",
        "uitstekend",
        "obrigado",
        "obrigada",
        "ótimo",
        "perfeito",
        "dziękuję",
        "świetnie",
        "kiitos",
        "loistava",
        "tak",
        "takk",
    ]
)

# Generic rule for wants-human: in one clause, a word for a person at the desk and a
# request cue, with no sign that the clause narrates the past or describes someone.
HUMAN_NOUNS = [
    (
        r"person|persons|people|human|humans|human being|agent|someone|somebody|"
        r"representative|rep|operator|advisor|adviser|staff|employee|manager"
    ),
    r"människa|människor|person|handläggare|agent|någon|personal|kundtjänst|rådgivare",
    (
        r"mensch|menschen|menschlichen|mitarbeiter|mitarbeiterin|person|berater|"
        r"beraterin|jemand|jemandem|kundenberater"
    ),
    r"humain|humaine|personne|conseiller|conseillère|agent|quelqu'un|opérateur",
    r"humano|humana|persona|agente|asesor|asesora|operador|operadora|alguien",
    r"operatore|operatrice|persona|umano|consulente|qualcuno|addetto",
    r"mens|medewerker|persoon|iemand",
    r"humano|pessoa|atendente|agente|alguém|gerente",
    r"człowiek\w*|konsultant\w*|osob\w*|pracownik\w*|kimś",
    r"ihmi\w*|asiakaspalvelij\w*|henkilö\w*|virkailij\w*|joku",
    r"menneske|medarbejder|person|rådgiver|ansatt|saksbehandler",
    r"insan\w*|temsilci\w*|yetkili\w*|kişi\w*|biri\w*",
]
REQUEST_CUES = [
    (
        r"talk|speak|chat|connect|transfer|put me through|get me|want|need|i'd like|"
        r"would like|can i|could i|may i|is there|are there|let me|please|pls"
    ),
    r"prata|tala|snacka|koppla|vill|kan jag|får jag|finns det|tack|snälla",
    r"sprechen|reden|verbinden|möchte|will|kann ich|könnte ich|gibt es|bitte|brauche",
    r"parler|passez|mettez|veux|voudrais|aimerais|puis-je|possible|svp|s'il vous",
    r"hablar|pasar|pásame|páseme|quiero|necesito|puedo|hay|por favor",
    r"parlare|passi|mette in contatto|voglio|vorrei|posso|per favore",
    r"praten|spreken|doorverbinden|wil|kan ik|graag|alstublieft|alsjeblieft|is er",
    r"falar|transfere|passa|quero|gostaria|preciso|posso|existe|por favor",
    r"rozmawiać|porozmawiać|połączyć|chcę|proszę|poproszę|czy mogę|czy jest",
    r"puhua|jutella|yhdistä\w*|haluan|voinko|saanko|onko|voisiko|kiitos",
    r"tale|snakke|skrive|stille mig videre|vil|kan jeg|må jeg|er der|tak",
    r"prate|sette meg over|får jeg|finnes|takk",
    r"konuşmak|görüşmek|konuşabilir|görüşebilir|bağlayın|bağlar|istiyorum|lütfen",
]
NARRATIVE = [
    (
        r"was|were|stole|stolen|used|told|said|helped|spoke|talked|answered|pretending|"
        r"keeps|called|already"
    ),
    r"var|stal|sa|hjälpte|pratade|ringde|låtsades|tagit",
    r"war|gestohlen|sagte|gesagt|gesprochen|abgebucht|bezahlt|hat",
    r"était|volé|dit|été|déjà|utilisé|appelé",
    r"fue|robó|dijo|usó|hablé|atendió|quitó|recomendó",
    r"stato|stata|rubato|detto|usato|già|prelevato",
    r"heeft|zei|gesproken|gestolen|gebruikt",
    r"foi|roubou|disse|usou|falei|sacou|atendeu",
    r"był|była|ukradł|powiedział|rozmawiałem|rozmawiałam|użyła|wypłaciła",
    r"oli|varasti|sanoi|puhuin|käytti|nosti",
    r"stjal|sagde|talte|brugte|hævet",
    r"snakket|brukte|tatt",
    r"oldu|çaldı|söyledi|konuştum|kullandı|çekti|kibardı",
]
