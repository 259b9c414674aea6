"""gpt.train / gpt.checkpoint in-process: presets, the loop, checkpoints, exact resume, errors."""
import csv
import math

import numpy as np
import pytest

import minitensor as mt
from gpt import checkpoint as ckpt_io
from gpt import train as gtrain
from gpt.config import PRESETS, TrainConfig, preset
from gpt.data import load_text
from gpt.errors import UserError
from gpt.runlog import CSV_FIELDS


@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp('data') / 'corpus.txt'
    path.write_text(load_text()[:20000], encoding='utf-8')
    return str(path)


def tiny(corpus, out_dir, **overrides):
    """A GPT config that trains in well under a second but exercises every feature:
    dropout (RNG), warm-up + cosine, clipping, decay groups."""
    base = dict(model='gpt', data=corpus, out_dir=str(out_dir), batch_size=4, block_size=8, n_embd=16,
                n_head=2, n_layer=1, dropout=0.1, max_iters=12, eval_interval=4, eval_iters=2,
                log_interval=3, learning_rate=3e-3, decay_lr=True, warmup_iters=3, lr_decay_iters=12,
                min_lr=1e-4, weight_decay=0.1, decay_all_params=False, beta2=0.99, grad_clip=1.0,
                sample_tokens=0, progress=False, seed=3)
    base.update(overrides)
    return TrainConfig(**base)


def quiet(*args, **kwargs):
    pass


def test_presets_are_the_lecture_and_nanogpt_recipes():
    bigram, lecture, small = preset('bigram'), preset('lecture'), preset('small')
    assert (bigram.model, bigram.batch_size, bigram.block_size, bigram.learning_rate, bigram.max_iters,
            bigram.eval_interval, bigram.eval_iters) == ('bigram', 32, 8, 1e-2, 3000, 300, 200)
    assert (lecture.batch_size, lecture.block_size, lecture.n_embd, lecture.n_head, lecture.n_layer,
            lecture.dropout, lecture.learning_rate, lecture.max_iters, lecture.eval_interval,
            lecture.eval_iters, lecture.decay_lr, lecture.grad_clip) == (64, 256, 384, 6, 6, 0.2, 3e-4,
                                                                          5000, 500, 200, False, 0.0)
    assert (small.batch_size, small.block_size, small.n_layer, small.n_head, small.n_embd, small.dropout,
            small.learning_rate, small.max_iters, small.min_lr, small.warmup_iters, small.weight_decay,
            small.beta2, small.grad_clip) == (12, 64, 4, 4, 128, 0.0, 1e-3, 2000, 1e-4, 100, 0.1, 0.99, 1.0)
    assert set(PRESETS) == {'bigram', 'lecture', 'small'}
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        preset('huge')


def test_learning_rate_schedule_is_nanogpts():
    cfg = preset('small')
    assert gtrain.learning_rate_at(0, cfg) == pytest.approx(1e-3 / 101)
    assert gtrain.learning_rate_at(100, cfg) == pytest.approx(1e-3)
    assert gtrain.learning_rate_at(1050, cfg) == pytest.approx(1e-4 + 0.5 * 9e-4)
    assert gtrain.learning_rate_at(2000, cfg) == pytest.approx(1e-4)
    assert gtrain.learning_rate_at(1234, preset('lecture')) == 3e-4           # constant


def test_weight_decay_groups_follow_nanogpt():
    from gpt.models import GPT, GPTConfig
    model = GPT(GPTConfig(vocab_size=5, block_size=4, n_embd=8, n_head=2, n_layer=1))
    decayed, plain = gtrain.make_optimizer(model, preset('small')).param_groups
    assert decayed['weight_decay'] == 0.1 and plain['weight_decay'] == 0.0
    assert all(p.ndim >= 2 for p in decayed['params']) and all(p.ndim < 2 for p in plain['params'])
    assert len(decayed['params']) + len(plain['params']) == len(list(model.parameters()))
    assert len(gtrain.make_optimizer(model, preset('lecture')).param_groups) == 1


def test_config_validation_names_the_flag():
    with pytest.raises(ValueError, match=r"max_iters must be a positive integer, got 0 \(--max-iters\)"):
        TrainConfig(max_iters=0).validate()
    with pytest.raises(ValueError, match=r"\(--lr\)"):
        TrainConfig(learning_rate=-1.0).validate()
    with pytest.raises(ValueError, match="must be divisible by n_head"):
        TrainConfig(n_embd=10, n_head=4).validate()
    TrainConfig(model='bigram', n_head=3).validate()      # GPT sizes don't matter for the bigram


