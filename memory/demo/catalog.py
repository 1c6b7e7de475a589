"""The demo organization's fixed material: teams, people, projects, ideas and error messages.

Pure data; ``org.py`` draws from it with a seeded random generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TEAMS: dict[str, tuple[str, ...]] = {
    "growth": ("maria.garcia", "lucas.martin", "noah.kim"),
    "risk": ("james.okafor", "anna.kowalska", "fatima.haddad", "noah.kim"),
    "search": ("wei.zhang", "tom.becker"),
    "vision": ("kenji.tanaka", "sofia.rossi", "diego.hernandez"),
    "nlp": ("priya.raman", "elena.petrova", "aisha.bello"),
    "recsys": ("raj.patel", "chloe.dubois", "wei.zhang", "diego.hernandez"),
}


@dataclass(frozen=True)
class IdeaTemplate:
    """Something a researcher tries: the params it sets, the params its sweep varies, how people call it."""

    key: str
    title: str
    short: str  # run-name prefix of the sweep's trials
    phrases: tuple[str, ...]  # other ways to name it; "{v}" is the main swept value
    why: tuple[str, ...]  # hypotheses, full sentences
    sweep: tuple[tuple[str, tuple[str, ...]], ...]  # (param, candidate values); the first one is the main one
    fixed: dict[str, str] = field(default_factory=dict)
    cost: float = 1.0  # run time relative to the project's baseline


@dataclass(frozen=True)
class MetricShape:
    name: str
    base: float  # baseline value
    follows: float  # change per unit of change of the primary metric


@dataclass(frozen=True)
class ProjectTemplate:
    name: str
    team: str
    description: str
    framework: str
    primary_metric: str
    goal: str  # "max" | "min"
    baseline_value: float
    effect_unit: float  # one unit of idea effect, in metric units; run-to-run noise is ~0.35 units
    train_loss: tuple[str, float, float]  # name, first value, last value
    val_loss: tuple[str, float, float]
    secondary: tuple[MetricShape, ...]
    steps: tuple[int, int]  # metric history length range
    minutes: float  # typical baseline run time
    params: dict[str, str]
    tuning: tuple[str, tuple[str, ...]]  # second swept param when an idea sweeps only one
    dataset: tuple[str, str]  # name, s3 uri
    snapshots: tuple[str, ...]  # dataset versions, oldest first
    ideas: dict[str, float]  # idea key -> true effect in units (positive = better)
    errors: tuple[str, ...]  # keys of ERRORS that can happen here
    model_name: str
    model_description: str


def _idea(key: str, title: str, short: str, phrases: tuple[str, ...], why: tuple[str, ...],
          sweep: tuple[tuple[str, tuple[str, ...]], ...], fixed: dict[str, str] | None = None, cost: float = 1.0) -> IdeaTemplate:
    return IdeaTemplate(key, title, short, phrases, why, sweep, fixed or {}, cost)


IDEAS: dict[str, IdeaTemplate] = {i.key: i for i in (
    _idea("label_smoothing", "label smoothing", "ls", ("label smoothing", "LS={v}", "smoothed targets", "soft targets (eps={v})"),
          ("Labels are noisy and the model is overconfident on them; softening the targets should help calibration and maybe the metric.",
           "Reliability plot of the baseline is badly overconfident in the top bins.",
           "Some labels are plain wrong (annotators disagree ~8% of the time), so hard 0/1 targets are too strong."),
          (("label_smoothing", ("0.05", "0.1", "0.15", "0.2")),)),
    _idea("focal_loss", "focal loss", "focal", ("focal loss", "FL with gamma={v}", "focal loss (down-weighting easy examples)"),
          ("Most of the loss comes from easy negatives; focal loss should push capacity to the hard ones.",
           "Class imbalance is severe and the easy majority dominates the gradient."),
          (("gamma", ("1.0", "2.0", "3.0")), ("alpha", ("0.25", "0.5", "0.75")))),
    _idea("class_weights", "class weights", "cw", ("class weights", "inverse-frequency weighting", "reweighted classes (w={v})"),
          ("Rare classes are underpredicted; weighting the loss by inverse frequency should lift recall on them.",
           "Resampling is slow on this data; weighting the minority class up is the cheap alternative."),
          (("class_weight_power", ("0.25", "0.5", "0.75", "1.0")),)),
    _idea("smote", "SMOTE oversampling", "smote", ("SMOTE", "synthetic minority oversampling", "SMOTE (k={v})"),
          ("Positives are ~2% of rows; synthetic oversampling of the minority class might give the trees more to split on.",
           "Someone on another team had luck with SMOTE on imbalanced tabular data, worth a try here."),
          (("smote_k_neighbors", ("3", "5", "10")), ("sampling_ratio", ("0.1", "0.25", "0.5")))),
    _idea("target_encoding", "target encoding", "te", ("target encoding", "TE of high-cardinality categoricals", "out-of-fold mean encoding (smoothing={v})"),
          ("High-cardinality categoricals are one-hot or dropped today; out-of-fold target encoding should carry more signal.",
           "Several id columns have thousands of levels; mean-encoding them with smoothing should beat the hashed version."),
          (("te_smoothing", ("1", "10", "50", "200")),), {"te_folds": "5"}),
    _idea("monotonic_constraints", "monotonic constraints", "mono", ("monotonic constraints", "monotone constraints on income/utilisation", "monotonicity constraints"),
          ("Model risk wants scores that never decrease with utilisation; curious how much AUC monotone constraints cost.",
           "Monotone constraints on the bureau features should make the model explainable without losing much."),
          (("monotone_penalty", ("0.0", "1.0", "2.0")),), {"monotone_constraints_method": "advanced"}),
    _idea("woe_logreg", "WoE binning + logistic regression", "woe", ("a WoE scorecard", "weight-of-evidence logistic regression", "classic scorecard (WoE bins)"),
          ("Regulators like scorecards; check how far a WoE logistic regression is from the GBM.",),
          (("woe_max_bins", ("5", "10", "20")), ("C", ("0.1", "1.0"))), {"model": "logistic_regression"}, 0.3),
    _idea("bureau_features", "credit bureau features", "bureau", ("bureau features", "the new bureau attributes", "external bureau data"),
          ("The new bureau feed has 140 attributes we do not use yet; inquiries in the last 6 months should be predictive.",),
          (("bureau_feature_set", ("core", "core+inquiries", "full")),), {"feature_set": "v3+bureau"}),
    _idea("reject_inference", "reject inference", "ri", ("reject inference", "parcelling of rejected applicants", "RI (augmentation weight {v})"),
          ("We only train on approved applicants; reject inference should reduce the selection bias.",),
          (("reject_weight", ("0.1", "0.3", "0.5")),)),
    _idea("dart", "DART boosting", "dart", ("DART", "dropout trees (DART)", "dart boosting, drop_rate={v}"),
          ("Later trees overfit to a few residuals; DART's tree dropout should regularise that.",),
          (("drop_rate", ("0.05", "0.1", "0.2")),), {"boosting": "dart"}, 2.2),
    _idea("usage_trends", "usage trend features", "trends", ("usage trend features", "30-day usage slopes", "behavioural trend features"),
          ("Churners taper off before they leave; slopes of weekly usage over 30/60/90 days should catch that earlier than totals.",
           "The baseline only sees usage totals, not the trajectory."),
          (("trend_windows", ("30", "30,60", "30,60,90")),), {"feature_set": "v2+trends"}),
    _idea("shap_selection", "SHAP feature selection", "shapsel", ("SHAP-based feature pruning", "dropping low-SHAP features", "feature selection by mean |SHAP|"),
          ("Half the features have near-zero SHAP; pruning them might reduce noise and training time.",),
          (("keep_top_k", ("50", "100", "150")),)),
    _idea("tweedie_loss", "Tweedie loss", "tweedie", ("Tweedie loss", "tweedie objective (p={v})", "a compound Poisson-gamma objective"),
          ("Revenue is zero-inflated with a long tail; a Tweedie objective fits that better than squared error.",),
          (("tweedie_variance_power", ("1.2", "1.4", "1.6", "1.8")),), {"objective": "tweedie"}),
    _idea("quantile_regression", "quantile regression", "quant", ("quantile regression", "pinball loss at q={v}", "quantile objectives"),
          ("Finance wants intervals, not point estimates; check what the median model costs in RMSE.",),
          (("alpha", ("0.5", "0.6", "0.7")),), {"objective": "quantile"}),
    _idea("log_target", "log-transformed target", "log", ("a log1p target", "training on log revenue", "log-transformed LTV"),
          ("The tail of whales dominates squared error; fitting log1p(revenue) and back-transforming should stabilise it.",),
          (("smearing_correction", ("none", "duan")),)),
    _idea("cohort_features", "cohort features", "cohort", ("cohort features", "acquisition-cohort aggregates", "cohort-level revenue curves"),
          ("Customers from the same acquisition month behave alike; cohort revenue curves should help new customers most.",),
          (("cohort_granularity", ("week", "month")), ("min_cohort_size", ("50", "200")))),
    _idea("hurdle_model", "two-stage hurdle model", "hurdle", ("a hurdle model", "two-stage model (will-buy x how-much)", "zero/positive split model"),
          ("60% of customers never buy again; model P(buy) and E[revenue | buy] separately.",),
          (("stage1_threshold", ("0.3", "0.5")), ("stage2_objective", ("regression", "gamma"))), {"model": "hurdle"}, 1.8),
    _idea("sequence_model", "sequence model on transactions", "seq", ("a GRU over transaction sequences", "sequence model", "DeepAR-style model"),
          ("The order of purchases carries signal the aggregates lose; try a small recurrent model.",),
          (("hidden_size", ("64", "128", "256")),), {"model": "gru", "optimizer": "adam"}, 4.0),
    _idea("device_graph", "graph features from device sharing", "graph", ("graph features from device sharing", "device-sharing graph features", "shared-device neighbourhood features (hops={v})"),
          ("Fraud rings share devices and cards; features over the device-sharing graph should expose them.",
           "Investigators say most large losses come from accounts linked through devices."),
          (("graph_hops", ("1", "2", "3")),), {"feature_set": "v4+graph"}, 1.4),
    _idea("velocity_features", "velocity features", "velocity", ("velocity features", "transaction velocity counts (1h/24h)", "rolling txn counts"),
          ("Bursts of transactions in a short window are the classic fraud signal and we only have daily counts.",),
          (("velocity_windows", ("1h", "1h,24h", "10m,1h,24h")),)),
    _idea("isolation_forest", "isolation-forest score feature", "iforest", ("an isolation-forest anomaly score", "unsupervised anomaly score as a feature", "iForest score"),
          ("New fraud patterns have no labels yet; an unsupervised anomaly score might generalise to them.",),
          (("iforest_contamination", ("0.01", "0.02", "0.05")),)),
    _idea("time_decay", "time-decay sample weights", "decay", ("time-decay weights", "recency weighting (half-life {v} days)", "down-weighting old transactions"),
          ("Fraud patterns drift; recent months should count more than last year's.",),
          (("half_life_days", ("30", "90", "180")),)),
    _idea("lambdamart", "LambdaMART", "lambdamart", ("LambdaMART", "lambdarank objective", "listwise GBM ranking (LambdaMART)"),
          ("Pointwise regression on clicks ignores the list; LambdaMART optimises NDCG directly.",),
          (("num_leaves", ("63", "127", "255")), ("min_data_in_leaf", ("20", "100"))), {"objective": "lambdarank"}),
    _idea("cross_encoder", "cross-encoder rerank", "ce", ("a cross-encoder reranker", "cross-encoder rerank of the top {v}", "MiniLM cross-encoder on top of the GBM"),
          ("Lexical features miss paraphrases; rerank the head of the list with a cross-encoder.",),
          (("rerank_top_k", ("20", "50", "100")),), {"reranker": "cross-encoder/ms-marco-MiniLM-L-12-v2"}, 2.5),
    _idea("hard_negatives", "hard negative mining", "hardneg", ("hard negative mining", "mined hard negatives", "negatives from the top-{v} of the current model"),
          ("Random negatives are too easy late in training; mine them from the current model's top results.",),
          (("hard_negative_rank_cutoff", ("10", "50", "200")), ("hard_negative_ratio", ("0.25", "0.5")))),
    _idea("distillation", "distillation", "distill", ("distillation", "knowledge distillation from the big teacher", "KD with temperature {v}"),
          ("The big model is too slow to serve; distilling it into the production-sized one should keep most of the gain.",),
          (("distill_temperature", ("1", "2", "4")), ("distill_alpha", ("0.5", "0.9"))), {"teacher": "large"}, 1.5),
    _idea("click_debiasing", "position-bias correction (IPS)", "ips", ("inverse propensity weighting of clicks", "IPS debiasing", "position-bias correction"),
          ("Clicks are position-biased; weighting by inverse examination propensity should give cleaner labels.",),
          (("propensity_clip", ("0.05", "0.1", "0.2")),)),
    _idea("query_expansion", "query expansion with synonyms", "qe", ("query expansion", "synonym expansion", "expanding queries with the synonym table"),
          ("Short queries miss relevant items; expand with the curated synonym table.",),
          (("expansion_terms", ("2", "5", "10")),)),
    _idea("mixup", "mixup", "mixup", ("mixup", "mixup (alpha={v})", "input mixing"),
          ("Mixup regularises well on small-ish image sets; our tail classes could use it.",),
          (("mixup_alpha", ("0.1", "0.2", "0.4")),)),
    _idea("cutmix", "CutMix", "cutmix", ("CutMix", "cutmix augmentation (p={v})", "patch mixing"),
          ("CutMix keeps local texture intact, which mixup smears; should suit product photos.",),
          (("cutmix_prob", ("0.25", "0.5", "1.0")),)),
    _idea("randaugment", "RandAugment", "randaug", ("RandAugment", "RandAug with N=2, M={v}", "stronger random augmentation"),
          ("The train/val gap is large from epoch 5 on; stronger augmentation should close it.",),
          (("randaugment_m", ("5", "9", "15")), ("randaugment_n", ("1", "2")))),
    _idea("vit_21k", "ViT-B/16 pretrained on ImageNet-21k", "vit", ("ViT-B/16 (IN-21k)", "a ViT-B/16 pretrained on ImageNet-21k", "the 21k-pretrained vision transformer"),
          ("A transformer backbone with 21k-class pretraining should transfer far better to our long tail than ResNet-50.",),
          (("learning_rate", ("0.0001", "0.0003", "0.001")), ("batch_size", ("128", "256"))),
          {"model": "vit_base_patch16_224.augreg_in21k", "optimizer": "adamw"}, 3.0),
    _idea("ema_weights", "EMA of weights", "ema", ("an EMA of the weights", "weight EMA (decay {v})", "Polyak averaging"),
          ("Validation metric is jumpy between epochs; evaluating an EMA of the weights should smooth it and help a bit.",),
          (("ema_decay", ("0.999", "0.9995", "0.9999")),)),
    _idea("progressive_resizing", "progressive resizing", "progres", ("progressive resizing", "training small-to-large image sizes", "progressive image resizing"),
          ("Starting at 128px and growing to 224px should cut training time at no cost.",),
          (("start_image_size", ("128", "160", "192")),), cost=0.7),
    _idea("back_translation", "back-translation augmentation", "bt", ("back-translation", "paraphrases via back-translation (de/fr)", "BT augmentation"),
          ("Rare intents have a few dozen tickets; back-translated paraphrases should multiply them.",),
          (("bt_languages", ("de", "de,fr", "de,fr,es")), ("bt_ratio", ("0.5", "1.0")))),
    _idea("domain_pretraining", "domain-adaptive pretraining", "dapt", ("domain-adaptive pretraining", "continued MLM pretraining on 2M tickets", "DAPT on our ticket corpus"),
          ("Support tickets are full of product names and jargon the general model never saw.",),
          (("dapt_steps", ("10000", "30000", "100000")),), cost=2.5),
    _idea("layerwise_lr_decay", "layer-wise LR decay", "llrd", ("layer-wise learning-rate decay", "LLRD ({v})", "discriminative learning rates"),
          ("Lower layers should move less than the head when fine-tuning.",),
          (("layer_decay", ("0.65", "0.75", "0.85", "0.95")),)),
    _idea("two_tower", "two-tower with in-batch negatives", "twotower", ("in-batch negatives for the two-tower model", "two-tower with in-batch negatives", "in-batch softmax for the dual encoder"),
          ("Uniformly sampled negatives are mostly trivially easy; in-batch negatives are harder and popularity-weighted for free.",
           "The retriever plateaus early with sampled softmax over uniform negatives; in-batch negatives should give a stronger signal."),
          (("embedding_dim", ("64", "128", "256")), ("temperature", ("0.05", "0.1"))),
          {"negatives": "in_batch", "batch_size": "4096"}, 1.3),
    _idea("logq_correction", "logQ sampling-bias correction", "logq", ("logQ correction", "sampling-bias correction for in-batch negatives", "popularity correction (logQ)"),
          ("In-batch negatives over-penalise popular items; subtracting log sampling probability corrects that.",),
          (("logq_weight", ("0.5", "1.0")),)),
    _idea("mixed_negatives", "mixed negative sampling", "mns", ("mixed negative sampling", "uniform + in-batch negatives", "MNS with {v} extra uniform negatives"),
          ("In-batch negatives never include cold items; mixing in uniform negatives should help the tail.",),
          (("uniform_negatives", ("256", "1024", "4096")),)),
    _idea("session_sequence", "session sequence features", "seqfeat", ("last-20-items sequence features", "a GRU over the session history", "session sequence encoder"),
          ("The user tower only sees long-term aggregates; the last 20 interactions should capture intent.",),
          (("history_length", ("10", "20", "50")),), cost=1.6),
    _idea("softmax_temperature", "softmax temperature tuning", "temp", ("temperature tuning", "a lower softmax temperature", "tau={v}"),
          ("The temperature was never tuned; a lower one sharpens the in-batch softmax.",),
          (("temperature", ("0.02", "0.05", "0.2")),)),
)}

ERRORS: dict[str, str] = {
    "cuda_oom": "RuntimeError: CUDA out of memory. Tried to allocate 3.06 GiB (GPU 0; 39.39 GiB total capacity; 35.71 GiB already allocated) at batch_size={batch}.",
    "nan_loss": "Loss became NaN at step {step}, right after warmup ended; training aborted by the NaN guard.",
    "worker_killed": "RuntimeError: DataLoader worker (pid {pid}) is killed by signal: Killed. Host ran out of memory with 16 workers.",
    "feature_store_timeout": "FeatureStoreTimeout: offline feature retrieval for {n} entities did not finish within 1800 s.",
    "schema_plan_type": "SchemaError: schema mismatch: column plan_type missing from the training snapshot.",
    "schema_bureau": "SchemaError: schema mismatch: column bureau_inquiries_6m missing (expected int64).",
    "empty_fold": "ValueError: validation fold is empty after the date filter (0 rows); check the split dates.",
    "query_groups": "ValueError: sum of query group sizes ({n}) does not match the number of rows after dedup.",
    "spark_executor": "SparkException: Job aborted due to stage failure: executor 14 lost (container killed by YARN for exceeding memory limits).",
}

FOLLOW_UPS: dict[str, tuple[str, ...]] = {
    "cuda_oom": ("Retrying with half the batch and gradient accumulation.", "Halving the batch next time.", "Need the 80 GB nodes for this config."),
    "nan_loss": ("Probably too high an LR for fp16; will add grad clipping.", "Lowering the peak LR."),
    "worker_killed": ("Dropped num_workers to 8.", "Rerun with fewer workers."),
    "feature_store_timeout": ("Feature store was under maintenance, rerun tomorrow.", "Will cache the features to parquet first."),
    "schema_plan_type": ("Upstream renamed it to subscription_plan; pinning the older snapshot.", "Need to update the feature mapping."),
    "schema_bureau": ("The bureau feed changed its schema again.",),
    "empty_fold": ("Off-by-one in the date split; fixed in the next commit.",),
    "query_groups": ("Dedup runs after grouping; fixing the order.",),
    "spark_executor": ("Bumped executor memory to 16g.",),
}

KILL_NOTES: tuple[str, ...] = (
    "Killed: started on the wrong data snapshot.",
    "Stopped manually, val loss going up for three epochs in a row.",
    "Preempted on a spot instance; not rerunning this one.",
    "Killed to free the GPUs for a higher-priority job.",
    "Stopped early, clearly worse than the other trials.",
)

_GBM = ("feature_store_timeout", "empty_fold", "spark_executor")
_DL = ("cuda_oom", "nan_loss", "worker_killed")


def _p(**kw: object) -> dict[str, str]:
    return {k: str(v) for k, v in kw.items()}


PROJECTS: tuple[ProjectTemplate, ...] = (
    ProjectTemplate(
        "churn-prediction", "growth",
        "Predict which subscribers cancel within 30 days of their renewal date. Scores feed the retention campaigns. "
        "Primary metric: val_auc on a time-based holdout (the last 4 weeks).",
        "lightgbm", "val_auc", "max", 0.842, 0.004,
        ("train_logloss", 0.52, 0.31), ("val_logloss", 0.53, 0.36),
        (MetricShape("val_pr_auc", 0.47, 1.4), MetricShape("val_recall_at_10pct", 0.41, 1.1)),
        (8, 12), 25,
        _p(objective="binary", learning_rate=0.05, num_leaves=63, max_depth=-1, min_child_samples=50, feature_fraction=0.8,
           bagging_fraction=0.8, n_estimators=1200, early_stopping_rounds=100, lambda_l2=1.0, feature_set="v2"),
        ("learning_rate", ("0.03", "0.05", "0.1")),
        ("churn_features", "s3://acme-ml-data/growth/churn_features/"), ("2026-01-01", "2026-05-01", "2026-09-01"),
        {"target_encoding": 1.6, "label_smoothing": -0.8, "class_weights": 0.1, "smote": -1.2, "usage_trends": 2.6,
         "focal_loss": 0.2, "dart": 0.6, "shap_selection": -0.7},
        _GBM + ("schema_plan_type",),
        "churn-classifier", "LightGBM churn classifier scoring every active subscriber nightly; used by the retention campaign service.",
    ),
    ProjectTemplate(
        "ltv-forecasting", "growth",
        "Forecast 365-day customer revenue at signup + 30 days, for bidding and budget planning. "
        "Primary metric: val_rmse in dollars on customers acquired in the holdout quarter.",
        "lightgbm", "val_rmse", "min", 48.7, 0.6,
        ("train_rmse", 71.0, 39.5), ("val_l2_loss", 5600.0, 2370.0),
        (MetricShape("val_mae", 21.4, 0.45), MetricShape("val_mape", 0.38, 0.004)),
        (8, 14), 40,
        _p(objective="regression", learning_rate=0.03, num_leaves=127, min_child_samples=100, n_estimators=2000,
           feature_fraction=0.7, lambda_l2=3.0, target="revenue_365d", feature_set="v1"),
        ("num_leaves", ("63", "127", "255")),
        ("ltv_customers", "s3://acme-ml-data/growth/ltv_customers/"), ("2026-01-01", "2026-07-01"),
        {"tweedie_loss": 2.2, "quantile_regression": -1.5, "log_target": 1.1, "target_encoding": 0.5,
         "cohort_features": 1.6, "hurdle_model": 1.0, "sequence_model": -1.0},
        _GBM,
        "ltv-forecaster", "365-day revenue forecast per customer, consumed by the paid-acquisition bidder.",
    ),
    ProjectTemplate(
        "fraud-detection", "risk",
        "Score card-not-present transactions for fraud in real time (p99 latency budget 30 ms). "
        "Primary metric: val_pr_auc on the last month of labelled transactions (chargebacks arrive with a 45-day lag).",
        "xgboost", "val_pr_auc", "max", 0.583, 0.011,
        ("train_logloss", 0.09, 0.021), ("val_logloss", 0.09, 0.027),
        (MetricShape("val_auc", 0.962, 0.25), MetricShape("val_recall_at_1pct_fpr", 0.512, 1.2)),
        (8, 12), 55,
        _p(objective="binary:logistic", eta=0.05, max_depth=8, min_child_weight=5, subsample=0.8, colsample_bytree=0.6,
           n_estimators=1500, tree_method="hist", scale_pos_weight=1, feature_set="v3"),
        ("max_depth", ("6", "8", "10")),
        ("card_transactions", "s3://acme-ml-data/risk/card_transactions/"), ("2026-01-15", "2026-04-15", "2026-08-15"),
        {"device_graph": 3.4, "focal_loss": 0.5, "smote": -1.6, "class_weights": 0.0, "target_encoding": 1.0,
         "velocity_features": 2.1, "isolation_forest": 0.1, "time_decay": 0.6},
        _GBM,
        "fraud-scorer", "Real-time card-not-present fraud score (XGBoost), served by the payments risk API.",
    ),
    ProjectTemplate(
        "credit-scoring", "risk",
        "Probability of default within 12 months for consumer credit-line applications. Must stay explainable for model risk review. "
        "Primary metric: val_auc on out-of-time applications.",
        "lightgbm", "val_auc", "max", 0.774, 0.003,
        ("train_logloss", 0.34, 0.24), ("val_logloss", 0.34, 0.27),
        (MetricShape("val_ks", 0.412, 1.6), MetricShape("val_brier", 0.071, -0.05)),
        (8, 12), 30,
        _p(objective="binary", learning_rate=0.02, num_leaves=31, max_depth=6, min_child_samples=200, n_estimators=3000,
           lambda_l1=0.5, lambda_l2=5.0, feature_fraction=0.7, feature_set="v3"),
        ("min_child_samples", ("100", "200", "400")),
        ("credit_applications", "s3://acme-ml-data/risk/credit_applications/"), ("2026-01-01", "2026-06-01"),
        {"monotonic_constraints": -0.3, "woe_logreg": -2.4, "bureau_features": 2.3, "target_encoding": 0.4,
         "reject_inference": -1.0, "smote": -1.0, "class_weights": 0.0, "dart": 0.5},
        _GBM + ("schema_bureau",),
        "credit-pd", "12-month probability-of-default model for credit-line applications (LightGBM with monotone constraints review).",
    ),
    ProjectTemplate(
        "query-ranking", "search",
        "Rank catalogue results for site search queries. Primary metric: val_ndcg_at_10 on judged queries plus click-derived labels.",
        "lightgbm", "val_ndcg_at_10", "max", 0.462, 0.007,
        ("train_loss", 0.71, 0.48), ("val_loss", 0.72, 0.53),
        (MetricShape("val_mrr", 0.391, 1.1), MetricShape("val_ndcg_at_3", 0.418, 1.2)),
        (6, 12), 45,
        _p(model="gbdt_pointwise", objective="regression", learning_rate=0.05, num_leaves=255, n_estimators=800,
           min_child_samples=20, candidate_depth=100, features="bm25+ctr+freshness"),
        ("learning_rate", ("0.02", "0.05", "0.1")),
        ("search_judgements", "s3://acme-ml-data/search/judgements/"), ("2026-01-10", "2026-04-20", "2026-09-10"),
        {"lambdamart": 2.1, "cross_encoder": 3.3, "hard_negatives": 1.4, "distillation": 0.9, "click_debiasing": 0.6,
         "query_expansion": -0.8},
        ("query_groups", "feature_store_timeout", "cuda_oom"),
        "query-ranker", "Second-stage ranker for site search (GBM features + optional cross-encoder rerank).",
    ),
    ProjectTemplate(
        "product-image-tagging", "vision",
        "Multi-class tagging of catalogue product photos into 1,240 leaf categories. Primary metric: val_top1_acc on the curated validation set.",
        "pytorch", "val_top1_acc", "max", 0.781, 0.006,
        ("train_loss", 4.6, 0.82), ("val_loss", 4.3, 0.97),
        (MetricShape("val_top5_acc", 0.934, 0.45),),
        (10, 15), 300,
        _p(model="resnet50", pretrained="imagenet-1k", optimizer="sgd", learning_rate=0.1, momentum=0.9, weight_decay=0.0001,
           batch_size=256, image_size=224, lr_schedule="cosine", warmup_epochs=2, dropout=0.0),
        ("weight_decay", ("0.00005", "0.0001", "0.0005")),
        ("product_images", "s3://acme-ml-data/vision/product_images/"), ("2026-01-20", "2026-05-15", "2026-09-30"),
        {"label_smoothing": 1.0, "mixup": 0.4, "cutmix": 1.1, "randaugment": 1.5, "vit_21k": 4.2, "ema_weights": 0.6,
         "focal_loss": -0.6, "progressive_resizing": -0.8, "distillation": 1.2},
        _DL,
        "product-image-tagger", "Product photo category tagger for the catalogue ingestion pipeline.",
    ),
    ProjectTemplate(
        "support-ticket-routing", "nlp",
        "Route incoming support tickets to one of 38 queues from subject + body. Primary metric: val_macro_f1 (small queues matter).",
        "pytorch", "val_macro_f1", "max", 0.704, 0.008,
        ("train_loss", 2.9, 0.41), ("val_loss", 2.7, 0.63),
        (MetricShape("val_accuracy", 0.861, 0.55),),
        (5, 10), 90,
        _p(model="distilbert-base-uncased", optimizer="adamw", learning_rate=0.00005, batch_size=32, max_seq_len=256,
           weight_decay=0.01, warmup_ratio=0.06, dropout=0.1),
        ("learning_rate", ("0.00002", "0.00003", "0.00005")),
        ("support_tickets", "s3://acme-ml-data/nlp/support_tickets/"), ("2026-02-01", "2026-06-15"),
        {"label_smoothing": 0.6, "back_translation": 1.1, "class_weights": 1.3, "focal_loss": 0.4, "distillation": 0.7,
         "domain_pretraining": 2.2, "ema_weights": -0.2, "layerwise_lr_decay": 0.5},
        _DL,
        "ticket-router", "Support ticket queue classifier (DistilBERT fine-tune) behind the helpdesk auto-routing.",
    ),
    ProjectTemplate(
        "home-feed-recs", "recsys",
        "Candidate retrieval for the home feed: top-50 items per user from a 2M-item catalogue. "
        "Primary metric: val_recall_at_50 on next-day interactions.",
        "pytorch", "val_recall_at_50", "max", 0.231, 0.006,
        ("train_loss", 7.9, 4.1), ("val_loss", 7.8, 4.6),
        (MetricShape("val_recall_at_10", 0.094, 0.5), MetricShape("val_ndcg_at_50", 0.118, 0.55)),
        (6, 12), 150,
        _p(model="two_tower", embedding_dim=128, negatives="uniform_sampled", num_negatives=1024, optimizer="adam",
           learning_rate=0.001, batch_size=2048, temperature=0.1, weight_decay=0.0),
        ("learning_rate", ("0.0005", "0.001", "0.002")),
        ("feed_interactions", "s3://acme-ml-data/recsys/feed_interactions/"), ("2026-01-05", "2026-04-01", "2026-08-01"),
        {"two_tower": 4.0, "hard_negatives": 1.5, "logq_correction": 1.0, "mixed_negatives": 0.5, "session_sequence": 1.6,
         "softmax_temperature": -0.6, "ema_weights": 0.0},
        _DL + ("spark_executor",),
        "home-feed-retriever", "Candidate retrieval model for the home feed; embeddings are served from the ANN index.",
    ),
)
