"""The question set: phrased the way people write in Slack, with ground truth computed from the records.

Every question carries the set of relevant *answer units* — an AutoML framework × task ×
budget run with its ten CV folds is one unit (the folds are one answer row), every other
record is its own unit — found by a predicate over the records' source facts. A question
whose predicate matches nothing is a *negative*: the right answer is "nobody has tried this".

Two disjoint splits: ``dev`` (used to tune ranking and the confidence threshold) and
``heldout`` (other phrasings, other entities, other seed; only reported). Phrasings
paraphrase field values (``h2o`` for ``H2OAutoML``, ``ImageNet-21k`` for ``in21k``, "couldn't
build any model" for "could not produce any model") rather than copying them.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable

from corpus import Record

Predicate = Callable[[Record], bool]


@dataclass
class Question:
    id: str
    split: str
    family: str
    text: str
    relevant: set[str] = field(default_factory=set)  # unit keys

    @property
    def negative(self) -> bool:
        return not self.relevant


def unit_of(record: Record) -> str:
    return record.parent or record.key


# -- how people name things (paraphrases, never the stored value) -------------------------
FRAMEWORKS = {
    "H2OAutoML": (["h2o", "H2O AutoML"], ["h2o automl", "H2O"]),
    "autosklearn": (["auto-sklearn", "auto sklearn"],
                   ["Auto-Sklearn", "autosklearn"]),
    "TPOT": (["tpot"],
                   ["TPOT"],
                   ["auto-sklearn best pipelines built on {est}?"]),
    "AutoWEKA": (["auto-weka", "autoweka"], ["Auto-WEKA", "auto weka"]),
    "oboe": (["oboe"], ["OBOE"]),
}
#: AutoML systems that are not in the 2019 benchmark (checked against the records below)
ABSENT_FRAMEWORKS = (["autogluon", "FLAML", "mljar"], ["AutoGluon", "LightAutoML", "auto-keras"],
                     ["MLBox", "Ludwig", "hyperopt-sklearn"], ["AutoPyTorch", "Auto-Keras", "EvalML"])
NOTE_PATTERNS = {  # failure note regex → (dev paraphrases, held-out paraphrases)
    r"could not produce any model": (["couldn't build any model before the time ran out"],
                                     ["produced no model within the time budget"]),
    r"Missing predictions": (["ended with missing predictions"], ["wrote no predictions"]),
    r"list index out of range": (["crashed with list index out of range"], ["hit an index out of range error"]),
    r"argmin of an empty sequence": (["failed on argmin of an empty sequence"], ["blew up taking the argmin of an empty sequence"]),
    r"contains new labels": (["complained that y contains new labels"], ["errored about new labels in y"]),
    r"pipeline has not yet been optimized": (["said the pipeline has not yet been optimized"],
                                              ["failed because the pipeline was never optimized"]),
    r"Aborting instance": (["had its instance aborted"], ["got the aws instance aborted"]),
    r"probability value outside": (["produced probabilities outside [0, 1]"], ["predicted probability values outside the valid range"]),
}
PRETRAIN = {  # timm pretrained-tag pattern → (dev phrasings, held-out phrasings)
    r"in2[12]k": (["pretrained on imagenet-21k", "with in21k pretraining"], ["pre-trained on ImageNet-22k", "with 21k pretraining"]),
    r"in12k": (["pretrained on imagenet-12k"], ["with ImageNet 12k pretraining"]),
    r"laion": (["pretrained on laion"], ["trained on LAION-2B"]),
    r"dist": (["distilled"], ["with distillation"]),
}
TIMM_FAMILIES = {  # architecture prefix → (dev name, held-out name)
    "vit_base": ("vit base", "ViT-Base"), "vit_small": ("vit small", "ViT-S"), "vit_large": ("vit large", "ViT-L"),
    "convnext_tiny": ("convnext tiny", "ConvNeXt-T"), "convnext_base": ("convnext base", "ConvNeXt-B"),
    "convnext_small": ("convnext small", "ConvNeXt small"), "swin_base": ("swin base", "Swin-B"),
    "resnet50": ("resnet50", "ResNet-50"), "efficientnet_b3": ("efficientnet b3", "EfficientNet-B3"),
    "deit_small": ("deit small", "DeiT-S"), "regnety_160": ("regnety 160", "RegNetY-16GF"),
    "beit_base": ("beit base", "BEiT-B"), "eva02_base": ("eva02 base", "EVA-02 B"), "resnet18": ("resnet18", "ResNet-18"),
    "mobilenetv3_large": ("mobilenetv3 large", "MobileNet V3 large"), "coatnet": ("coatnet", "CoAtNet"),
}
PWC_MODELS = {  # model-name regex → (dev name, held-out name)
    r"\bBERT\b": ("BERT", "bert"), r"RoBERTa": ("roberta", "RoBERTa"), r"XLNet": ("xlnet", "XLNet"),
    r"ALBERT": ("albert", "ALBERT"), r"ELECTRA": ("electra", "ELECTRA"), r"\bGAT\b": ("GAT", "graph attention networks"),
    r"GraphSAGE": ("graphsage", "GraphSAGE"), r"\bGCN\b": ("GCN", "graph convolutional network"),
    r"BiDAF": ("bidaf", "BiDAF"), r"\bT5\b": ("T5", "t5"), r"DenseNet": ("densenet", "DenseNet"),
    r"Transformer-XL": ("transformer-xl", "Transformer XL"), r"\bLSTM\b": ("LSTM", "lstm"),
}
PWC_DATASETS = {  # dataset → (dev alias, held-out alias)
    "SQuAD2.0": ("squad 2.0", "SQuAD v2"), "SQuAD1.1": ("squad 1.1", "SQuAD v1.1"), "HotpotQA": ("hotpot qa", "HotpotQA"),
    "CoQA (Conversational Question Answering Challenge)": ("coqa", "CoQA"), "ogbn-arxiv": ("ogbn arxiv", "ogbn-arxiv"),
    "ogbn-products": ("ogbn products", "ogbn-products"), "ogbg-molhiv": ("molhiv", "ogbg molhiv"),
    "CheXpert": ("chexpert", "CheXpert"), "Penn Treebank": ("penn treebank", "PTB"), "WikiText-103": ("wikitext 103", "WikiText-103"),
    "CMRC 2018 (Chinese Machine Reading Comprehension 2018)": ("cmrc 2018", "CMRC2018"), "ReCoRD": ("record reading comprehension", "ReCoRD"),
}
AUTOSKLEARN_ESTIMATORS = {
    "gradient_boosting": ("gradient boosting", "GBM"), "random_forest": ("random forest", "random forests"),
    "mlp": ("an mlp", "a neural net (mlp)"), "extra_trees": ("extra trees", "extremely randomized trees"),
    "libsvm_svc": ("an svm", "a kernel SVM"), "k_nearest_neighbors": ("knn", "k-nearest neighbours"),
    "gaussian_process": ("gaussian process", "a GP"), "adaboost": ("adaboost", "AdaBoost"),
}
#: templates per family: dev ones, then held-out ones
TEMPLATES = {
    "amlb": (["has anyone run {fw} on {task}?", "did we try {fw} on the {task} dataset", "any {fw} results for {task}?"],
            ["{task}: was {fw} ever benchmarked on it?", "curious whether someone already tried {fw} for {task}"],
            ["quick q: do we have {fw} numbers on {task}?", "is there any prior work running {fw} against {task}"],
            ["so did {fw} ever get a go on {task}?", "{task} - got any {fw} runs lying around?"]),
    "amlb_budget": (["{fw} on {task} with {cores} cores", "has anyone run {fw} on {task} with more than {less} cores?"],
                   ["{task} with {fw} on a {cores}-core box?", "any {fw} on {task} using over {less} cores"],
                   ["{fw} {task} runs on {cores} cores - exist?", "anything with {fw} on {task} above {less} cores"],
                   ["was {fw} tried on {task} with {cores} cpus?", "{fw} + {task}, more than {less} cpu cores"]),
    "amlb_time": (["what {fw} runs did we do in {month} 2019?", "{fw} experiments from {month} 2019"],
                 ["anything run with {fw} during {month} 2019?"],
                 ["did {fw} get run at all in {month} 2019"],
                 ["{fw} activity in {month} 2019?"]),
    "amlb_fail": (["why did {fw} fail on {task}?", "did {fw} crash on {task}?"],
                 ["{task} {fw} failures - what went wrong?"],
                 ["what broke when {fw} ran on {task}?"],
                 ["{fw} errors on {task}, anyone looked?"]),
    "note": (["which runs {note}?", "has any {fw} run {note}?"],
            ["anyone seen runs that {note}?", "did {fw} ever {note}"],
            ["seen any job where it {note}?", "did any {fw} job {note}"],
            ["runs where it {note}, do we have those?", "{fw}: any case where it {note}?"]),
    "timm": (["has anyone evaluated a {arch} {pre}?", "any {arch} {pre} results?"],
            ["do we have numbers for {arch} {pre}?", "{arch} {pre} - anyone tried it?"],
            ["is there an eval of {arch} {pre} somewhere?"],
            ["our results for {arch} {pre}, if any?"]),
    "timm_arch": (["how did {arch} do on imagenet sketch?", "imagenet results for {arch}?"],
                 ["what top-1 does {arch} get?"],
                 ["numbers for {arch} on the imagenet test sets?"],
                 ["where does {arch} land on imagenet?"]),
    "pwc": (["has anyone tried {model} on {dataset}?", "any {model} results on {dataset}"],
           ["did someone submit {model} to {dataset}?", "{dataset} with {model} - tried?"],
           ["has {model} been run on {dataset} by anyone", "{model} x {dataset}: any results?"],
           ["{model} on {dataset}, has that been done?", "results of {model} for {dataset}?"]),
    "pwc_year": (["{dataset} results from {year}", "what was submitted to {dataset} in {year}?"],
                ["{dataset} entries published during {year}"],
                ["{dataset} results that came out in {year}"],
                ["{dataset} papers from {year}?"]),
    "pwc_synonym": (["any results on {synonym}?", "who worked on {synonym}?"],
                   ["do we have leaderboards for {synonym}?"],
                   ["anything on {synonym}?"],
                   ["who has looked into {synonym}?"]),
    "autosklearn": (["which datasets did auto-sklearn pick {est} for?", "auto-sklearn pipelines using {est}"],
                    ["for which openml datasets was {est} the best auto-sklearn pipeline?"],
                    ["where did auto-sklearn end up choosing {est}?"],
                    ["auto-sklearn best pipelines built on {est}?"]),
}
MONTHS = ["february", "march", "april"]


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _task_phrase(task: str, rng: random.Random) -> str:
    """How a person types an OpenML task name: spaced, lower-cased, separators dropped."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|[_\-]", " ", task)
    return rng.choice([spaced.lower(), spaced, task.lower()])