def test_a_run_writes_checkpoint_log_and_sample(corpus, tmp_path):
    cfg = tiny(corpus, tmp_path, sample_tokens=30)
    summary = gtrain.train(cfg, log=quiet)
    assert summary['step'] == 12 and not summary['stopped']
    with open(tmp_path / 'log.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert [int(r['step']) for r in rows] == [0, 4, 8, 12]
    assert set(rows[0]) == set(CSV_FIELDS)
    assert float(rows[-1]['val_loss']) == pytest.approx(summary['val_loss'], abs=1e-6)
    assert float(rows[-1]['tokens_per_s']) > 0 and float(rows[-1]['step_ms']) > 0
    assert float(rows[-1]['train_loss']) < float(rows[0]['train_loss'])          # it learns
    ck = ckpt_io.load_checkpoint(tmp_path / 'ckpt.npz')
    assert ck['step'] == 12 and ck['kind'] == ckpt_io.KIND
    assert ck['model_spec'] == {'model': 'gpt', 'vocab_size': len(ck['vocab']), 'block_size': 8,
                                'n_embd': 16, 'n_head': 2, 'n_layer': 1, 'dropout': 0.1,
                                'init': 'default', 'attention': 'batched'}
    assert TrainConfig.from_dict(ck['train_config']) == cfg
    assert ck['best_val_loss'] == pytest.approx(min(float(r['val_loss']) for r in rows))
    assert 'cpu' in ck['rng_state'] and ck['optimizer_state']['state']
    sample = (tmp_path / 'sample.txt').read_text(encoding='utf-8')
    assert len(sample) == 31 and set(sample) <= set(ck['vocab'])
    model, tok = ckpt_io.model_from_checkpoint(ck)
    assert tok.to_string() == ck['vocab']


def final_state(out_dir):
    ck = ckpt_io.load_checkpoint(out_dir / 'ckpt.npz')
    weights = {k: v.numpy() for k, v in ck['model_state'].items()}
    moments = {(i, k): v.numpy() for i, s in ck['optimizer_state']['state'].items()
               for k, v in s.items() if isinstance(v, mt.Tensor)}
    return ck, weights, moments


def assert_bit_identical(dir_a, dir_b):
    ck_a, w_a, m_a = final_state(dir_a)
    ck_b, w_b, m_b = final_state(dir_b)
    assert ck_a['step'] == ck_b['step']
    assert w_a.keys() == w_b.keys() and m_a.keys() == m_b.keys() and m_a
    for k in w_a:
        np.testing.assert_array_equal(w_a[k], w_b[k], err_msg=k)
    for k in m_a:
        np.testing.assert_array_equal(m_a[k], m_b[k], err_msg=str(k))
    assert ck_a['rng_state'] == ck_b['rng_state']
    # every eval of the uninterrupted run is in the resumed run's log, with the same numbers
    # (the resumed run may have one more: the final eval of its first part)
    read = lambda d: {r['step']: (r['train_loss'], r['val_loss'], r['lr'])          # noqa: E731
                      for r in csv.DictReader(open(d / 'log.csv', newline=''))}
    log_a, log_b = read(dir_a), read(dir_b)
    assert log_a == {step: log_b[step] for step in log_a}


def test_resume_continues_bit_identically(corpus, tmp_path):
    straight, split = tmp_path / 'straight', tmp_path / 'split'
    gtrain.train(tiny(corpus, straight), log=quiet)
    gtrain.train(tiny(corpus, split, max_iters=6), log=quiet)        # stops at 6: not an eval step
    assert ckpt_io.load_checkpoint(split / 'ckpt.npz')['step'] == 6
    gtrain.train(tiny(corpus, split), resume=True, log=quiet)
    assert_bit_identical(straight, split)


def test_resume_from_an_eval_step_does_not_evaluate_twice(corpus, tmp_path):
    straight, split = tmp_path / 'straight', tmp_path / 'split'
    gtrain.train(tiny(corpus, straight), log=quiet)
    gtrain.train(tiny(corpus, split, max_iters=8), log=quiet)
    gtrain.train(tiny(corpus, split), resume=True, log=quiet)
    assert_bit_identical(straight, split)
    assert final_state(straight)[0]['best_val_loss'] == final_state(split)[0]['best_val_loss']


def test_resume_from_a_different_state_diverges(corpus, tmp_path):
    # the exact-resume test above could pass vacuously if runs ignored the RNG; they don't
    a, b = tmp_path / 'a', tmp_path / 'b'
    gtrain.train(tiny(corpus, a), log=quiet)
    gtrain.train(tiny(corpus, b, seed=4), log=quiet)
    _, w_a, _ = final_state(a)
    _, w_b, _ = final_state(b)
    assert not np.array_equal(w_a['lm_head.weight'], w_b['lm_head.weight'])


def test_stop_request_saves_at_a_step_boundary_and_resumes_exactly(corpus, tmp_path, monkeypatch):
    straight, stopped = tmp_path / 'straight', tmp_path / 'stopped'
    gtrain.train(tiny(corpus, straight), log=quiet)

    calls = {'n': 0}
    real_step = mt.optim.AdamW.step

    def step_then_ctrl_c(self, *a, **k):               # Ctrl-C arrives during step 5
        calls['n'] += 1
        out = real_step(self, *a, **k)
        if calls['n'] == 5:
            import os
            import signal
            os.kill(os.getpid(), signal.SIGINT)
        return out

    monkeypatch.setattr(mt.optim.AdamW, 'step', step_then_ctrl_c)
    summary = gtrain.train(tiny(corpus, stopped), log=quiet)
    monkeypatch.setattr(mt.optim.AdamW, 'step', real_step)
    assert summary['stopped'] and summary['step'] == 5
    assert ckpt_io.load_checkpoint(stopped / 'ckpt.npz')['step'] == 5
    gtrain.train(tiny(corpus, stopped), resume=True, log=quiet)
    assert_bit_identical(straight, stopped)


def test_bigram_model_trains_and_saves(corpus, tmp_path):
    summary = gtrain.train(tiny(corpus, tmp_path, model='bigram', learning_rate=0.1, decay_lr=False,
                                batch_size=16, max_iters=60, eval_interval=30, eval_iters=4), log=quiet)
    assert summary['val_loss'] < 3.3                                  # from about 4.5
    ck = ckpt_io.load_checkpoint(tmp_path)                            # a run directory works too
    assert ck['model_spec']['model'] == 'bigram'
    assert list(ck['model_state']) == ['token_embedding_table.weight']


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(UserError, match="checkpoint not found"):
        ckpt_io.load_checkpoint(tmp_path / 'missing.npz')
    (tmp_path / 'junk.npz').write_bytes(b'not a zip at all')
    with pytest.raises(ValueError, match="junk.npz"):
        ckpt_io.load_checkpoint(tmp_path / 'junk.npz')
    mt.save({'weight': mt.zeros(2)}, tmp_path / 'state.npz')
    with pytest.raises(ValueError, match="not a gpt training checkpoint"):
        ckpt_io.load_checkpoint(tmp_path / 'state.npz')


def run_main(capsys, argv, main=gtrain.main):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize('argv, message', [
    (['--device', 'tpu'], "unknown device 'tpu'"),
    (['--max-iters', '0'], "max_iters must be a positive integer, got 0 (--max-iters)"),
    (['--data', '/no/such/file.txt'], "data file not found: /no/such/file.txt"),
    (['--n-embd', '10', '--n-head', '4'], "must be divisible by n_head"),
    (['--block-size', '5000', '--max-iters', '1'], "too short for block_size 5000"),
])
def test_bad_inputs_give_one_line_errors(capsys, tmp_path, corpus, argv, message):
    code, err = run_main(capsys, argv + ['--out', str(tmp_path), '--no-progress'] +
                         (['--data', corpus] if '--data' not in argv else []))
    assert code == 1
    assert err.startswith('error: ') and message in err and '\n' not in err


def test_gpu_without_cupy_is_a_clear_error(capsys, tmp_path):
    if mt.gpu_available():
        pytest.skip("this machine has a GPU")
    code, err = run_main(capsys, ['--device', 'gpu', '--out', str(tmp_path)])
    assert code == 1 and "device 'gpu' is not available" in err and 'pip install' in err
    assert '\n' not in err


def test_non_utf8_data_is_a_clear_error(capsys, tmp_path):
    bad = tmp_path / 'bad.txt'
    bad.write_bytes(b'\xff\xfe\x00abc' * 10)
    code, err = run_main(capsys, ['--data', str(bad), '--out', str(tmp_path)])
    assert code == 1 and 'is not UTF-8 text' in err and '\n' not in err


def test_resume_errors(capsys, tmp_path, corpus):
    code, err = run_main(capsys, ['--resume', '--out', str(tmp_path / 'empty')])
    assert code == 1 and '--resume: no checkpoint at' in err
    gtrain.train(tiny(corpus, tmp_path / 'run', max_iters=4), log=quiet)
    code, err = run_main(capsys, ['--resume', '--out', str(tmp_path / 'run'), '--n-embd', '32'])
    assert code == 1 and "can't change n_embd" in err and 'n_embd=16' in err
    code, err = run_main(capsys, ['--resume', '--out', str(tmp_path / 'run')])
    assert code == 1 and 'already at step 4 of max_iters 4' in err


def test_resume_takes_the_checkpoints_config(corpus, tmp_path, capsys):
    gtrain.train(tiny(corpus, tmp_path, max_iters=4), log=quiet)
    assert gtrain.main(['--resume', '--out', str(tmp_path), '--max-iters', '6', '--no-progress']) == 0
    ck = ckpt_io.load_checkpoint(tmp_path / 'ckpt.npz')
    assert ck['step'] == 6 and ck['train_config']['n_embd'] == 16 and ck['train_config']['max_iters'] == 6
    assert 'resuming GPT' in capsys.readouterr().out


def test_unknown_flag_is_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        gtrain.main(['--preset', 'huge'])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and "invalid choice: 'huge'" in err and '\n' not in err


def test_every_flag_has_help():
    from gpt import sample as gsample
    for parser in (gtrain.build_parser(), gsample.build_parser()):
        for action in parser._actions:
            assert action.help, action.option_strings


def test_tf32_flag_switches_the_backend(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(mt.backends, 'allow_tf32', False)
    gtrain.train(tiny(corpus, tmp_path, max_iters=1, tf32=True), log=quiet)
    assert mt.backends.allow_tf32 is True
