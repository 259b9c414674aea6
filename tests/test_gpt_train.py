"""gpt.train / gpt.checkpoint in-process: presets, the loop, checkpoints, exact resume, errors."""
import csv

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
    assert set(PRESETS) == {'bigram', 'lecture', 'small', 'speedrun'}
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
    assert 'mt_key' in ck['rng_state'] and ck['optimizer_state']['state']
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


# ---------------------------------------------------------------- one source for each setting

def test_every_config_field_has_a_flag_and_the_flags_round_trip():
    from dataclasses import fields
    from gpt.config import flag_of
    cfg = TrainConfig(model='bigram', n_embd=24, n_head=3, n_layer=2, dropout=0.25, init='normal',
                      attention='per_head', data='x.txt', batch_size=5, block_size=7, max_iters=9,
                      learning_rate=0.002, weight_decay=0.3, decay_all_params=False, beta1=0.8, beta2=0.95,
                      grad_clip=0.5, decay_lr=True, warmup_iters=2, lr_decay_iters=8, min_lr=1e-5,
                      eval_interval=3, eval_iters=4, log_interval=2, seed=-1, device='cuda', out_dir='somewhere',
                      tf32=True, warm_kernels=False, cuda_graph=False, dtype='bf16', sample_tokens=7, progress=False,
                      target_val=1.25, check_iters=3, target_margin=0.05, eval_batch_size=6,
                      calibrated_margin=0.02)
    defaults = TrainConfig()
    assert all(getattr(cfg, f.name) != getattr(defaults, f.name) for f in fields(TrainConfig)), \
        "every field differs from its default, so the round trip below tests every flag"
    argv = []
    for f in fields(TrainConfig):
        value = getattr(cfg, f.name)
        if isinstance(value, bool):
            argv.append(flag_of(f.name) if value else '--no-' + flag_of(f.name)[2:])
        else:
            argv += [flag_of(f.name), str(value)]
    parsed, checkpoint = gtrain.config_from_args(gtrain.build_parser().parse_args(argv))
    assert parsed == cfg and checkpoint is None


def test_gpt_fields_are_train_fields_with_one_help_and_one_mapping():
    from dataclasses import fields
    from gpt.config import MODEL_FIELDS, gpt_config
    from gpt.models import GPTConfig
    train_fields = {f.name: f for f in fields(TrainConfig)}
    for f in fields(GPTConfig):
        if f.name == 'vocab_size':                                   # from the corpus
            continue
        assert train_fields[f.name].metadata['help'] == f.metadata['help'], f.name
    assert set(MODEL_FIELDS) == {f.name for f in fields(GPTConfig)} - {'vocab_size'}
    small = preset('small')
    g = gpt_config(small, 65)
    assert (g.vocab_size, g.block_size, g.n_embd, g.n_head, g.n_layer, g.init) == (65, 64, 128, 4, 4, 'normal')
    with pytest.raises(UserError, match=r"n_embd \(10\) must be divisible by n_head \(4\) .*\(--n-embd, --n-head\)"):
        TrainConfig(n_embd=10, n_head=4).validate()


def test_without_a_preset_the_gpu_trains_the_lecture_gpt_and_the_cpu_the_small_one(capsys):
    parse = lambda argv: gtrain.config_from_args(gtrain.build_parser().parse_args(argv))[0]   # noqa: E731
    assert parse(['--device', 'gpu']) == preset('lecture', device='gpu')
    assert parse(['--device', 'cuda']).n_embd == 384
    assert parse([]) == preset('small')
    assert parse(['--device', 'gpu', '--preset', 'small']).n_embd == 128
    with pytest.raises(SystemExit):
        gtrain.main(['--help'])
    assert "Without --preset: 'lecture' with --device gpu, 'small' on the CPU" in capsys.readouterr().out


@pytest.mark.parametrize('argv, message', [
    (['--lr', 'nan'], "learning_rate must be a positive finite number, got nan (--lr)"),
    (['--lr', '-0.001'], "learning_rate must be a positive finite number, got -0.001 (--lr)"),
    (['--lr', 'inf'], "learning_rate must be a positive finite number, got inf (--lr)"),
    (['--weight-decay', '-0.1'], "weight_decay must be a finite number >= 0, got -0.1 (--weight-decay)"),
    (['--min-lr', 'nan'], "min_lr must be a finite number >= 0, got nan (--min-lr)"),
    (['--grad-clip', 'inf'], "grad_clip must be a finite number >= 0, got inf (--grad-clip)"),
    (['--beta2', '1.0'], "beta2 must be a finite number >= 0 below 1.0, got 1.0 (--beta2)"),
    (['--dropout', 'nan'], "dropout must be a number in [0, 1), got nan (--dropout)"),
    (['--seed', str(2 ** 64)], "seed must be an integer in [-9223372036854775808, 18446744073709551616)"),
    (['--lr-decay-iters', '0'], "lr_decay_iters must be a positive integer, got 0 (--lr-decay-iters)"),
    (['--data', '/dev/null'], "/dev/null is not a regular file"),
    (['--n-embd', '65536', '--n-layer', '512'], "lower --n-embd or --n-layer"),
    (['--batch-size', '1000000', '--block-size', '1024', '--n-embd', '64', '--n-head', '1'],
     "lower --batch-size or --block-size"),
])
def test_bad_settings_are_one_line_naming_the_flag(capsys, tmp_path, corpus, argv, message):
    data = [] if '--data' in argv else ['--data', corpus]
    code, err = run_main(capsys, argv + data + ['--out', str(tmp_path / 'run'), '--no-progress'])
    assert code == 1 and err.startswith('error: ') and message in err and '\n' not in err, err
    assert not (tmp_path / 'run' / 'ckpt.npz').exists()


