# ruff: noqa: E501  (one cue list per line reads better than wrapped regexes)
"""Rule lexicons: risk flags, emotions, urgency, phase, and cue words for the kind model.

Each category is a list of regular expressions (matched on lower-cased text with straight
apostrophes). A cue is ignored when a negator (not, never, no, pas, nicht, nunca, ...) sits in
the three words before it — unless the cue itself starts with a negation (``!`` prefix marks
such cues, e.g. "never shop here again"). English first; French, German, Spanish, Italian,
Portuguese and Dutch cues for the flags and the strongest emotions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from re import _constants as _C  # type: ignore[attr-defined]
from re import _parser as _sre_parse  # type: ignore[attr-defined]
from typing import Any

# fmt: off
LEXICON: dict[str, list[str]] = {
    # ---------------------------------------------------------------- risk flags
    "leaving": [
        r"switch(?:ing|ed)? (?:over )?to (?:a |an |your )?(?:competitor|rival|another|a different|different)",
        r"switch(?:ing|ed)? (?:over )?to \w+ (?:instead|tomorrow|next month|from now on|after this)",
        r"switch(?:ing|ed)? (?:energy |broadband |mobile |phone )?(?:banks?|providers?|suppliers?|networks?|airlines?|carriers?|insurers?|lenders?|gyms?)\b",
        r"chang(?:e|ing) (?:my |our )?(?:banks?|providers?|suppliers?|networks?|insurers?|energy suppliers?|phone compan(?:y|ies)|broadband providers?)\b",
        r"(?:moving|move|going|go|went|gone|defect(?:ing)?) (?:over )?to (?:a |your |another |one of your |the )?(?:competitors?|competition|rivals?|another (?:bank|provider"
        r"|company|supplier|airline|store|shop|network|insurer|lender))", r"(?:go|going|shop|shopping) elsewhere(?! for (?:help|advice|information|support))",
        r"tak(?:e|ing) (?:my|our) (?:business|money|custom|savings|accounts?|family's accounts)(?: with (?:me|us))? (?:elsewhere|somewhere else|anywhere else"
        r"|to (?:a |an |one of your |your )?(?:competitors?|rivals?|another \w+|someone else)|where (?:it|i|we) (?:is|are|am|will be) (?:appreciated|valued|wanted))",
        r"tak(?:e|ing) (?:my|our) (?:business|money|custom|account)s? elsewhere", r"taking (?:my|our) (?:[\w']+ )?accounts? with (?:me|us)",
        r"(?:move|moving|moved|transfer|transferring|transferred|take|taking|switch|switching|port|porting) (?:all )?(?:of )?(?:my|our) (?:current |savings |joint |whole )?"
        r"(?:accounts?|savings|money|pension|isa|mortgage|business|custom|policy|policies|insurance|phones?|numbers?|broadband|energy|gas|electricity|loan|investments|portfolio|family)"
        r" (?:elsewhere|somewhere else|anywhere else|away from you|(?:over )?to (?:a |an |one of )?(?:different|another|new|other|rival|competing|competitors?|your competitors?|your rivals?|local|provider|bank|supplier|company|firm|insurer|lender)\b)",
        r"(?:cancel|close|closing|cancelling|canceling|shut(?:ting)? down|delete|deleting|terminate|terminating|end|ending|stop|stopping) (?:all )?(?:of )?(?:my|our|the) "
        r"(?:\w+ )?(?:accounts?|contracts?|subscriptions?|memberships?|policy|policies|plan|service|card|broadband|mortgage|direct debit|sub)\b",
        r"cancel\w* (?:my|our) \w+ and (?:my|our) (?:accounts?|membership|subscription|contract)", r"cancel\w* (?:it all|everything|all of it)\b",
        r"cancel(?:led|ed) with you", r"unsubscribe (?:me )?from (?:your|the) (?:service|membership|subscription)",
        r"(?:i|we)(?:'m| am|'re| are)?(?: so)? (?:done|finished|through) with (?:you|your|this|u)\b", r"so done with (?:you|your|this|u)\b",
        r"!(?:never|won't|will not|wont) (?:be )?(?:shop|shopping|use|using|fly|flying|buy|buying|order|ordering"
        r"|book|booking|come|coming|bank|banking|return|returning|recommend)(?:ing)? (?:with |from |here |you |back)?",
        r"!never (?:again|use you)(?! do i want)", r"!not (?:coming|going) back",
        r"!(?:not|won't|will not|wont|never|no longer|shan't) (?:be )?renew(?:ing)?\b", r"!(?:don't|do not) (?:auto-?)?renew (?:me|it|my)",
        r"!(?:won't|will not|wont|never)(?: be)? (?:seeing|see) (?:me|us)(?: \w+){0,3} again",
        r"!(?:won't|will not|wont|never|not) (?:get|getting|be getting) (?:another|one more|a single|any more) (?:penny|cent|pound|dollar|euro|order|booking|purchase)",
        r"!not (?:one|another|a single) (?:more )?(?:penny|cent|pound|dollar|euro|order)", r"!(?:never|won't|will not) get another (?:penny|order|booking)",
        r"!(?:don't|do not) expect (?:any more|another|more) (?:orders|business|custom|money|bookings)", r"!(?:don't|do not) expect to see (?:me|us)",
        r"last time (?:i|we)(?:'ll| will|'m| am|'re| are)? (?:ever )?(?:use|using|buy|buying|order|ordering|fly|flying|book|booking|shop|shopping|stay|staying|bank|banking|deal|dealing)\b",
        r"(?:last|final) (?:order|purchase|booking) (?:i(?:'ll| will) (?:ever )?(?:place|make) )?(?:with|from|at) (?:you|your|this)",
        r"lost (?:a|another|my|one|your) (?:loyal |long[- ]standing |good |valued |regular )?customer", r"lost (?:me|us)(?: as (?:a )?(?:customers?|clients?))?\b",
        r"lost (?:my|our) (?:business|custom)", r"ex-?customer", r"former customer", r"resignation as (?:a|your) customer",
        r"(?:walk|walking|walked) away from (?:you|your|this)", r"(?:i'm|i am|we're|we are) walking away", r"moving on from (?:you|your)",
        r"good ?bye and good riddance", r"leaving (?:you )?for good", r"(?:i'm|i am|we're|we are) leaving(?= (?:you|and|now|today|for good|asap|your)\b|[.!,]|$)",
        r"(?:i|we) want out\b", r"how (?:do|can) (?:i|we) (?:leave|cancel|end (?:my|our) contract|exit|get out of (?:my|our|the|this) contract)\b", r"(?:forms?|paperwork|process|steps) to (?:leave|cancel)\b",
        r"exit fees?\b", r"shopping around", r"looking (?:at|into|for) (?:alternatives|the competition|competitors|other options(?! (?:for|to|in)))",
        r"(?:looking|look|looked|searching) (?:at|into|for|around for) (?:other|alternative|new|different|another|a new) (?:providers?|suppliers?|banks?|insurers?|compan(?:y|ies)|firms?"
        r"|networks?|carriers?|lenders?|gyms?|brokers?|energy suppliers?|broadband providers?|phone compan(?:y|ies)|mechanics?|dentists?|garages?|airlines?|deals? elsewhere)",
        r"(?:started|start|been|am|i'm) (?:looking|searching) (?:at|for) alternatives", r"comparing (?:quotes|prices|deals|offers) (?:from|with) (?:other|your competitors|rivals)",
        r"(?:getting|get|got|gathering) (?:quotes|prices) from (?:other|another|your competitors|rivals)",
        r"(?:considering|thinking about|thinking of|tempted to|planning to|plan to|decided to|going to) (?:other (?:suppliers|providers|banks|companies|options)|switch(?:ing)? (?:to|providers|banks|suppliers|away)"
        r"|mov(?:e|ing) (?:to|away|elsewhere)|leav(?:e|ing) (?:you|your)|go(?:ing)? to a competitor|chang(?:e|ing) (?:banks?|providers?|suppliers?))",
        r"(?:competitor|rival)s? (?:has |have )?(?:offered|is offering|are offering) (?:me|us)",
        r"(?:signed up|signing up|sign up|gone|went|going|moved|moving|switched|switching) (?:over )?(?:with|to) (?:a |an )?(?:different|another|new|rival|competing|local|other) "
        r"(?:company|provider|supplier|bank|network|firm|insurer|lender|airline|gym|carrier)",
        r"join(?:ed|ing)? (?:a |an )?(?:different|another|new|rival|competing) (?:company|provider|supplier|bank|network|firm|insurer|lender|gym)",
        r"(?:find|finding|look for|looking for|search for|need) (?:a |an )?(?:new|another|different|better) (?:bank|provider|supplier|company|firm|insurer|network|airline|dentist"
        r"|mechanic|gym|broadband provider|energy supplier|phone company|lender|garage|vet|broker)", r"time for a new (?:bank|provider|supplier|insurer|network|phone company|broadband provider)",
        r"(?:find|use|using|buy from|order from|go to|try) (?:someone|somebody|somewhere) else", r"(?:i'll|i will|we'll|we will) find (?:a|another) (?:company|firm|provider|supplier|shop) that",
        r"(?:buy|buying|order|ordering|shop|shopping|get(?:ting)? (?:it|them)|book|booking)\w* (?:from|at|with) (?:someone else|somewhere else|a competitor|another (?:shop|store|company|supplier|retailer))",
        r"(?:next time|from now on|in future|in the future),? (?:i|we)(?:'ll| will|'m| am|'re| are)? (?:be )?(?:[\w']+ ){1,4}(?:instead|elsewhere|somewhere else|someone else)\b",
        r"(?:going|go|went) back to (?:my|our) (?:old|previous|former) (?:provider|supplier|bank|network|insurer|company|firm)",
        r"(?:better|cheaper) (?:service|deals?|prices?) (?:anywhere|somewhere|elsewhere)", r"other (?:shops|companies|banks|providers|firms|suppliers) (?:would|will) (?:love|be happy|welcome|want) (?:my|our)",
        r"looking for (?:a |another )?(?:new|different) (?:provider|bank|supplier|company)",
        r"(?:leave|leaving|left) (?:you|your (?:bank|company|service|store|network))", r"port(?:ing)? my number", r"\b(?:pac|stac) code",
        r"changer? (?:de )?(?:banque|fournisseur|opérateur)", r"résili(?:e|er|ation|é)\w*", r"je vais partir", r"(?:voir|aller) ailleurs",
        r"!(?:ne )?(?:commanderai|achèterai|reviendrai|prendrai) plus jamais", r"plus jamais chez vous",
        r"kündig(?:e|en|ung)", r"anbieter wechseln", r"wechsle (?:zu|den)", r"!nie wieder", r"zur konkurrenz",
        r"cambiar(?:me)? de (?:banco|compañía|proveedor|operador)", r"me cambio de (?:banco|compañía|proveedor|operador)", r"darme de baja", r"dar de baja",
        r"me voy a (?:la competencia|otro)", r"cancelar (?:mi|la) (?:cuenta|suscripción|contrato|tarjeta)", r"!no vuelvo a (?:comprar|pedir|usar|reservar)", r"nunca más (?:compro|vuelvo|uso)",
        r"disdett[ao]", r"cambio (?:banca|operatore|gestore)", r"!(?:non )?(?:comprerò|ordinerò|tornerò) mai più", r"mai più (?:da|con) voi",
        r"cancelar (?:o meu|a minha) (?:conta|contrato|assinatura)", r"nunca mais (?:compro|volto)",
        r"opzeggen", r"zeg \w+ (?:contract|abonnement) op", r"overstappen", r"(?:naar|bij) een andere (?:bank|aanbieder|provider|leverancier|verzekeraar)",
        # implicit leaving beyond English: the last order, the competitor, the lost customer, "never again" with a verb
        r"!(?:nie|nicht) mehr (?:bei (?:ihnen|euch|dir) )?(?:bestellen|kaufen|buchen|einkaufen|fliegen|kunde|kundin)\b", r"!(?:nie|nicht) wieder (?:bei (?:ihnen|euch) )?(?:bestellen|kaufen|buchen|einkaufen|fliegen)",
        r"(?:das|dies) (?:war|ist) (?:das letzte mal|meine letzte bestellung|meine letzte buchung)", r"letzte(?:n)? mal,? dass ich (?:bei (?:ihnen|euch) )?(?:bestelle|kaufe|buche|einkaufe|fliege)",
        r"(?:sie haben|ihr habt) (?:gerade )?(?:einen|eine) (?:treue[n]? |langjährige[n]? |gute[n]? )?kund(?:en|in) verloren", r"kund(?:en|in) verloren",
        r"(?:woanders|anderswo|bei der konkurrenz|beim mitbewerber) (?:bestellen|kaufen|einkaufen|buchen|hin|kunde)", r"gehe (?:ich )?(?:jetzt )?(?:woanders|zur konkurrenz)", r"(?:kaufe|bestelle|buche) (?:ich )?(?:eben |dann |jetzt |ab jetzt |künftig |lieber )*(?:woanders|anderswo|bei der konkurrenz)",
        r"(?:zu|zum|zur) (?:einem |einer )?(?:anderen|neuen) (?:anbieter|händler|shop|bank|versicherung|versorger|mobilfunkanbieter|fluggesellschaft)", r"(?:anbieter|bank|versicherung|versorger|stromanbieter|tarif)(?:wechsel| wechseln)",
        r"(?:konto|vertrag|mitgliedschaft|abo|abonnement) (?:auflösen|beenden|schließen|kündigen)", r"(?:schaue|sehe) mich (?:schon )?(?:nach|bei) (?:anderen|alternativen|der konkurrenz)", r"nach (?:einer )?alternativen? um",
        r"!(?:je )?ne (?:commanderai|achèterai|reviendrai|réserverai|volerai|recommanderai) plus", r"!(?:plus jamais|jamais plus) (?:je )?(?:ne )?(?:commander|acheter|revenir|réserver|chez vous|avec vous)",
        r"dernière fois que (?:je |j')(?:commande|achète|réserve|viens|voyage|fais appel)", r"(?:ma|c'est ma) dernière commande",
        r"(?:chez|vers) (?:la concurrence|un concurrent|vos concurrents)", r"(?:vous avez|vous venez de) perdre? (?:un|une) client", r"perdu (?:un|une) client(?:e)? (?:fidèle)?",
        r"(?:un autre|une autre|nouvel?|nouvelle) (?:fournisseur|opérateur|banque|assureur|prestataire|compagnie)", r"changer d'(?:opérateur|assureur|enseigne)",
        r"fermer (?:mon|mes) comptes?", r"je vous quitte", r"quitter (?:votre|vos) (?:banque|service|enseigne|magasin|compagnie)", r"(?:regarder|chercher|voir) ailleurs",
        r"(?:última|ultima) vez que (?:compro|pido|reservo|vuelo|uso|contrato)", r"(?:mi|es mi) (?:último|ultimo) pedido", r"(?:han|habéis|acaban de) perd(?:ido|er) (?:a )?un cliente",
        r"(?:otra|otro) (?:compañía|empresa|proveedor|banco|operador|aseguradora|tienda)", r"(?:con|a) la competencia", r"me voy con otr[oa]", r"!no (?:volveré|pienso volver|vuelvo) a (?:comprar|pedir|usar|reservar|volar)",
        r"nunca más (?:compraré|pediré|volveré|reservaré|volaré)", r"(?:dejo|dejar|dejaré) de ser cliente", r"cerrar (?:mi|la|mis) cuentas?", r"(?:en|a) otr[oa] (?:sitio|parte|lugar)",
        r"(?:laatste|allerlaatste) keer dat ik (?:bij (?:jullie|u) )?(?:bestel|koop|boek|vlieg)", r"(?:mijn|dit was mijn) laatste (?:bestelling|boeking)", r"!nooit (?:meer|weer) (?:bij (?:jullie|u) )?(?:bestellen|kopen|boeken|vliegen|klant)",
        r"(?:een )?klant (?:verloren|kwijt)", r"(?:ik )?stap over", r"ergens anders (?:bestellen|kopen|boeken|heen|klant)", r"(?:rekening|account|abonnement) (?:opheffen|sluiten|stopzetten)",
        r"(?:bij|naar) de concurrent(?:ie)?", r"(?:andere|nieuwe) (?:bank|aanbieder|provider|leverancier|verzekeraar|winkel|webshop|energieleverancier)",
        r"(?:última|ultima) vez que (?:compro|peço|reservo|voo|uso)", r"(?:perderam|acabaram de perder) (?:um|uma) client[ea]", r"(?:outra|outro) (?:empresa|operadora|banco|fornecedor|seguradora|loja)",
        r"mudar de (?:banco|operadora|fornecedor|seguradora|empresa)", r"(?:para|pra|na) (?:a )?concorrência", r"nunca mais (?:vou )?(?:comprar|voltar|pedir|usar|reservar|peço|uso|reservo)",
        r"(?:deixar|deixo|vou deixar) de ser client[ea]", r"fechar (?:a )?(?:minha )?conta", r"cancelar (?:o meu|meu|a minha|minha) (?:plano|serviço|contrato|assinatura|conta)",
        r"ultima volta che (?:compro|ordino|prenoto|volo)", r"(?:avete|hai) perso un cliente", r"(?:alla|dalla) concorrenza", r"(?:altro|nuovo) (?:operatore|fornitore|gestore)", r"chiudere il (?:mio )?conto",
    ],
    "legal": [
        r"lawyers?", r"solicitors?", r"attorneys?", r"legal (?:action|advice|proceedings|team|counsel)",
        r"(?:sue|suing|sued)\b", r"lawsuit", r"court\b", r"small claims", r"ombudsman", r"tribunal",
        r"trading standards", r"regulator", r"\bcfpb\b", r"\bfca\b", r"\bftc\b", r"\bbbb\b",
        r"better business bureau", r"attorney general", r"consumer (?:rights|protection)",
        r"report(?:ing|ed)? (?:you|this|it|them) to (?:the )?(?:authorities|police|regulator|ombudsman)",
        r"class action", r"breach of contract", r"\bfcra\b", r"\bfdcpa\b",
        r"letter before action", r"notice of intent", r"intent to sue",
        r"avocat", r"médiateur", r"tribunal", r"poursuites", r"porter plainte",
        r"anwalt", r"rechtsanwalt", r"klage", r"verklagen", r"gericht", r"verbraucherzentrale",
        r"schlichtungsstelle", r"abogad[oa]", r"demanda(?:r)?", r"denuncia(?:r)?", r"juzgado",
        r"tribunales", r"defensor del (?:cliente|pueblo)", r"avvocat[oa]", r"denunciare", r"advogad[oa]",
        r"processar", r"advocaat", r"rechter",
    ],
    "public": [
        r"twitter", r"tweet(?:ing|ed)?", r"facebook", r"instagram", r"tiktok", r"reddit", r"youtube",
        r"social media", r"trustpilot", r"yelp", r"google reviews?", r"tripadvisor",
        r"(?:one|1|zero|0)[- ]star", r"(?:bad|negative|terrible|honest|scathing) review",
        r"(?:leave|leaving|write|writing|post|posting) (?:a |an )?(?:\w+ )?review",
        r"(?:the|local|national) (?:press|newspapers?|media)\b", r"journalists?", r"watchdog", r"newspapers?", r"(?:bbc|itv|channel 4) ",
        r"(?:tell|telling|warn|warning) (?:everyone|all my friends|everybody|people)",
        r"go(?:ing)? viral", r"(?:post|posting|share|sharing) (?:this|it) (?:on|online|everywhere)",
        r"name and shame", r"presse", r"réseaux sociaux", r"avis négatif", r"zeitung",
        r"soziale(?:n)? medien", r"bewertung", r"redes sociales", r"reseña", r"prensa",
        r"recensione", r"giornali",
    ],
    "vulnerable": [
        r"(?:elderly|old|aged|frail|disabled|sick|vulnerable|dying|blind|deaf) (?:mother|father|mum|mom|dad"
        r"|parents?|relative|neighbou?r|customer|aunt|uncle|grandmother|grandfather|gran|nan|husband|wife|partner)",
        r"\b(?:8|9)0[- ]year[- ]old", r"pensioner", r"old age", r"care home", r"nursing home",
        r"(?:passed away|died|death|funeral|bereave(?:d|ment)|widow(?:ed|er)?|lost my (?:husband|wife|mother|father"
        r"|mum|mom|dad|son|daughter|partner))",
        r"(?:can't|cannot|can not|unable to) afford", r"(?:lost|losing) my job", r"unemployed",
        r"redundan(?:t|cy)", r"food bank", r"(?:financial )?hardship", r"struggling (?:to pay|financially|to make ends meet|to afford|to get by)",
        r"!no money (?:left|for)", r"behind (?:on|with) (?:my )?(?:rent|mortgage|payments|bills)",
        r"(?:facing )?(?:eviction|evicted|foreclosure|homeless)",
        r"my (?:baby|toddler|newborn|infant)\b", r"(?:young|little|small|disabled|sick|autistic) (?:child|children|kids?|son|daughter)",
        r"(?:for|with) my (?:child|children|kids|son|daughter) (?:who|at home|in the|and me)",
        r"my (?:child|son|daughter|kids?) (?:is|are|has|have) (?:ill|sick|disabled|autistic|asthma|in hospital)",
        r"(?:pregnan(?:t|cy)|disabilit(?:y|ies)|wheelchair|dementia|alzheimer|cancer|chemo|dialysis"
        r"|terminal(?:ly)? ill|in hospital|hospitali[sz]ed|surgery|mental health|depress(?:ion|ed)|anxiety"
        r"|suicid\w*|carer|caregiver|medical (?:condition|equipment)|oxygen|insulin|medication)",
        r"(?:i am|i'm|he is|she is|he's|she's) (?:very )?(?:ill|sick|disabled|blind|deaf|vulnerable)",
        r"(?:older|elderly) (?:american|person|customer|people)", r"servicemember", r"veteran",
        r"personne âgée", r"ma mère âgée", r"décédé", r"décès", r"handicap", r"chômage", r"malade",
        r"mon enfant", r"mes enfants", r"bébé", r"ältere", r"meine (?:alte|kranke) mutter", r"verstorben",
        r"todesfall", r"behindert", r"arbeitslos", r"krank", r"mein kind", r"meine kinder",
        r"mi madre (?:mayor|anciana|enferma)", r"falleci(?:ó|do|miento)", r"discapacidad", r"desemplead[oa]",
        r"enferm[oa]", r"mi hij[oa]", r"mis hijos", r"anzian[oa]", r"mia madre", r"morto", r"malato",
    ],
    "safety": [
        r"(?:caught|catch|catching|on) fire", r"fire hazard", r"flames?", r"smok(?:e|ing) (?:came|coming|from)",
        r"burn(?:t|ed|ing|s)? (?:my|his|her|our|the|a)", r"burns?\b", r"explod(?:e|ed|ing)", r"explosion",
        r"electric(?:al)? shock", r"electrocut\w*", r"sparks?\b", r"sparking", r"overheat(?:ed|ing|s)?",
        r"melt(?:ed|ing)", r"gas (?:leak|smell)", r"smell(?:s)? (?:of )?gas", r"carbon monoxide",
        r"leak(?:ing)? (?:gas|chemicals?)", r"injur(?:ed|y|ies)", r"hurt (?:myself|my|him|her|them)",
        r"(?:cut|cuts) (?:my|his|her) (?:hand|finger|mouth)", r"food poisoning", r"allergic reaction",
        r"anaphyla\w+", r"choking", r"shards? of glass", r"glass in (?:my|the)", r"\bunsafe\b", r"dangerous", r"hazard(?:ous)?", r"(?:brakes?|steering) (?:failed|failure)",
        r"product recall", r"recalled", r"mould", r"mold\b", r"exposed wires?", r"live wires?",
        r"incendie", r"pris feu", r"brûl\w+", r"dangereux", r"blessé", r"in brand", r"feuer", r"explodiert",
        r"gefährlich", r"verletzt", r"incendio", r"fuego", r"quemad[oa]", r"peligros[oa]", r"herid[oa]",
        r"pericolos[oa]", r"fuoco", r"incêndio", r"perigos[oa]",
    ],
    # ---------------------------------------------------------------- emotions
    "anger": [
        r"furious", r"outrag(?:ed|eous)", r"livid", r"fuming", r"disgust(?:ed|ing)", r"disgrace(?:ful)?",
        r"appall(?:ed|ing)", r"unacceptable", r"ridiculous", r"pathetic", r"absurd", r"scandal(?:ous)?",
        r"\bscam(?:mers?|med)?\b", r"rip[- ]?off", r"rob(?:bed|bery|bing)", r"thie(?:f|ves)", r"crooks?",
        r"liars?", r"\blied\b", r"lying", r"cheat(?:ed|ing|s)?", r"incompetent", r"incompetence", r"useless",
        r"worst", r"hate", r"angry", r"anger", r"mad\b", r"how dare", r"shame on you", r"shameful",
        r"\bf+u+c+k\w*", r"\bsh[i1]t+\w*", r"\bcrap\b", r"\bbs\b", r"bullshit", r"\bdamn\b", r"bloody",
        r"goddamn", r"\bwtf\b", r"joke\b", r"a joke", r"criminal", r"illegal(?:ly)?", r"harass\w*",
        r"predatory", r"fraudulent", r"insult(?:ing|ed)?", r"rude", r"arrogant", r"horrible", r"terrible",
        r"awful", r"atrocious", r"abysmal", r"inexcusable", r"enough is enough",
        r"scandaleux", r"inadmissible", r"inacceptable", r"honteux", r"furieux", r"en colère", r"arnaque",
        r"voleurs", r"unverschämt", r"frechheit", r"inakzeptabel", r"wütend", r"betrug", r"skandal",
        r"sauer", r"vergogna", r"inaccettabile", r"inaceptable", r"vergüenza", r"indignad[oa]",
        r"furios[oa]", r"estafa", r"ladrones", r"enfadad[oa]", r"inaceitável", r"absurdo",
    ],
    "frustration": [
        r"frustrat\w*", r"annoy(?:ed|ing)", r"fed up", r"sick (?:and tired )?of", r"tired of",
        r"still (?:waiting|not|no|haven't|hasn't|nothing|unresolved|broken|have not|has not)",
        r"yet again", r"again and again", r"once again", r"(?:happened|wrong|broken|late|delayed|cancel\w*|down|failed|charged) again", r"every (?:single )?time", r"(?:third|fourth|fifth|3rd|4th|5th|0th|umpteenth|\d+(?:st|nd|rd|th)) time",
        r"(?:several|many|multiple|countless|numerous|0|\d+) times", r"(?:hours|hour|ages|forever) on hold",
        r"on hold (?:for )?(?:0|\d+|over|an?|hours|ages|forever)", r"no one (?:has )?(?:called|got|gets|replied|responded|answers|helps|cares)",
        r"nobody (?:has )?(?:called|got|gets|replied|responded|answers|helps|cares|knows)",
        r"!no (?:one|body) (?:seems to )?(?:care|know)", r"!not (?:a|one) single",
        r"waste of (?:time|money)", r"wasted", r"going (?:round|around) in circles", r"keep(?:s)? (?:getting|being|telling)",
        r"passed (?:around|from)", r"chas(?:e|ing) (?:this|you|it|them|up)", r"(?:weeks|months|days) (?:now|later|of)",
        r"sort (?:it|this) out", r"how (?:many|long) (?:more )?(?:times|do i have)", r"(?:why|how) (?:is|does) (?:it|this) (?:so hard|take)",
        r"hopeless", r"ugh+\b", r"seriously\b", r"come on\b", r"\bsmh\b", r"unbelievable", r"can't believe",
        r"!never (?:got|received|heard|answered|called|replied|arrived|came|fixed|resolved)",
        r"!(?:didn't|did not|doesn't|does not|don't|won't|wouldn't|can't|cannot|haven't|hasn't) (?:work|help|respond|reply|answer|call|arrive|get back)",
        r"ignored", r"ignoring", r"runaround", r"run around", r"no response", r"no reply", r"no answer",
        r"toujours (?:pas|rien)", r"encore une fois", r"ras le bol", r"marre", r"immer noch", r"schon wieder",
        r"zum (?:dritten|x-ten) mal", r"nervig", r"todavía (?:no|nada)", r"otra vez", r"harto", r"ancora",
        r"di nuovo", r"stufo", r"nog steeds",
    ],
    "disappointment": [
        r"disappoint\w*", r"let down", r"letdown", r"expected (?:better|more)", r"used to be", r"shame\b",
        r"sadly", r"unfortunately", r"a pity", r"underwhelm\w*", r"not (?:what|as) (?:i|we) expected",
        r"(?:i|we) (?:had )?hoped", r"sad\b", r"upset", r"(?:poor|low|bad) (?:quality|service|experience)",
        r"not (?:up to|good enough)", r"falls? short", r"mediocre", r"regret", r"(?:such a|what a) (?:shame|pity)",
        r"déçu\w*", r"décevant", r"dommage", r"enttäusch\w*", r"schade", r"decepcionad[oa]", r"decepción",
        r"una pena", r"delus[oa]", r"deluso", r"peccato", r"teleurgesteld",
    ],
    "worry": [
        r"worr(?:ied|y|ying)", r"anxious", r"concern(?:ed|ing)", r"scared", r"afraid", r"frighten\w*",
        r"nervous", r"stress(?:ed|ful)?", r"panic\w*", r"don't know what (?:to do|else)", r"desperate\w*",
        r"(?:what|how) (?:will|am|do) (?:i|we) (?:do|going to|pay)", r"fraud\w*", r"stolen", r"hack(?:ed|er)",
        r"identity theft", r"unauthori[sz]ed", r"(?:can't|cannot) sleep", r"losing sleep", r"urgent(?:ly)?",
        r"at risk", r"(?:lose|losing) (?:my|our) (?:home|house)", r"struggling", r"(?:can't|cannot) afford",
        r"(?:lost|losing) my job", r"inqui[eè]t\w*", r"peur", r"angoiss\w*",
        r"sorge", r"besorgt", r"angst", r"preocupad[oa]", r"miedo", r"preoccupat[oa]", r"paura",
        r"preocupação",
    ],
    "gratitude": [
        r"thank(?:s| you)", r"\bthx\b", r"\bty\b", r"grateful", r"gratitude", r"appreciat\w*", r"kudos",
        r"shout ?out", r"amazing", r"brilliant", r"excellent", r"outstanding", r"fantastic", r"wonderful",
        r"superb", r"great (?:job|work|service|experience|team|staff)", r"well done", r"above and beyond",
        r"(?:so|very|really|incredibly|extremely) (?:helpful|kind|patient|friendly|professional)",
        r"lovely", r"delighted", r"impressed", r"love (?:the|your|it|this|my|how)", r"loved", r"best (?:service|customer)",
        r"made my day", r"lifesaver", r"life saver", r"\bhero\b", r"pleased", r"happy with",
        r"merci", r"remercie", r"génial", r"formidable", r"danke", r"dankbar", r"super\b",
        r"hervorragend", r"gracias", r"agradec\w*", r"excelente", r"estupend[oa]", r"grazie", r"ottimo",
        r"obrigad[oa]", r"bedankt", r"geweldig",
    ],
    # ---------------------------------------------------------------- urgency / shape cues
    "time_critical": [
        r"urgent(?:ly)?", r"\basap\b", r"immediately", r"right now", r"emergency", r"(?:by|before|need (?:it|this)|needed|must be) (?:today|tonight)", r"today please",
        r"by tomorrow", r"within (?:the next )?(?:0|\d+|an?|one|two) (?:hours?|days?)", r"deadline",
        r"running out", r"last day", r"before (?:my|the) (?:flight|wedding|funeral|surgery|closing|move)",
        r"my flight (?:is|leaves)", r"stranded", r"stuck (?:at|in|abroad)",
        r"!no (?:heating|heat|hot water|water|power|electricity|gas|internet|phone|food|money)",
        r"(?:without|w/o) (?:heating|heat|hot water|water|power|electricity|internet|money|food|medication)",
        r"(?:can't|cannot|unable to) (?:access|get to|withdraw) (?:my )?(?:money|funds|account|cash)",
        r"(?:account|card) (?:frozen|blocked|locked)", r"overdrawn", r"bounced", r"foreclos\w*", r"evict\w*",
        r"repossess\w*", r"shut ?off", r"cut off", r"disconnect(?:ed|ion)", r"urgente", r"dringend",
        r"sofort", r"inmediatamente", r"urgence",
    ],
    "praise": [
        r"thank(?:s| you)", r"grateful", r"appreciat\w*", r"amazing", r"brilliant", r"excellent",
        r"outstanding", r"fantastic", r"wonderful", r"superb", r"well done", r"above and beyond",
        r"(?:so|very|really) (?:helpful|kind|patient|friendly)", r"lovely", r"impressed", r"love\b",
        r"great\b", r"perfect", r"recommend", r"best\b", r"happy", r"pleased", r"kudos", r"compliments?",
        r"merci", r"danke", r"gracias", r"grazie",
    ],
    "suggestion": [
        r"(?:you )?(?:should|could|might) (?:consider|think about|add|offer|make|have|allow|let|introduce|provide|try|put)",
        r"would(?:n't| not)? (?:it )?be (?:nice|great|good|helpful|better|useful|easier) (?:if|to)",
        r"(?:it )?would (?:be|help) (?:great|nice|helpful|a lot|useful)", r"(?:i|we) (?:suggest|propose|recommend) (?:that|you|adding)",
        r"suggestion", r"idea\b", r"feature request", r"(?:please )?consider (?:adding|offering|making|allowing)",
        r"how about", r"what about (?:adding|offering|having)", r"(?:i'd|i would|we'd|we would) (?:love|like) (?:to see|it if|if you)",
        r"(?:one|a) (?:small )?(?:improvement|thing you could)", r"(?:could|can) you (?:please )?(?:add|introduce|offer|bring back|make it)",
        r"why not (?:add|offer|have|let|allow|make)", r"wish (?:you|there was|there were|it)", r"it'd be (?:great|nice|good)",
        r"in future", r"going forward", r"(?:wäre|waere) (?:es )?(?:schön|gut|toll)", r"vorschlag", r"suggère", r"suggestion",
        r"serait bien", r"sugerencia", r"sería (?:bueno|genial)", r"suggerimento", r"sarebbe bello",
    ],
    "problem": [
        r"on hold", r"delay(?:ed|s)?", r"cancel(?:l)?ed", r"broken", r"broke\b", r"not working", r"doesn't work",
        r"stopped working", r"never arrived", r"late\b", r"lost\b", r"missing", r"wrong", r"charged",
        r"overcharg\w*", r"hours\b", r"waiting", r"still\b", r"again\b", r"another\b", r"stuck", r"fail(?:ed|s)?",
        r"error", r"crash(?:ed|es)?", r"down\b", r"refund", r"damaged", r"faulty", r"declined", r"nobody",
        r"no one", r"(?:taken|took|taking) (?:a|one|two|three|0|ages|forever|weeks|months)\b",
        r"(?:weeks?|days?|months?|hours?) (?:late|later|overdue)",
        # German, French, Spanish, Italian, Portuguese, Dutch: the everyday words of a fault
        r"kaputt\w*", r"defekt\w*", r"beschädigt\w*", r"funktioniert (?:immer noch |noch immer |schon wieder )?nicht", r"geht nicht mehr",
        r"(?:nie|nicht|noch nicht) (?:angekommen|geliefert|erhalten)", r"verspät\w*", r"storniert", r"(?:doppelt|zweimal|zu viel) (?:abgebucht|berechnet)",
        r"niemand (?:antwortet|meldet sich|ruft)", r"keine antwort", r"immer noch nicht", r"schon wieder", r"rückerstattung", r"fehlerhaft", r"ausgefallen", r"störung",
        r"cassée?s?\b", r"en panne", r"ne (?:fonctionne|marche) (?:plus|pas)", r"(?:jamais|pas) (?:reçu|arrivée?|livrée?)", r"endommagée?s?\b", r"défectueu\w*",
        r"facturée? deux fois", r"personne ne (?:répond|rappelle)", r"aucune réponse", r"toujours pas", r"remboursement",
        r"\broto\b", r"rota\b", r"averiad[oa]", r"no funciona", r"(?:nunca|no ha) llegado", r"nunca llegó", r"cobrad[oa] dos veces", r"nadie (?:responde|contesta)", r"sin respuesta", r"reembolso", r"dañad[oa]", r"defectuos[oa]",
        r"\brott[oa]\b", r"guast[oa]", r"non funziona", r"(?:mai|non (?:è|e')) arrivat[oa]", r"addebitat[oa] due volte", r"nessuno (?:risponde|ci ha risposto)", r"nessuna risposta", r"rimborso", r"danneggiat[oa]", r"difettos[oa]",
        r"quebrad[oa]", r"avariad[oa]", r"não funciona", r"(?:nunca|não) chegou", r"cobrad[oa] duas vezes", r"ninguém (?:responde|atende)", r"sem resposta", r"danificad[oa]", r"defeituos[oa]",
        r"\bkapot\b", r"werkt niet", r"(?:nooit|niet) (?:aangekomen|geleverd|ontvangen)", r"dubbel afgeschreven", r"niemand (?:reageert|neemt op)", r"geen (?:antwoord|reactie)", r"nog steeds niet", r"beschadigd", r"terugbetaling",
    ],
    "sarcasm_open": [
        r"(?:^|[.!?] )(?:oh )?(?:great|brilliant|fantastic|wonderful|perfect|lovely|awesome|nice|super)[,!.]",
        r"thanks (?:a lot|for nothing|a bunch|so much)[.!]*\s*$", r"thanks for nothing", r"just what i needed",
        r"love (?:it )?(?:when|how|waiting|being|sitting|spending)", r"yeah right", r"well done[,.!]* (?:again|another|you)",
        r"what a (?:great|fantastic|wonderful) (?:way|start|service)", r"(?:really|so) (?:impressive|professional)[.!]+ ?(?:not|again|another|\d)",
        r"#not\b", r"\bnot!", r"bravo", r"way to go", r"well done[.!]*\s*$", r"cheers[.!]*\s*$",
        r"['\"](?:next[- ]day|express|priority|fast|free|premium|upgraded?|customer service|help|support|guaranteed)['\"]",
    ],
    "intensifier": [
        r"very", r"really", r"extremely", r"absolutely", r"totally", r"completely", r"utterly", r"so\b",
        r"seriously", r"beyond", r"incredibly", r"the worst", r"ever\b", r"never\b",
    ],
    # ---------------------------------------------------------------- phase of the transaction
    "phase_before": [
        r"before (?:i|we) (?:buy|order|book|sign|purchase|commit|switch)", r"thinking (?:of|about) (?:buying|ordering|booking|joining|switching)",
        r"considering", r"quote\b", r"do you (?:offer|sell|have|stock|deliver|ship)", r"is (?:it|there) (?:available|in stock)",
        r"how much (?:is|does|would|will)", r"pric(?:e|es|ing)", r"pre-?order", r"sign(?:ing)? up", r"open(?:ing)? an account",
        r"(?:want|would like|looking) to (?:buy|order|book|open|join|purchase|apply)", r"can i (?:buy|order|book|open|apply)",
        r"eligib\w*", r"apply(?:ing)? for", r"application", r"brochure", r"before purchas\w*",
    ],
    "phase_during": [
        r"(?:order|parcel|package|delivery|refund|transfer|payment|application|claim|repair|installation|case) "
        r"(?:is |has |still )?(?:been )?(?:pending|processing|in progress|on (?:its|the) way|delayed|stuck|not (?:arrived|shipped|processed))",
        r"(?:still )?waiting (?:for|on)", r"hasn't arrived", r"has not arrived", r"not (?:yet )?(?:arrived|delivered|received)",
        r"track(?:ing)?", r"on hold", r"in transit", r"(?:my|the) flight (?:is|was) (?:delayed|cancel\w*)", r"at the (?:gate|airport|counter|checkout|till)",
        r"right now", r"currently", r"during (?:the|my)", r"mid-?way", r"install(?:ation|ing|er)", r"engineer (?:visit|appointment)",
        r"being processed", r"checkout", r"booking process", r"on board", r"in the (?:queue|store)",
    ],
    "phase_after": [
        r"(?:i|we) (?:bought|purchased|ordered|received|got|paid|booked|flew|stayed|used)", r"(?:arrived|delivered) (?:broken|damaged|late|wrong)",
        r"after (?:a|one|two|0|\d+|the|my) (?:weeks?|days?|months?|use|uses|wash|delivery|purchase|flight|stay|visit|installation|repair)",
        r"stopped working", r"broke (?:after|within|down)", r"refund", r"return(?:ed|ing)?", r"exchange", r"warranty", r"guarantee",
        r"bill(?:ed)?\b", r"invoice", r"statement", r"charged", r"debited", r"last (?:week|month|year|time)", r"yesterday",
        r"recent (?:visit|stay|flight|order|purchase)", r"(?:since|after) (?:the|my) (?:upgrade|update|installation|repair|move)",
        r"credit report", r"collection", r"closed (?:my|the) account", r"cancel(?:l)?ed (?:my|the)",
    ],
}

# Tenure the customer states ("loyal for eight years", "customer since 2015", "I've been with
# you 10 years"). The lexicon only finds the words every claim contains (years, since 19xx,
# depuis, seit ...); ``rules.stated_tenure`` then reads the claim around them with
# TENURE_CLAIMS, so common words such as "customer" or a number cost nothing on their own.
_NUM = (
    r"(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen"
    r"|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty(?:[- ](?:one|two|three|four"
    r"|five|six|seven|eight|nine))?|thirty|forty|fifty|a couple of|a few|several|many|so many)"
)
_QUAL = r"(?:(?:well )?over |more than |almost |nearly |about |around |close to |the (?:last|past) )?"
_YRS = rf"(?:{_QUAL}{_NUM}[- ]?(?:years?|yrs?)|{_QUAL}(?:a|one|two|three) decades?)"
_YEAR = r"(?:19[5-9]\d|20[0-4]\d)"
_WHO = r"(?:customer|client|member|subscriber|patron|shopper|policyholder|account holder)s?"
_WITH = r"(?:with (?:you|your (?:company|bank|firm|store|shop|brand|service|airline))|here)"
LEXICON["tenure"] = [
    r"years?\b", r"yrs?\b", r"decades?\b", rf"since {_YEAR}\b", r"depuis\b", r"jahren\b", rf"seit {_YEAR}\b",
    r"años\b", rf"desde {_YEAR}\b", r"anni\b", rf"dal {_YEAR}\b", r"anos\b", r"jaar\b", rf"sinds {_YEAR}\b",
]
TENURE_CLAIMS = [
    rf"(?:(?:loyal|faithful|long[- ]standing|long[- ]time|regular) )?{_WHO}(?: of (?:yours|you))?(?: {_WITH})? (?:for|of|over) {_YRS}",
    rf"loyal(?: to you| {_WITH})?,? (?:for |over )?{_YRS}",
    rf"(?:been|banked|banking|shopped|shopping|insured|stayed|flown|flying|bought|ordered|ordering) {_WITH},? (?:for |over |these |the (?:last|past) )?{_YRS}",
    rf"{_YRS} (?:as (?:a |an |your )?(?:loyal )?{_WHO}|of (?:loyalty|loyal custom|custom|business with you|being (?:a |your )?(?:loyal )?{_WHO}))",
    rf"{_NUM}[- ]years?[- ](?:loyal )?{_WHO}",
    rf"(?:{_WHO}|loyal|{_WITH}|been here) (?:ever |all the way |way )?since {_YEAR}",
    rf"for {_YRS},? (?:i|we)(?:'ve| have)? (?:been (?:a |your )?(?:loyal )?(?:{_WHO}|with you)|banked|shopped|bought|stayed|flown|insured)",
    rf"client(?:e)? (?:fidèle )?depuis (?:\d{{1,2}} ans|{_YEAR})", r"fidèle depuis \d{1,2} ans",
    r"seit \d{1,2} jahren (?:treue[rn]? )?kund(?:e|in)", rf"kund(?:e|in) seit (?:\d{{1,2}} jahren|{_YEAR})",
    rf"cliente desde (?:hace \d{{1,2}} años|{_YEAR})", r"cliente (?:durante|de) \d{1,2} años",
    r"llevo \d{1,2} años (?:como cliente|con ustedes)", r"cliente da \d{1,2} anni", rf"cliente dal {_YEAR}",
    r"cliente há \d{1,2} anos", r"(?:al )?\d{1,2} jaar (?:trouwe )?klant", rf"klant sinds {_YEAR}",
]
# fmt: on


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


NEGATORS = _words(
    "not no never n't without hardly barely cannot can't don't doesn't didn't won't "
    "wouldn't isn't wasn't aren't weren't haven't hasn't ne pas jamais nicht kein keine "
    "keinen nie nunca tampoco non mai niet geen"
)
_NEG_TOKEN = re.compile(r"[\w']+")


@dataclass(frozen=True)
class Hit:
    category: str
    text: str
    start: int


# categories whose cues are counted even after a negator ("not late again" is still about lateness)
NO_NEGATION_CHECK = frozenset(
    {"problem", "intensifier", "sarcasm_open", "phase_before", "phase_during", "phase_after"}
)


class Lexicon:
    """Compiled lexicon: one alternation regex per category.

    Scanning a long text with ~20 big alternations position by position is slow, so each
    category also carries the set of strings (up to ``_PREFIX_LEN`` characters) that every
    one of its matches must start with, derived from the regex itself. One pass over the
    text's possible match starts (positions not preceded by a word character, which every
    cue requires) finds the positions whose next characters start like some cue; the full
    regex is then tried only there, left to right and without overlaps, exactly as
    ``finditer`` would (a position where no cue can start cannot produce a match). A
    category whose cues could start with anything keeps the plain ``finditer`` scan.
    """

    def __init__(self, lexicon: dict[str, list[str]] | None = None) -> None:
        self.raw = lexicon or LEXICON
        self.compiled: dict[str, re.Pattern[str]] = {}
        for cat, pats in self.raw.items():
            self_neg = [p[1:] for p in pats if p.startswith("!")]
            plain = [p for p in pats if not p.startswith("!")]
            # self-negating cues are named groups, so ``m.lastgroup`` tells them apart
            alts = [f"(?P<n{i}>{p})" for i, p in enumerate(self_neg)] + [f"(?:{p})" for p in plain]
            self.compiled[cat] = re.compile(r"(?<![\w])(?:" + "|".join(alts) + r")")
        self._build_index()

    def _build_index(self) -> None:
        self._slow: list[str] = []  # categories scanned with plain finditer
        by_prefix: dict[str, set[str]] = {}
        firsts: set[str] = set()
        for cat, rx in self.compiled.items():
            prefixes = cue_prefixes(rx.pattern, _PREFIX_LEN)
            if prefixes is None:
                self._slow.append(cat)
                continue
            for pre in prefixes:
                by_prefix.setdefault(pre, set()).add(cat)
                firsts.add(pre[0])
        order = {c: i for i, c in enumerate(self.compiled)}
        self._by_prefix = {p: frozenset(cs) for p, cs in by_prefix.items()}
        self._prefix_lens = sorted({len(p) for p in by_prefix})
        self._order = order
        self._key_cache: dict[str, tuple[str, ...]] = {}
        # One scan finds every position where some cue prefix starts; which categories that
        # is then depends on the next characters. A cue starts at 0 or after a non-word
        # character, so the scan looks for a non-word character followed by a prefix (a
        # trie of them, as a look-ahead): the engine skips to non-word characters quickly.
        self._starts: re.Pattern[str] | None = None
        self._start0: re.Pattern[str] | None = None
        if by_prefix:
            trie = _trie_regex(set(by_prefix))
            self._starts = re.compile(r"\W(?=" + trie + ")")
            self._start0 = re.compile(trie)

    def _cats_for(self, key: str) -> tuple[str, ...]:
        found: set[str] = set()
        keys = {key, "".join(_DIGIT if ch.isdecimal() else ch for ch in key)}
        for k in keys:
            for n in self._prefix_lens:
                if n > len(k):
                    break
                cs = self._by_prefix.get(k[:n])
                if cs:
                    found |= cs
        out = tuple(sorted(found, key=self._order.__getitem__))
        if len(self._key_cache) > 200_000:
            self._key_cache.clear()
        self._key_cache[key] = out
        return out

    def _candidates(self, low: str) -> dict[str, list[int]]:
        """Category -> ascending positions where one of its cues may start."""
        cand: dict[str, list[int]] = {}
        if self._starts is None or self._start0 is None:
            return cand
        cache = self._key_cache
        n = _PREFIX_LEN
        ends = [m.end() for m in self._starts.finditer(low)]
        if self._start0.match(low):
            ends.insert(0, 0)
        for p in ends:
            key = low[p : p + n]
            cats = cache.get(key)
            if cats is None:
                cats = self._cats_for(key)
            for c in cats:
                if c in cand:
                    cand[c].append(p)
                else:
                    cand[c] = [p]
        return cand

    @staticmethod
    def prepare(text: str) -> str:
        return text.replace("’", "'").replace("‘", "'").lower()

    def find(self, low: str, category: str) -> list[Hit]:
        return self.find_all(low, (category,))[category]

    def find_all(self, low: str, categories: tuple[str, ...] | None = None) -> dict[str, list[Hit]]:
        cand = self._candidates(low)
        out: dict[str, list[Hit]] = {}
        for cat in categories or tuple(self.compiled):
            rx = self.compiled[cat]
            if cat in self._slow:
                matches: Iterable[re.Match[str]] = rx.finditer(low)
            else:
                matches = _scan(rx, low, cand.get(cat, ()))
            check = cat not in NO_NEGATION_CHECK
            hits: list[Hit] = []
            for m in matches:
                if check and m.lastgroup is None and negated(low, m.start()):
                    continue
                hits.append(Hit(cat, m.group(0).strip(), m.start()))
            out[cat] = hits
        return out


def _scan(rx: re.Pattern[str], low: str, positions: Iterable[int]) -> list[re.Match[str]]:
    """``rx.finditer(low)`` restricted to ``positions`` (ascending; every possible match
    start among them): same matches, since ``match`` at ``pos`` still sees the text before
    it for look-behinds and ``^``, and a match resumes the scan at its end."""
    out: list[re.Match[str]] = []
    end = 0
    match = rx.match
    for p in positions:
        if p < end:
            continue
        m = match(low, p)
        if m is not None:
            out.append(m)
            end = m.end()
    return out


def _trie_regex(prefixes: set[str]) -> str:
    """A regex matching exactly the strings that start with one of ``prefixes`` (``_DIGIT``
    stands for ``\\d``), as a trie so the engine tests one character at a time."""
    trie: dict[str, Any] = {}
    for pre in sorted(prefixes, key=len):
        node = trie
        for ch in pre:
            if node.get("") is True:
                break  # a shorter prefix already covers this one
            node = node.setdefault(ch, {})
        else:
            node.clear()
            node[""] = True

    def emit(node: dict[str, Any]) -> str:
        if node.get("") is True:
            return ""
        alts = [(r"\d" if ch == _DIGIT else re.escape(ch)) + emit(sub) for ch, sub in node.items()]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(sorted(alts)) + ")"

    return emit(trie)


_PREFIX_LEN = 5
_DIGIT = "\x00"  # stands for any decimal digit (``\d``) in a cue prefix
_SMALL_SET = 32  # a character class larger than this counts as "any character"


def cue_prefixes(pattern: str, k: int) -> frozenset[str] | None:
    """Strings of at most ``k`` characters such that every match of ``pattern`` starts with
    one of them; ``None`` when a match could start with (almost) any character, or the
    pattern uses a construct this does not model. Zero-width assertions are ignored (they
    only remove matches), so the set may be larger than needed but never too small."""
    try:
        parsed = _sre_parse.parse(pattern)
    except re.error:
        return None
    if parsed.state.flags & ~(re.UNICODE | re.DOTALL):
        return None  # IGNORECASE, VERBOSE, ...: not modelled
    lo, _hi = parsed.getwidth()
    if lo == 0:
        return None  # empty matches: finditer's stepping rules differ
    try:
        res = _expand_seq(list(parsed), k)
    except _Unknown:
        return None
    out = frozenset(s for s, _ in res)
    if not out or "" in out:
        return None
    return out


class _Unknown(Exception):
    pass


_Res = set[tuple[str, bool]]  # (prefix, open: the whole item matched exactly this string)


def _expand_seq(items: list[Any], k: int) -> _Res:
    cur: _Res = {("", True)}
    for item in items:
        if all(not o or len(s) >= k for s, o in cur):
            break
        ext = _expand_item(item, k)
        nxt: _Res = set()
        for s, o in cur:
            if not o or len(s) >= k:
                nxt.add((s[:k], False))
                continue
            for t, o2 in ext:
                u = s + t
                nxt.add((u[:k], False) if len(u) >= k else (u, o2))
        cur = nxt
    return cur


def _expand_item(item: Any, k: int) -> _Res:
    op, av = item
    if op is _C.LITERAL:
        return {(chr(av), True)}
    if op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):
        return {("", True)}  # zero-width
    if op is _C.IN:
        chars: list[str] = []
        for sub_op, sub_av in av:
            if sub_op is _C.LITERAL:
                chars.append(chr(sub_av))
            elif sub_op is _C.CATEGORY and sub_av is _C.CATEGORY_DIGIT:
                chars.append(_DIGIT)
            elif sub_op is _C.RANGE and sub_av[1] - sub_av[0] < _SMALL_SET:
                chars.extend(chr(c) for c in range(sub_av[0], sub_av[1] + 1))
            else:  # NEGATE, CATEGORY (\w, \s, \d), big ranges
                return {("", False)}
        if len(chars) > _SMALL_SET:
            return {("", False)}
        return {(ch, True) for ch in chars}
    if op in (_C.NOT_LITERAL, _C.ANY):
        return {("", False)}
    if op is _C.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        if add_flags or del_flags:
            raise _Unknown
        return _expand_seq(list(sub), k)
    if op is _C.BRANCH:
        out: _Res = set()
        for alt in av[1]:
            out |= _expand_seq(list(alt), k)
        return out
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
        lo, hi, sub = av
        once = _expand_seq(list(sub), k)
        res: _Res = set()
        cur: _Res = {("", True)}
        count = 0
        while True:
            if count >= lo:
                res |= cur
            if count >= hi:
                break
            if count > k + 1 or all(not o or len(s) >= k for s, o in cur):
                # nothing left to learn (or sub can match empty): what we have is a prefix
                res |= {(s[:k], False) for s, _ in cur}
                break
            nxt: _Res = set()
            for s, o in cur:
                if not o or len(s) >= k:
                    nxt.add((s[:k], False))
                    continue
                for t, o2 in once:
                    u = s + t
                    nxt.add((u[:k], False) if len(u) >= k else (u, o2))
            cur = nxt
            count += 1
        return res
    raise _Unknown


_CLAUSE = re.compile(r"[.!?;,]| but | mais | aber | pero ")


def negated(low: str, start: int) -> bool:
    """A negator among the three words before ``start``, within the same clause."""
    window = _CLAUSE.split(low[max(0, start - 40) : start])[-1]
    toks = _NEG_TOKEN.findall(window)[-3:]
    return any(t in NEGATORS or t.endswith("n't") for t in toks)
