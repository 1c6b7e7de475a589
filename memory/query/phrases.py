"""Phrase tables of the plain-language parser (:mod:`memory.query.natural`): the words and
patterns it recognises, kept apart from the parsing logic so each stays readable."""

from __future__ import annotations

import re

# -- words ----------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
_HOLE = " \x00 "  # marks a peeled phrase; control characters never survive normalisation
_STOPWORDS = frozenset("""a an and any anybody anyone are as at be been by did do does for from had has have how i if in
    into is it its me my no not of on or our so some than that the their them then there these they this to tried try
    trying us was we were what when where which who whom why will with you your ever""".split())
#: question scaffolding trimmed from the ends of the leftover text
_FILLER = _STOPWORDS | frozenset("""show find list get give tell look search see know remember recall about anything
    something everything all run runs experiment experiments result results please used using use uses attempted
    attempt done someone somebody everyone people whether can could would should also just only still yet else like
    ones stuff happened happen what's whats there's let's i've we've
    evaluated evaluate benchmarked benchmark submitted submit picked pick chose choose ran ended got get gets getting
    numbers entries entry leaderboard leaderboards worked work seen saw wondering curious already went wrong gone within""".split())
#: words too ordinary to stand alone for a project or model ("loss", "model", "data")
_GENERIC = _FILLER | frozenset("""model models data dataset datasets loss test tests train training eval evaluation
    baseline prediction predictions classifier detection pipeline pipelines feature features job jobs new old best
    final main default team metric metrics param params version versions image images text production staging latest
    project projects""".split())
_SYNONYMS = {"lr": ("learning", "rate"), "bs": ("batch", "size"), "acc": ("accuracy",)}
#: abbreviations and spellings of the field that mean the same thing; each group is a set of
#: equivalent phrases (as lower-case words). Names the memory itself knows are learned from it
#: (:mod:`memory.query.terms`); this table holds only what no record spells out.
EQUIVALENT_TERMS: tuple[tuple[tuple[str, ...], ...], ...] = tuple(
    tuple(tuple(phrase.split()) for phrase in group.split("|"))
    for group in (
        # ImageNet-21k and ImageNet-22k are one dataset (21,841 classes), named both ways
        "imagenet 21k|imagenet 22k|imagenet21k|imagenet22k|in21k|in22k|21k|22k|in 21k|in 22k",
        "imagenet 12k|imagenet12k|in12k|12k", "imagenet 1k|imagenet1k|in1k",
        "distilled|distillation|dist|distill", "laion|laion 2b|laion2b|laion 400m|laion400m",
        "vit|vision transformer|vision transformers",
        "gbm|gradient boosting|gradient boosted trees|gbdt", "knn|k nearest neighbors|k nearest neighbours|nearest neighbors|nearest neighbours",
        "svm|svc|support vector machine|kernel svm|libsvm svc", "mlp|neural net|neural network|multilayer perceptron",
        "gp|gaussian process", "extra trees|extremely randomized trees", "rf|random forest|random forests",
        "gat|graph attention network|graph attention networks", "gcn|graph convolutional network|graph convolutional networks",
        "ptb|penn treebank", "squad v2|squad 2|squad2|squad 2 0|squad2 0", "squad v1|squad 1 1|squad1 1|squad v1 1|squad1",
        "oom|out of memory|memoryerror",
        # model-size letters as written in papers (ViT-B/16, ConvNeXt-T, DeiT-S)
        "b|base", "s|small", "t|tiny", "l|large", "h|huge",
    )
)
_GLUED_AFTER, _GLUED_BEFORE = re.compile(r"[\-_./:][^\W_]"), re.compile(r"[^\W_][\-_./@:]$")


# -- intents and subjects ---------------------------------------------------------------------