class QuestionBuilder:
    def __init__(self, records: list[Record]) -> None:
        self.records = records
        self.questions: list[Question] = []
        self.amlb_folds = [r for r in records if r.key.startswith("amlb/") and r.parent]
        self.timm = [r for r in records if r.key.startswith("timm/")]
        self.pwc = [r for r in records if r.key.startswith("pwc/")]
        self.autosklearn = [r for r in records if r.key.startswith("autosklearn/")]
        self.all_text = " ".join(_norm(f"{r.name} {r.note} {' '.join(r.params.values())} {' '.join(r.tags.values())}")
                                 for r in records)

    def add(self, split: str, family: str, text: str, relevant: Iterable[Record]) -> None:
        self.questions.append(Question(f"{split}-{len(self.questions):03d}", split, family, text,
                                       {unit_of(r) for r in relevant}))

    def pick(self, split: int, family: str, rng: random.Random) -> str:
        return rng.choice(TEMPLATES[family][split])

    def build(self, split: str, seed: int, per_family: int) -> None:
        rng = random.Random(seed)
        s = {"dev": 0, "heldout": 1, "unseen": 2, "fresh": 3}[split]  # which templates
        a = min(s, 1)  # which aliases: the unseen split reuses the held-out names with new templates
        folds = self.amlb_folds
        pairs = sorted({(r.facts["framework"], r.facts["task"]) for r in folds})
        tasks = sorted({t for _, t in pairs})
        # has anyone run FW on TASK (positives) and combinations nobody ran (negatives)
        for _ in range(per_family):
            fw, task = rng.choice(pairs)
            self.add(split, "amlb", self.pick(s, "amlb", rng).format(fw=rng.choice(FRAMEWORKS[fw][a]), task=_task_phrase(task, rng)),
                     [r for r in folds if (r.facts["framework"], r.facts["task"]) == (fw, task)])
        absent = [(fw, t) for fw in FRAMEWORKS for t in tasks if (fw, t) not in pairs]
        for fw, task in rng.sample(absent, min(per_family // 2, len(absent))):
            self.add(split, "amlb_absent_pair", self.pick(s, "amlb", rng).format(fw=rng.choice(FRAMEWORKS[fw][a]), task=_task_phrase(task, rng)), [])
        for name in ABSENT_FRAMEWORKS[s]:
            assert _norm(name) not in self.all_text, name
            task = rng.choice(tasks)
            self.add(split, "amlb_absent_framework", self.pick(s, "amlb", rng).format(fw=name, task=_task_phrase(task, rng)), [])
        # budgets: exact core count and "more than"
        for _ in range(per_family // 2):
            fw, task = rng.choice(pairs)
            cores = rng.choice(sorted({r.facts["cores"] for r in folds if (r.facts["framework"], r.facts["task"]) == (fw, task)}))
            less = {8: 4, 4: 2, 2: 1}[cores]
            template = self.pick(s, "amlb_budget", rng)
            wanted = (lambda r, c=cores: r.facts["cores"] == c) if "{cores}" in template else (lambda r, l=less: r.facts["cores"] > l)
            self.add(split, "amlb_budget", template.format(fw=rng.choice(FRAMEWORKS[fw][a]), task=_task_phrase(task, rng), cores=cores,
                                                           less={1: "one"}.get(less, less)),
                     [r for r in folds if (r.facts["framework"], r.facts["task"]) == (fw, task) and wanted(r)])
        # time ranges
        for _ in range(per_family // 3):
            fw, month = rng.choice(list(FRAMEWORKS)), rng.choice(MONTHS)
            number = MONTHS.index(month) + 2
            self.add(split, "amlb_time", self.pick(s, "amlb_time", rng).format(fw=rng.choice(FRAMEWORKS[fw][a]), month=month.capitalize() if s else month),
                     [r for r in folds if r.facts["framework"] == fw and r.facts["start"].month == number])
        # failures, answered from the free-text notes
        failing = sorted({(r.facts["framework"], r.facts["task"]) for r in folds if r.facts["failed"]})
        for fw, task in rng.sample(failing, min(per_family // 2, len(failing))):
            self.add(split, "amlb_fail", self.pick(s, "amlb_fail", rng).format(fw=rng.choice(FRAMEWORKS[fw][a]), task=_task_phrase(task, rng)),
                     [r for r in folds if (r.facts["framework"], r.facts["task"]) == (fw, task) and r.facts["failed"]])
        for pattern, phrasings in NOTE_PATTERNS.items():
            hits = [r for r in folds if re.search(pattern, r.facts["info"])]
            if not hits:
                continue
            template = self.pick(s, "note", rng)
            fw = rng.choice(sorted({r.facts["framework"] for r in hits})) if "{fw}" in template else None
            self.add(split, "note", template.format(note=rng.choice(phrasings[a]), fw=rng.choice(FRAMEWORKS[fw][a]) if fw else ""),
                     [r for r in hits if fw is None or r.facts["framework"] == fw])
        # timm: architecture family × pretraining data, positives and combinations nobody evaluated
        for prefix, names in TIMM_FAMILIES.items():
            if rng.random() > 0.6:
                continue
            pattern, phrasings = rng.choice(list(PRETRAIN.items()))
            if not self.timm:
                continue
            relevant = [r for r in self.timm if r.facts["architecture"].startswith(prefix) and re.search(pattern, r.facts["tag"])]
            self.add(split, "timm" if relevant else "timm_absent",
                     self.pick(s, "timm", rng).format(arch=names[a], pre=rng.choice(phrasings[a])), relevant)
        for prefix, names in rng.sample(sorted(TIMM_FAMILIES.items()), 4 if self.timm else 0):
            self.add(split, "timm_arch", self.pick(s, "timm_arch", rng).format(arch=names[a]),
                     [r for r in self.timm if r.facts["architecture"].startswith(prefix)])
        # leaderboards: model family × dataset, years, task synonyms
        combos = [(p, d) for p in PWC_MODELS for d in PWC_DATASETS]
        present = [c for c in combos if any(r.facts["dataset"] == c[1] and re.search(c[0], r.facts["model_name"]) for r in self.pwc)]
        chosen = rng.sample(present, min(per_family // 2, len(present)))
        chosen += rng.sample([c for c in combos if c not in present], per_family - len(chosen)) if self.pwc else []
        for pattern, dataset in chosen:
            names, aliases = PWC_MODELS[pattern], PWC_DATASETS[dataset]
            relevant = [r for r in self.pwc if r.facts["dataset"] == dataset and re.search(pattern, r.facts["model_name"])]
            self.add(split, "pwc" if relevant else "pwc_absent",
                     self.pick(s, "pwc", rng).format(model=names[a], dataset=aliases[a]), relevant)
        dated = [d for d in PWC_DATASETS if any(r.facts["dated"] and r.facts["dataset"] == d for r in self.pwc)]
        for dataset in rng.sample(dated, min(3, len(dated))):
            years = sorted({r.facts["start"].year for r in self.pwc if r.facts["dataset"] == dataset and r.facts["dated"]})
            year = rng.choice(years)
            self.add(split, "pwc_year", self.pick(s, "pwc_year", rng).format(dataset=PWC_DATASETS[dataset][a], year=year),
                     [r for r in self.pwc if r.facts["dataset"] == dataset and r.facts["dated"] and r.facts["start"].year == year])
        synonyms = sorted({(r.facts["task"], syn.strip(' "')) for r in self.pwc for syn in r.facts["synonyms"]})
        for task, synonym in rng.sample(synonyms, min(3, len(synonyms))):
            self.add(split, "pwc_synonym", self.pick(s, "pwc_synonym", rng).format(synonym=synonym.lower()),
                     [r for r in self.pwc if r.facts["task"] == task])
        # auto-sklearn: which estimator the best pipeline used
        for estimator, names in rng.sample(sorted(AUTOSKLEARN_ESTIMATORS.items()), 3 if self.autosklearn else 0):
            self.add(split, "autosklearn", self.pick(s, "autosklearn", rng).format(est=names[a]),
                     [r for r in self.autosklearn if r.facts["estimator"] == estimator])


def build_questions(records: list[Record]) -> list[Question]:
    builder = QuestionBuilder(records)
    builder.build("dev", seed=11, per_family=12)
    builder.build("heldout", seed=29, per_family=8)
    builder.build("unseen", seed=47, per_family=8)  # templates written before its first score; see README
    builder.build("fresh", seed=83, per_family=8)  # templates written after the last change to ranking
    # the same text may come out twice from the templates: keep the first
    seen: set[tuple[str, str]] = set()
    unique = []
    for q in builder.questions:
        if (q.split, q.text.lower()) not in seen:
            seen.add((q.split, q.text.lower()))
            unique.append(q)
    return unique


NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)  # "last week" is relative to a fixed day: reruns agree
