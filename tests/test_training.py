"""Fine-tuning loop, classifier heads, checkpoints and the lr schedule, on a tiny BERT."""

import torch

from conftest import toy_sentiment_rows
from minbert import AdamW, BertModel
from minbert.errors import ParameterError
from minbert.model.pretrained import load_tokenizer
from minbert.optim.schedule import linear_warmup_decay
from minbert.training.batches import collate, encode_texts
from minbert.training.checkpoint import ClassifierInfo, load_classifier, save_classifier
from minbert.training.classifier import SentenceClassifier, mean_pool
from minbert.training.config import FinetuneConfig
from minbert.training.evaluate import accuracy, predict_logits
from minbert.training.finetune import finetune

import pytest


def toy_data(tokenizer, count, seed):
    rows = toy_sentiment_rows(count, seed)
    return encode_texts(tokenizer, [text for text, _ in rows], [label for _, label in rows], max_length=32)


def train_toy(tiny_model_dir, **options):
    tokenizer = load_tokenizer(tiny_model_dir)
    torch.manual_seed(0)
    model = SentenceClassifier(BertModel.from_pretrained(tiny_model_dir), num_labels=2,
                               pooling=options.pop("pooling", "mean"))
    config = FinetuneConfig(batch_size=8, seed=3, **options)
    result = finetune(model, toy_data(tokenizer, 96, seed=1), toy_data(tokenizer, 40, seed=2), config,
                      pad_id=tokenizer.pad_token_id, progress=False)
    return model, result


def test_full_model_learns_toy_task(tiny_model_dir):
    _, result = train_toy(tiny_model_dir, epochs=4, lr=1e-3)
    assert result.best_dev_accuracy == 1.0
    assert result.history[-1].train_loss < result.history[0].train_loss


def test_cls_pooling_learns_toy_task(tiny_model_dir):
    _, result = train_toy(tiny_model_dir, epochs=8, lr=1e-3, pooling="cls")
    assert result.best_dev_accuracy == 1.0


def test_same_seed_gives_same_run(tiny_model_dir):
    first, first_result = train_toy(tiny_model_dir, epochs=2, lr=1e-3)
    second, second_result = train_toy(tiny_model_dir, epochs=2, lr=1e-3)
    assert [r.train_loss for r in first_result.history] == [r.train_loss for r in second_result.history]
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)


def test_last_linear_layer_keeps_encoder_frozen(tiny_model_dir):
    before = BertModel.from_pretrained(tiny_model_dir).state_dict()
    model, result = train_toy(tiny_model_dir, mode="last-linear-layer", epochs=30, lr=1e-2)
    for name, tensor in model.encoder.state_dict().items():
        assert torch.equal(tensor, before[name]), name
    assert result.best_dev_accuracy > 0.9


def test_mean_pool_is_masked_mean(tiny_model_dir):
    encoder = BertModel.from_pretrained(tiny_model_dir)
    ids = torch.tensor([[2, 5, 6, 3, 0, 0], [2, 7, 8, 9, 10, 3]])
    mask = (ids != 0).long()
    pooled = mean_pool(encoder.encode_packed(ids, mask))
    hidden = encoder(ids, mask).last_hidden_state
    expected = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    assert torch.allclose(pooled, expected, atol=1e-6)


def test_cls_pooling_is_bert_pooler_output(tiny_model_dir):
    encoder = BertModel.from_pretrained(tiny_model_dir)
    model = SentenceClassifier(encoder, num_labels=3, pooling="cls").eval()
    ids = torch.tensor([[2, 5, 6, 3, 0], [2, 7, 8, 9, 3]])
    mask = (ids != 0).long()
    assert torch.allclose(model.represent(ids, mask), encoder(ids, mask).pooler_output, atol=1e-6)


def test_predict_logits_keeps_input_order(tiny_model_dir):
    tokenizer = load_tokenizer(tiny_model_dir)
    model = SentenceClassifier(BertModel.from_pretrained(tiny_model_dir), num_labels=2).eval()
    encoded = encode_texts(tokenizer, ["good", "the movie was dull .", "fun fun fun fun fun fun"], None,
                           max_length=16)
    logits = predict_logits(model, encoded, batch_size=2)
    for index in range(3):
        batch = collate(encoded, [index], pad_id=0)
        with torch.no_grad():
            assert torch.allclose(logits[index], model(batch.input_ids, batch.attention_mask)[0], atol=1e-5)