_X, _XEND = r"(?P<x>[^?!;\x00]{1,120}?)", r"(?P<x>[^?!;,\x00]{1,120})"
_LINEAGE = [  # (pattern, strict): strict patterns need an identifier-like subject
    (r"\bwhy\s+(?:did|does|do|has|have|was|were|is|would)\s+" + _X + r"\s+(?:fail|failed|crash|crashed|break|broke"
     r"|error|errored|get\s+killed|die|regress|degrade|drop|get\s+worse)(?!\w)", True),
    (r"\bwhat\s+(?:produced|created|generated|made|built|trained)\s+" + _XEND, False),
    (r"\b(?:lineage|provenance|upstream|origins?)\s+(?:of|for)\s+" + _XEND, False),
    (r"\bwhere\s+(?:did|does|do)\s+" + _X + r"\s+come\s+from(?!\w)", False),
    (r"\bwhat\s+(?:was|were|is|are)\s+" + _X + r"\s+trained\s+(?:on|with)(?!\w)", False),
    (r"\bwhat\s+(?:data|datasets?|features)\s+(?:did|does|do|was|were|is)\s+" + _X
     + r"\s+(?:use|used|train\s+on|trained\s+on)(?!\w)", False),
    (r"\bhow\s+(?:was|were|is)\s+" + _X + r"\s+(?:made|produced|built|trained|created)(?!\w)", False),
]
_AB = r"(?P<a>[^?!;,\x00]{1,100}?)\s+(?:and|vs\.?|versus|with|to|against)\s+(?P<b>[^?!;,\x00]{1,100})"
_DIFF = [
    r"\bwhat(?:'s|\s+has|\s+have|\s+is|\s+was)?\s+(?:changed|different|the\s+difference|the\s+diff)\s+between\s+" + _AB,
    r"\b(?:diff|difference|differences|changes)\s+(?:between\s+|of\s+)?" + _AB,
    r"\bcompare\s+" + _AB,
    r"\bhow\s+(?:does|did|do|is|was)\s+(?P<a>[^?!;,\x00]{1,100}?)\s+differ\s+from\s+(?P<b>[^?!;,\x00]{1,100})",
    r"(?P<a>[^\s\x00?!;,]+)\s+(?:vs\.?|versus)\s+(?P<b>[^\s\x00?!;,]+)",
]
_DIGEST = [
    r"\b(?:weekly|monthly|daily)\s+(?:digest|summary|recap|report|update|roundup)(?!\w)",
    r"\b(?:digest|recap|round-?up)(?!\w)",
    r"\b(?:give\s+me\s+)?(?:a\s+)?summar(?:y|ise|ize)(?:\s+of)?(?!\w)",
    r"\bwhat\s+(?:did|have|has)\s+(?:we|i|the\s+team|everyone|people)\s+(?:learn|learned|learnt|find|found|discover"
    r"|discovered|do|done|ship|shipped)(?!\w)",
    r"\bwhat(?:'s|\s+has|\s+have|\s+is)?\s+(?:happened|happening|new|changed|going\s+on)(?!\w)",
    r"\bcatch\s+me\s+up(?:\s+on)?(?!\w)|\bwhat\s+did\s+i\s+miss(?!\w)",
]
_REFS = [  # (kind, pattern), most specific first; known names are looked for after "bare"
    ("urn", r"\b[a-z][a-z0-9+.\-]*://[^\s,;'\"<>()\x00]*[^\s,;'\"<>()\x00.?!]"),
    ("alias", r"(?<![\w.\-@/])(?P<n>[^\W\d][\w.\-]*)@(?P<v>[^\W\d][\w\-]*)(?![\w@]|\.\w)"),
    ("slash", r"(?<![\w.\-/])(?P<n>[^\W\d][\w.\-]*)/v?(?P<v>\d+)(?![\w/])"),
    ("spaced", r"(?<![\w.\-/])(?P<n>[^\W\d][\w.\-]*)\s+(?:v|version\s+|ver\.?\s*)(?P<v>\d+)(?!\w)"),
    ("bare", r"(?<![\w.\-/])(?:v|version\s+)(?P<v>\d+)(?!\w)"),
    ("ident", r"(?<![\w.\-/@:])(?=[\w.\-/:]*[\d_\-/:])[^\W_][\w.\-/:]*[^\W_](?![\w@])"),
]
_NOT_NAMES = _FILLER | {"compare", "diff", "between", "versus", "vs", "model", "version", "lineage", "changed"}
_ALIAS_WORD = re.compile(r"\b(production|staging|champion|challenger)\b", re.I)
_DESCRIBES_REF = re.compile(r"\b(?:production|staging|champion|challenger|models?|datasets?|versions?|runs?)\b", re.I)