def test_a_negative_seed_trains_as_torch_seeds_it(corpus, tmp_path):
    # torch.manual_seed(-1) is seed 2**64 - 1: the same run as that seed
    gtrain.train(tiny(corpus, tmp_path / 'a', seed=-1, max_iters=2), log=quiet)
    gtrain.train(tiny(corpus, tmp_path / 'b', seed=2 ** 64 - 1, max_iters=2), log=quiet)
    _, w_a, _ = final_state(tmp_path / 'a')
    _, w_b, _ = final_state(tmp_path / 'b')
    np.testing.assert_array_equal(w_a['lm_head.weight'], w_b['lm_head.weight'])


# ---------------------------------------------------------------- nothing lost

def test_a_new_run_never_destroys_a_checkpoint_and_force_moves_it_aside(capsys, corpus, tmp_path):
    out = tmp_path / 'run'
    gtrain.train(tiny(corpus, out, max_iters=2), log=quiet)
    before = (out / 'ckpt.npz').read_bytes()
    argv = ['--data', corpus, '--out', str(out), '--max-iters', '1', '--n-embd', '16', '--n-head', '2',
            '--n-layer', '1', '--block-size', '8', '--batch-size', '2', '--eval-iters', '1',
            '--sample-tokens', '0', '--no-progress']
    code, err = run_main(capsys, argv)
    assert code == 1 and '--resume' in err and '--force' in err and '\n' not in err
    assert (out / 'ckpt.npz').read_bytes() == before                 # untouched
    with pytest.raises(UserError, match='holds the checkpoint of an earlier run'):
        gtrain.train(tiny(corpus, out, max_iters=1), log=quiet)
    (out / 'notes.txt').write_text('mine')                            # not a run file: stays
    assert gtrain.main(argv + ['--force']) == 0
    assert (out / 'notes.txt').read_text() == 'mine'
    aside = [p for p in tmp_path.iterdir() if p.name.startswith('run.old-')]
    assert len(aside) == 1 and (aside[0] / 'ckpt.npz').read_bytes() == before
    assert (aside[0] / 'log.csv').is_file() and ckpt_io.load_checkpoint(out)['step'] == 1
    assert f"moved the earlier run's files from {out} to {aside[0]}" in capsys.readouterr().out
    code, err = run_main(capsys, ['--resume', '--force', '--out', str(out)])
    assert code == 1 and 'pass one' in err


def test_resume_recovers_from_a_damaged_log(corpus, tmp_path):
    gtrain.train(tiny(corpus, tmp_path, max_iters=8), log=quiet)         # evals at 0, 4, 8
    log_path = tmp_path / 'log.csv'
    text = log_path.read_text()
    lines = text.splitlines(keepends=True)
    damaged = lines[0] + lines[1] + 'garbage,,\n' + 'x' * 5000 + '\n' + lines[2] + lines[3][:9]   # cut mid-row
    log_path.write_text(damaged)
    messages = []
    gtrain.train(tiny(corpus, tmp_path, max_iters=10), resume=True, log=messages.append)
    assert any('left out 3 damaged row(s)' in m for m in messages)
    rows = list(csv.DictReader(open(log_path, newline='')))
    assert [r['step'] for r in rows] == ['0', '4', '10']                # the cut row (8) is gone, 10 added
    assert rows[:2] == list(csv.DictReader(text.splitlines()))[:2]     # kept rows keep their text
    log_path.write_text('not,a,log\n1,2,3\n')
    gtrain.train(tiny(corpus, tmp_path, max_iters=11), resume=True, log=messages.append)
    assert any('is not a gpt.train log' in m and 'starting a new log.csv' in m for m in messages)
    assert [r['step'] for r in csv.DictReader(open(log_path, newline=''))] == ['11']


def test_out_of_memory_is_one_line_naming_the_flags(capsys, corpus, tmp_path, monkeypatch):
    class OutOfMemoryError(Exception):            # what CuPy raises, caught by its name
        pass

    def no_memory(*args, **kwargs):
        raise OutOfMemoryError('out of memory allocating 1,073,741,824 bytes')
    monkeypatch.setattr(gtrain.Trainer, 'train_step', no_memory)
    small = ['--n-embd', '16', '--n-head', '2', '--n-layer', '1', '--block-size', '8', '--eval-iters', '1',
             '--no-progress']
    code, err = run_main(capsys, ['--data', corpus, '--out', str(tmp_path), '--max-iters', '2', *small])
    assert code == 1 and 'out of memory (OutOfMemoryError)' in err and '--batch-size' in err and '\n' not in err
    monkeypatch.setattr(gtrain.Trainer, 'train_step', lambda self: {}['a bug'])
    with pytest.raises(KeyError):                 # a programming error keeps its traceback
        gtrain.main(['--data', corpus, '--out', str(tmp_path / 'b'), '--max-iters', '2', *small])


def test_resume_may_switch_to_the_lectures_per_head_attention(corpus, tmp_path):
    straight, switched = tmp_path / 'straight', tmp_path / 'switched'
    gtrain.train(tiny(corpus, straight, dropout=0.0), log=quiet)
    gtrain.train(tiny(corpus, switched, dropout=0.0, max_iters=6), log=quiet)
    gtrain.train(tiny(corpus, switched, dropout=0.0, attention='per_head'), resume=True, log=quiet)
    _, w_a, _ = final_state(straight)
    _, w_b, _ = final_state(switched)
    for k in w_a:                                 # the same math: equal up to rounding
        np.testing.assert_allclose(w_a[k], w_b[k], rtol=1e-4, atol=1e-5, err_msg=k)
    assert ckpt_io.load_checkpoint(switched)['model_spec']['attention'] == 'per_head'
