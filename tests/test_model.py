"""BertModel against transformers' BertModel on the same weights, plus checkpoint loading."""

import csv
import json

import pytest
import torch
from hypothesis import given, settings, strategies as st
from safetensors.torch import load_file, save_file

from minbert import BertConfig, BertModel
from minbert.errors import CheckpointError
from minbert.model.dropout import Dropout

transformers = pytest.importorskip("transformers")

TINY = BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=37, max_position_embeddings=64)


@pytest.fixture(scope="module")
def pretrained(model_dir):
    ours = BertModel.from_pretrained(model_dir)
    theirs = transformers.BertModel.from_pretrained(str(model_dir)).eval()
    tokenizer = transformers.BertTokenizerFast.from_pretrained(str(model_dir))
    return ours, theirs, tokenizer


def masked_max_diff(ours: torch.Tensor, theirs: torch.Tensor, mask: torch.Tensor) -> float:
    return ((ours - theirs).abs() * mask[..., None]).max().item()


def test_matches_transformers_on_sst_dev_batches(pretrained, data_dir):
    ours, theirs, tokenizer = pretrained
    with open(data_dir / "ids-sst-dev.csv", encoding="utf-8", newline="") as handle:
        sentences = [row["sentence"] for row in csv.DictReader(handle, delimiter="\t")][:96]
    for start in range(0, len(sentences), 32):
        batch = tokenizer(sentences[start:start + 32], padding=True, return_tensors="pt")
        assert batch["attention_mask"].float().mean() < 1.0, "batch should contain padding"
        with torch.no_grad():
            out = ours(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
            ref = theirs(**batch)
        assert masked_max_diff(out.last_hidden_state, ref.last_hidden_state, batch["attention_mask"]) < 1e-5
        assert (out.pooler_output - ref.pooler_output).abs().max().item() < 1e-5


def test_matches_transformers_on_sentence_pairs(pretrained):
    ours, theirs, tokenizer = pretrained
    batch = tokenizer(["a man plays the guitar .", "short"],
                      ["someone is playing music on a stage tonight", "and a much longer second segment here"],
                      padding=True, return_tensors="pt")
    assert batch["token_type_ids"].sum() > 0
    with torch.no_grad():
        out = ours(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        ref = theirs(**batch)
    assert masked_max_diff(out.last_hidden_state, ref.last_hidden_state, batch["attention_mask"]) < 1e-5


def test_gradients_match_transformers(model_dir):
    config = BertConfig.from_json(model_dir / "config.json")
    ours = BertModel.from_pretrained(model_dir).train()
    theirs = transformers.BertModel.from_pretrained(
        str(model_dir), hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, attn_implementation="eager"
    ).train()
    for module in ours.modules():
        if isinstance(module, Dropout):
            module.p = 0.0
    assert config.hidden_size == 384

    ids = torch.randint(1000, 20000, (3, 9), generator=torch.Generator().manual_seed(0))
    mask = torch.tensor([[1] * 9, [1] * 5 + [0] * 4, [1] * 2 + [0] * 7])
    ours(ids, mask).pooler_output.square().sum().backward()
    theirs(input_ids=ids, attention_mask=mask).pooler_output.square().sum().backward()

    ours_grad = ours.layers[0].attention.qkv.weight.grad[:384]
    theirs_grad = theirs.encoder.layer[0].attention.self.query.weight.grad
    assert torch.allclose(ours_grad, theirs_grad, atol=1e-5, rtol=1e-4)
    assert torch.allclose(ours.embeddings.word.weight.grad, theirs.embeddings.word_embeddings.weight.grad,
                          atol=1e-5, rtol=1e-4)


def test_tiny_config_shapes():
    torch.manual_seed(0)
    model = BertModel(TINY).eval()
    ids = torch.randint(0, 99, (3, 7))
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3, [1] + [0] * 6])
    out = model(ids, mask)
    assert out.last_hidden_state.shape == (3, 7, 32)
    assert out.pooler_output.shape == (3, 32)
    assert out.last_hidden_state[1, 4:].abs().max() == 0.0
    assert out.last_hidden_state[1, :4].abs().min() > 0.0