# -- dates ------------------------------------------------------------------------------------

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
          r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?![a-z])\.?")
_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}
_YEAR = r"(?:19|20)\d\d"
_PERIOD = rf"""(?:
    (?P<iso>(?P<iy>\d{{4}})-(?P<im>\d{{1,2}})(?:-(?P<id>\d{{1,2}}))?)(?![\d\-])
  | (?P<dm>(?P<dmd>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<dmm>{_MONTH})(?:,?\s+(?P<dmy>{_YEAR}))?)(?!\d)
  | (?P<md>(?P<mdm>{_MONTH})(?:\s+(?P<mdd>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:]))?(?:,?\s+(?P<mdy>{_YEAR}))?)(?!\d)
  | (?P<qtr>q(?P<q>[1-4])(?:\s+(?P<qy>{_YEAR}))?)(?!\w)
  | (?P<season>(?:(?P<sw>last|this)\s+)?(?P<sn>spring|summer|autumn|fall|winter)(?:\s+(?:of\s+)?(?P<sy>{_YEAR}))?)(?!\w)
  | (?P<rel>(?P<rw>last|this|previous|current)\s+(?P<ru>week|month|quarter|year))(?!\w)
  | (?P<day>today|yesterday)(?!\w)
  | (?P<year>{_YEAR})(?!\w)
)"""
_ANY_PERIOD = re.sub(r"\(\?P<\w+>", "(?:", _PERIOD)
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "few": 3, "couple of": 2}
_UNITS = r"(?P<unit>hours?|days?|weeks?|months?|years?)(?!\w)"
_DATES = [  # (pattern, how the period bounds the range)
    (rf"\b(?:between|from)\s+(?:the\s+)?(?P<a>{_ANY_PERIOD})\s+(?:and|to|until|till|through|thru|-)\s+(?:the\s+)?"
     rf"(?P<b>{_ANY_PERIOD})", "range"),
    (r"(?:\b(?:in|during|over|within|for|from)\s+)?(?:\bthe\s+)?\b(?:last|past|previous)\s+(?P<n>\d{1,4}|"
     + "|".join(w.replace(" ", r"\s+") for w in _NUMBER_WORDS) + r")\s+" + _UNITS, "rolling"),
    (r"(?:\b(?:in|during|over|within|for)\s+)?(?:\bthe\s+(?:last|past)|\bpast)\s+" + _UNITS, "rolling"),
    (rf"\b(?P<prep>since|from|starting(?:\s+(?:from|in|on))?|after|before|until|till|up\s+to|prior\s+to|through|thru"
     rf"|in|during|over|throughout|for|on)\s+(?:the\s+)?(?:(?:month|year)\s+of\s+)?(?P<p>{_ANY_PERIOD})", "prep"),
    (r"\b(?:earlier\s+|later\s+)?(?P<p>(?:last|this|previous|current)\s+(?:week|month|quarter|year)|today|yesterday"
     r"|(?:last|this)\s+(?:spring|summer|autumn|fall|winter))(?!\w)", "period"),
]
# "results from 2020" means during 2020 (people say "since" for an open range); "from X to Y" is a range
_PREPS = {"since": "from", "from": "in", "starting": "from", "after": "after", "before": "before",
          "until": "before", "till": "before", "up to": "before", "prior to": "before", "through": "through",
          "thru": "through"}


# -- outcome, status, kinds, numbers ----------------------------------------------------------

