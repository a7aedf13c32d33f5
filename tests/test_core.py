"""course_lib core: device choice, seeding, validation messages, the offline corpus."""
import pytest
import torch

from course_lib import autocast_dtype, pick_device, seed_everything, setup_lesson
from course_lib.data import load_corpus, stories
from course_lib.validation import check_positive, check_probability, check_tensor


def test_pick_device_prefers_what_exists(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert pick_device().type == expected
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert pick_device().type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_missing_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        pick_device("cuda")


def test_autocast_dtype_is_none_on_cpu():
    assert autocast_dtype("cpu") is None


def test_seeding_repeats_runs():
    seed_everything(3)
    a = torch.randn(4)
    seed_everything(3)
    assert torch.equal(a, torch.randn(4))
    with pytest.raises(ValueError, match="non-negative int seed"):
        seed_everything(-1)


def test_setup_lesson_says_what_it_found(capsys, monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert setup_lesson(seed=1).type == "cpu"
    out = capsys.readouterr().out
    assert "device: cpu" in out and "seed: 1" in out and torch.__version__ in out


def test_setup_lesson_sets_one_torch_thread_unless_told(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        setup_lesson(verbose=False)
        assert torch.get_num_threads() == 1
        setup_lesson(verbose=False, threads=2)
        assert torch.get_num_threads() == 2
        setup_lesson(verbose=False, threads=None)  # torch's own choice is kept
        assert torch.get_num_threads() == 2
        for bad in (0, -1, 1.5, True, "2"):
            with pytest.raises(ValueError, match="threads: expected a positive int or None"):
                setup_lesson(verbose=False, threads=bad)
    finally:
        torch.set_num_threads(threads)


def test_check_tensor_binds_names_and_explains():
    assert check_tensor(torch.zeros(2, 3, 2), "x", shape=("B", 3, "B")) == {"B": 2}
    with pytest.raises(ValueError, match=r"x: expected 2 dimensions \(B, T\), got shape \(2, 3, 4\)"):
        check_tensor(torch.zeros(2, 3, 4), "x", shape=("B", "T"))
    with pytest.raises(ValueError, match=r"dimension 1 should equal B=2"):
        check_tensor(torch.zeros(2, 3), "x", shape=("B", "B"))
    with pytest.raises(ValueError, match=r"expected size 5 in dimension 1"):
        check_tensor(torch.zeros(2, 3), "x", shape=(None, 5))
    with pytest.raises(TypeError, match="expected dtype torch.int64, got torch.float32"):
        check_tensor(torch.zeros(2), "ids", dtype=torch.int64)
    with pytest.raises(TypeError, match="expected a torch.Tensor, got a list"):
        check_tensor([1, 2], "x")


def test_number_checks():
    check_positive(0.1, "lr")
    with pytest.raises(ValueError, match=r"lr: expected a value > 0, got -1"):
        check_positive(-1, "lr")
    with pytest.raises(ValueError, match=r"p: expected a value in \[0, 1\], got 1.5"):
        check_probability(1.5, "p")


def test_corpus_is_deterministic_and_offline():
    assert stories(50, seed=1) == stories(50, seed=1) != stories(50, seed=2)
    text = load_corpus("stories", n_stories=200)
    assert text.count("\n") == 200 and "foxs" not in text and "mouses" not in text
    assert len(load_corpus("python_docs")) > 50_000
    with pytest.raises(ValueError, match="unknown corpus 'web'"):
        load_corpus("web")