def test_padding_does_not_change_real_tokens():
    torch.manual_seed(0)
    model = BertModel(TINY).eval()
    ids = torch.randint(1, 99, (1, 5))
    alone = model(ids).last_hidden_state
    padded_ids = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], dim=1)
    padded_mask = torch.tensor([[1] * 5 + [0] * 4])
    padded = model(padded_ids, padded_mask).last_hidden_state
    assert torch.allclose(alone, padded[:, :5], atol=1e-6)


def test_padding_only_row_gives_finite_output():
    model = BertModel(TINY).eval()
    ids = torch.tensor([[5, 6, 7], [0, 0, 0]])
    mask = torch.tensor([[1, 1, 1], [0, 0, 0]])
    out = model(ids, mask)
    assert torch.isfinite(out.pooler_output).all()
    assert out.last_hidden_state[1].abs().max() == 0.0


def test_sequence_longer_than_positions_rejected():
    model = BertModel(TINY)
    with pytest.raises(ValueError, match="exceeds max_position_embeddings=64"):
        model(torch.ones(1, 65, dtype=torch.long))


def test_save_and_reload_round_trip(tmp_path):
    torch.manual_seed(0)
    model = BertModel(TINY).eval()
    model.save_pretrained(tmp_path)
    reloaded = BertModel.from_pretrained(tmp_path)
    ids = torch.randint(0, 99, (2, 6))
    assert torch.equal(model(ids).last_hidden_state, reloaded(ids).last_hidden_state)
    assert not list(tmp_path.glob("*.tmp"))


def test_saved_folder_loads_in_transformers(tmp_path):
    torch.manual_seed(0)
    model = BertModel(TINY).eval()
    model.save_pretrained(tmp_path)
    theirs = transformers.BertModel.from_pretrained(str(tmp_path)).eval()
    ids = torch.randint(0, 99, (2, 6))
    with torch.no_grad():
        assert torch.allclose(model(ids).last_hidden_state, theirs(input_ids=ids).last_hidden_state, atol=1e-5)


def test_loads_pytorch_bin_with_prefix_and_gamma_beta(tmp_path):
    torch.manual_seed(0)
    model = BertModel(TINY).eval()
    model.save_pretrained(tmp_path / "source")
    state = load_file(tmp_path / "source" / "model.safetensors")
    old_style = {}
    for name, tensor in state.items():
        name = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        old_style["bert." + name] = tensor
    old_style["cls.predictions.bias"] = torch.zeros(99)
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "config.json").write_text((tmp_path / "source" / "config.json").read_text())
    torch.save(old_style, folder / "pytorch_model.bin")
    reloaded = BertModel.from_pretrained(folder)
    ids = torch.randint(0, 99, (2, 6))
    assert torch.equal(model(ids).pooler_output, reloaded(ids).pooler_output)


def write_folder(folder, state, config=TINY):
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config.to_json_dict()))
    save_file(state, folder / "model.safetensors")


@pytest.fixture
def tiny_state(tmp_path):
    BertModel(TINY).save_pretrained(tmp_path / "good")
    return load_file(tmp_path / "good" / "model.safetensors")


def test_missing_tensor_is_listed(tmp_path, tiny_state):
    del tiny_state["pooler.dense.bias"]
    write_folder(tmp_path / "bad", tiny_state)
    with pytest.raises(CheckpointError, match=r"missing: pooler\.dense\.bias"):
        BertModel.from_pretrained(tmp_path / "bad")


def test_unexpected_tensor_is_listed(tmp_path, tiny_state):
    tiny_state["encoder.layer.9.output.dense.weight"] = torch.zeros(2)
    write_folder(tmp_path / "bad", tiny_state)
    with pytest.raises(CheckpointError, match=r"unexpected: encoder\.layer\.9\.output\.dense\.weight"):
        BertModel.from_pretrained(tmp_path / "bad")