_AND = r"(?:\b(?:and|but|so)\s+)?"
_BASELINE = r"(?:(?:over|on|against|vs\.?|than)\s+)?(?:the\s+|our\s+)?baselines?"
_ASKS = [
    _AND + r"\b(?:did|does|do|has|have|will|would|was|were|is|whether)\s+(?:it|they|that|this|these|those|this\s+one"
    r"|that\s+one|any\s+of\s+(?:them|these|those))\s+(?:(?:really|actually|even|ever)\s+)?(?:beat|outperform(?:ed)?"
    r"|improved?|help(?:ed)?|work(?:ed)?|do\s+better|pay\s+off|make\s+a\s+difference|hurt|regress|matter"
    r"|move\s+the\s+needle)(?:\s+" + _BASELINE + r"|\s+(?:anything|things|at\s+all))?(?!\w)",
    _AND + r"\b(?:was|is|were|are)\s+(?:it|they|that|this)\s+(?:any\s+)?(?:better|worse|good|an\s+improvement)"
    r"(?:\s+" + _BASELINE + r")?(?!\w)",
    _AND + r"\bhow\s+(?:well\s+)?(?:did|does|do)\s+(?:it|they|that|this)\s+(?:do|go|perform|turn\s+out|compare)(?!\w)",
]
#: "did label smoothing help?": the subject words stay in the text
_ASK_ABOUT = (r"\b(?:did|does|has|have)\s+(?P<keep>[^?!;,\x00]{1,60}?)\s+(?:really\s+|actually\s+)?(?:help(?:ed)?"
              r"|work(?:ed)?|pay\s+off|make\s+a\s+difference|beat\s+(?:the\s+)?baseline|improve\s+(?:things|anything"
              r"|results))(?!\w)")
_PEOPLE_PRONOUNS = {"anyone", "anybody", "someone", "somebody", "we", "you", "i", "people", "everyone"}
_VERDICTS = [
    (r"(?:\b(?:that|which|who)\s+)?(?:\b(?:have|has|had|did)\s+)?\b(?:beat|beats|beaten|beating"
     r"|outperform(?:s|ed|ing)?)\s+(?:the\s+|our\s+)?baselines?", "better"),
    (r"\b(?:better\s+than|above|improved\s+(?:on|over|upon))\s+(?:the\s+|our\s+)?baselines?", "better"),
    (r"\b(?:that|which|who)\s+(?:improved|helped)(?!\w)", "better"),
    (r"\b(?:only|just)\s+(?:the\s+)?(?:improvements|wins|winners)(?!\w)|\b(?:improvements|wins)\s+only(?!\w)",
     "better"),
    (r"\b(?:worse\s+than|below|lost\s+to|underperform(?:s|ed|ing)?)\s+(?:the\s+|our\s+)?baselines?", "worse"),
    (r"\b(?:that|which|who)\s+(?:hurt|regressed|made\s+(?:it|things)\s+worse)(?!\w)", "worse"),
    (r"\b(?:only|just)\s+(?:the\s+)?regressions(?!\w)|\bregressions\s+only(?!\w)", "worse"),
]
_WERE = r"(?:\b(?:that|which|who)\s+)?(?:\b(?:were|was|have|has|had|got|get|been)\s+)*\b"
_STATUSES = [
    (_WERE + r"(?:fail|failed|failing|fails|failures|crash(?:ed|es|ing)?|errored|erroring|broke|broken|blew\s+up"
     r"|died)(?!\w)", "FAILED"),
    (_WERE + r"(?:killed|cancell?ed|aborted)(?!\w)", "KILLED"),
    (_WERE + r"(?:finished|completed|succeeded)(?!\w)", "FINISHED"),
]
_KINDS = [
    (r"\bmodel[\s_-]versions?(?!\w)", "model_version"),
    (r"\bregistered\s+models?(?!\w)", "model"),
    (r"\bdataset[\s_-]versions?(?!\w)", "dataset_version"),
    (r"\bdatasets(?!\w)", "dataset"),
    (r"\b(?:pipeline|job)[\s_-]runs?(?!\w)|\bjobs(?!\w)", "job_run"),
    (r"\bfeature[\s_-]views?(?!\w)", "feature_view"),
    (r"\bevaluations(?!\w)", "evaluation"),
    (r"\b(?:only|just|which|what)\s+(?:the\s+)?(?:runs|experiments)(?!\w)|\b(?:runs|experiments)\s+only(?!\w)", "run"),
]
_OPS = [  # (op, symbols, words); longer phrases first ("at least" before "at")
    (">=", r">=|≥", r"at\s+least|no\s+less\s+than|not\s+less\s+than|minimum(?:\s+of)?"),
    ("<=", r"<=|≤", r"at\s+most|no\s+more\s+than|not\s+more\s+than|maximum(?:\s+of)?|up\s+to"),
    (">", r">", r"above|over|greater\s+than|more\s+than|higher\s+than|bigger\s+than|larger\s+than|exceed(?:ing|s)"),
    ("<", r"<", r"below|under|less\s+than|lower\s+than|smaller\s+than|fewer\s+than|beneath"),
    ("=", r"==|=", r"of|equal\s+to|equals|is|was|set\s+to|at"),
]
_OP_ALTS = [(op, rf"{symbols}|\b(?:{words})(?!\w)") for op, symbols, words in _OPS]
_NUMBER = re.compile(
    r"(?:(?P<op>" + "|".join(alt for _, alt in _OP_ALTS) + r")\s*)?"
    r"(?<![\w.\-/@:])(?P<num>[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?)(?![\w\-/:@]|\.\d)"
    r"(?:\s+(?P<post>or\s+(?:more|higher|greater|above|less|lower|fewer|below)))?", re.I)