def test_accuracy_by_hand():
    logits = torch.tensor([[0.1, 0.9], [2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert accuracy(logits, [1, 0, 0, 1]) == 0.5


def test_checkpoint_round_trip(tiny_model_dir, tmp_path):
    model, _ = train_toy(tiny_model_dir, epochs=1, lr=1e-3)
    tokenizer = load_tokenizer(tiny_model_dir)
    info = ClassifierInfo(label_names=("negative", "positive"), pooling="mean", max_length=32, task="toy")
    save_classifier(tmp_path, model.eval(), tokenizer, info)
    loaded, loaded_tokenizer, loaded_info = load_classifier(tmp_path)
    assert loaded_info == info
    assert loaded_tokenizer.vocab == tokenizer.vocab
    encoded = toy_data(tokenizer, 10, seed=5)
    assert torch.equal(predict_logits(model, encoded), predict_logits(loaded, encoded))
    # The folder is also a plain BERT folder: the encoder loads on its own.
    encoder = BertModel.from_pretrained(tmp_path)
    assert torch.equal(encoder.pooler.dense.weight, model.encoder.pooler.dense.weight)
    assert not list(tmp_path.glob("*.tmp"))


def test_interrupted_save_keeps_previous_checkpoint(tiny_model_dir, tmp_path, monkeypatch):
    model, _ = train_toy(tiny_model_dir, epochs=1, lr=1e-3)
    tokenizer = load_tokenizer(tiny_model_dir)
    info = ClassifierInfo(label_names=("negative", "positive"), pooling="mean", max_length=32, task="toy")
    save_classifier(tmp_path, model.eval(), tokenizer, info)
    saved_weight = model.classifier.weight.detach().clone()

    import minbert.model.checkpoint as checkpoint_module

    def save_then_interrupt(tensors, path, metadata=None):
        path.write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint_module, "save_file", save_then_interrupt)
    with torch.no_grad():
        model.classifier.weight.add_(1.0)
    with pytest.raises(KeyboardInterrupt):
        save_classifier(tmp_path, model, tokenizer, info)

    loaded, _, _ = load_classifier(tmp_path)
    assert torch.equal(loaded.classifier.weight, saved_weight)
    assert not list(tmp_path.glob(".*.tmp"))


def test_schedule_warms_up_then_decays():
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = AdamW([parameter], lr=1.0)
    scheduler = linear_warmup_decay(optimizer, warmup_steps=2, total_steps=6)
    rates = []
    for _ in range(7):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates == [0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0]


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(mode="partial"), "mode='partial' is not supported"),
        (dict(pooling="max"), "pooling='max' is not supported"),
        (dict(batch_size=0), r"batch_size=0 is invalid \(expected 1 or more\)"),
        (dict(epochs=0), r"epochs=0 is invalid \(expected 1 or more\)"),
        (dict(lr=0.0), r"lr=0.0 is invalid \(expected a finite number greater than 0\)"),
        (dict(lr=float("inf")), "lr=inf is invalid"),
        (dict(weight_decay=float("nan")), r"weight_decay=nan is invalid \(expected a finite number"),
        (dict(seed=-1), r"seed=-1 is invalid \(expected 0 to 2\*\*63 - 1\)"),
        (dict(dropout=1.0), r"dropout=1.0 is invalid \(expected at least 0 and below 1\)"),
        (dict(max_length=2), r"max_length=2 is invalid \(expected 3 or more"),
    ],
)
def test_config_rejects_bad_values(options, message):
    with pytest.raises(ParameterError, match=message) as raised:
        FinetuneConfig(**options)
    [(name, value)] = options.items()
    assert raised.value.name == name
    assert raised.value.value is value


def test_config_resolves_mode_defaults():
    assert FinetuneConfig().resolved().lr == 2e-4
    assert FinetuneConfig(mode="last-linear-layer").resolved().epochs == 20
    assert FinetuneConfig(lr=5e-5).resolved().lr == 5e-5