def test_wrong_shape_is_listed(tmp_path, tiny_state):
    wider = BertConfig(**{**TINY.__dict__, "hidden_size": 36})
    write_folder(tmp_path / "bad", tiny_state, config=wider)
    with pytest.raises(CheckpointError, match=r"wrong shape: .*\(99, 32\) \(expected \(99, 36\)\)"):
        BertModel.from_pretrained(tmp_path / "bad")


def test_non_bert_config_rejected(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_layer": 2}))
    with pytest.raises(CheckpointError, match="model_type='gpt2' is not a BERT model"):
        BertModel.from_pretrained(tmp_path)


def test_file_given_as_model_folder(tmp_path):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"not a folder")

    with pytest.raises(CheckpointError, match="model.safetensors: is a file"):
        BertModel.from_pretrained(weights)


def test_missing_folder_and_weights(tmp_path):
    with pytest.raises(CheckpointError, match="model folder not found"):
        BertModel.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "config.json").write_text(json.dumps(TINY.to_json_dict()))
    with pytest.raises(CheckpointError, match="no model.safetensors or pytorch_model.bin"):
        BertModel.from_pretrained(tmp_path)


def test_corrupt_safetensors_rejected(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(TINY.to_json_dict()))
    (tmp_path / "model.safetensors").write_bytes(b"\x00\x01not a tensor file")
    with pytest.raises(CheckpointError, match="cannot read weights"):
        BertModel.from_pretrained(tmp_path)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("hidden_size", 770, "hidden_size=770 is not divisible by num_attention_heads=12"),
        ("num_hidden_layers", 0, "num_hidden_layers=0 must be a positive integer"),
        ("hidden_act", "swish", "hidden_act='swish' is not supported"),
        ("hidden_dropout_prob", 1.5, r"hidden_dropout_prob=1.5 must be in \[0, 1\)"),
    ],
)
def test_config_rejects_bad_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        BertConfig(**{field: value})


@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory):
    torch.manual_seed(0)
    ours = BertModel(TINY).eval()
    folder = tmp_path_factory.mktemp("tiny")
    ours.save_pretrained(folder)
    theirs = transformers.BertModel.from_pretrained(str(folder), attn_implementation="eager").eval()
    return ours, theirs


def test_left_padding_matches_transformers(tiny_pair):
    ours, theirs = tiny_pair
    ids = torch.tensor([[0, 0, 0, 5, 6, 7], [8, 9, 10, 11, 12, 13], [0, 14, 15, 0, 16, 0]])
    mask = (ids != 0).long()
    with torch.no_grad():
        out = ours(ids, mask)
        ref = theirs(input_ids=ids, attention_mask=mask)
    assert masked_max_diff(out.last_hidden_state, ref.last_hidden_state, mask) < 1e-5


@st.composite
def masks(draw):
    rows = draw(st.integers(1, 6))
    width = draw(st.integers(1, 40))
    bits = draw(st.lists(st.lists(st.booleans(), min_size=width, max_size=width), min_size=rows, max_size=rows))
    for row in bits:
        row[draw(st.integers(0, width - 1))] = True  # every row keeps at least one real token
    return torch.tensor(bits, dtype=torch.long)


@settings(max_examples=60, deadline=None)
@given(mask=masks(), seed=st.integers(0, 2**16), grad=st.booleans())
def test_any_mask_matches_transformers(tiny_pair, mask, seed, grad):
    # Without gradients the keys of each row are padded to a multiple of 16 (see ``packing``).
    ours, theirs = tiny_pair
    ids = torch.randint(1, 99, mask.shape, generator=torch.Generator().manual_seed(seed))
    types = torch.randint(0, 2, mask.shape, generator=torch.Generator().manual_seed(seed + 1))
    with torch.set_grad_enabled(grad):
        out = ours(ids, mask, types)
    with torch.no_grad():
        ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types)
    assert masked_max_diff(out.last_hidden_state, ref.last_hidden_state, mask) < 1e-5
    # Pooled outputs agree wherever position 0 is a real token ([CLS] padded out has no defined state).
    first_is_real = mask[:, 0].bool()
    pooled_diff = (out.pooler_output - ref.pooler_output).abs()[first_is_real]
    assert pooled_diff.numel() == 0 or pooled_diff.max().item() < 1e-5