_WORDS_BEFORE = re.compile(r"(?:[^\W\d][\w\-./]*[ \t]+){0,2}[^\W\d][\w\-./]*[ \t]*$")
_WORDS_AFTER = re.compile(r"[ \t]*[^\W\d][\w\-./]*(?:[ \t]+[^\W\d][\w\-./]*){0,2}")
_AROUND_PROJECT = (re.compile(r"(?:\b(?:on|in|for|from|within|of|at|about|across)\s+)?(?:\b(?:the|our|my|their)\s+)?$",
                              re.I),
                   re.compile(r"(?:'s|s')?(?:\s+(?:models?|projects?|team|pipelines?|work|use[\s-]case|experiments?"
                              r"|runs?)(?!\w))?", re.I))
_AROUND_PERSON = (re.compile(r"(?:\b(?:by|from|of)\s+)?$", re.I),
                  re.compile(r"(?:@[\w.\-]+)?(?:'s|s')?(?:\s+(?:runs?|experiments?|work)(?!\w))?", re.I))
_PERSON_HINT = re.compile(r"\b(?:by|from)\s+(?P<w>[^\W\d_][\w.\-]{2,})|(?P<v>[^\W\d_][\w.\-]{2,})'s\b", re.I)


def _compile(patterns: list, flags: int = re.I) -> list:
    return [(re.compile(p[0], flags), p[1]) if isinstance(p, tuple) else re.compile(p, flags) for p in patterns]


_LINEAGE_RE, _DIFF_RE, _DIGEST_RE, _ASKS_RE = _compile(_LINEAGE), _compile(_DIFF), _compile(_DIGEST), _compile(_ASKS)
_VERDICTS_RE, _STATUSES_RE, _KINDS_RE = _compile(_VERDICTS), _compile(_STATUSES), _compile(_KINDS)
_DATES_RE = _compile(_DATES, re.I | re.X)  # the period grammar is written verbose
_REFS_RE = [(kind, re.compile(p, re.I)) for kind, p in _REFS]
_PERIOD_RE, _ASK_ABOUT_RE = re.compile(_PERIOD, re.I | re.X), re.compile(_ASK_ABOUT, re.I)
_OPS_RE = [(op, re.compile(alt, re.I)) for op, alt in _OP_ALTS]
