/**
 * Progress output (src/train/progress.ts): Keras' number formats, the one-line-per-epoch format of non-TTY
 * streams and verbose 2, the bar redrawn in place on a TTY (with an injected clock, so the output is exact),
 * and what fit writes.
 */
import { describe, expect, it } from 'vitest';

import { ProgressLogger, compile, evaluate, fit, predict, formatBar, formatEta, formatPerStep, formatValue, type TrainingParams } from '../../src/train/index.js';
import { DenseModel, MemoryStream, blobs } from './models.js';

const params = (steps: number | null): TrainingParams => ({
  epochs: 3, initialEpoch: 0, steps, samples: null, batchSize: null, verbose: 1, metrics: ['loss', 'accuracy'],
});

/** A clock the test moves by hand (ms). */
function clock() {
  let t = 0;
  return { now: () => t, set: (ms: number) => void (t = ms) };
}

describe('formats', () => {
  it('values: 4 decimals, or 4-digit scientific notation with a two-digit exponent at |v| <= 1e-3 (Keras)', () => {
    expect(formatValue(0.693147)).toBe('0.6931');
    expect(formatValue(12.5)).toBe('12.5000');
    expect(formatValue(0.000123456)).toBe('1.2346e-04');
    expect(formatValue(0)).toBe('0.0000e+00');
    expect(formatValue(NaN)).toBe('nan');
    expect(formatValue(-Infinity)).toBe('-inf');
  });
  it('ETA, time per step, the bar', () => {
    expect(formatEta(7.4)).toBe('7s');
    expect(formatEta(65)).toBe('1:05');
    expect(formatEta(3723)).toBe('1:02:03');
    expect(formatPerStep(2.4)).toBe('2s/step');
    expect(formatPerStep(0.0937)).toBe('94ms/step');
    expect(formatPerStep(0.0000125)).toBe('13us/step');
    expect(formatBar(0, 32)).toBe(' 0/32 [..............................]');
    expect(formatBar(12, 32)).toBe('12/32 [==========>...................]');
    expect(formatBar(32, 32)).toBe('32/32 [==============================]');
    expect(formatBar(5, null)).toBe('5/Unknown');
  });
});

describe('ProgressLogger', () => {
  it('not a TTY: one line per epoch with steps, seconds, time per step and the logs', () => {
    const out = new MemoryStream(false);
    const c = clock();
    const p = new ProgressLogger({ stream: out, now: c.now });
    p.setParams(params(4));
    p.onEpochBegin(0);
    for (let b = 0; b < 4; b++) {
      c.set(600 * (b + 1));
      p.onBatchEnd(b, { loss: 1 / (b + 1), accuracy: 0.25 * b });
    }
    c.set(2500);
    p.onEpochEnd(0, { loss: 0.25, accuracy: 0.75, val_loss: 0.3, val_accuracy: 0.5 });
    expect(out.text).toBe('Epoch 1/3 - 4/4 - 2s - 625ms/step - loss: 0.2500 - accuracy: 0.7500 - val_loss: 0.3000 - val_accuracy: 0.5000\n');
  });

  it('verbose 2 on a TTY prints the same single line', () => {
    const out = new MemoryStream(true);
    const c = clock();
    const p = new ProgressLogger({ stream: out, now: c.now, verbose: 2 });
    p.setParams(params(2));
    p.onEpochBegin(1);
    p.onBatchEnd(0, { loss: 1 });
    p.onBatchEnd(1, { loss: 1 });
    c.set(40);
    p.onEpochEnd(1, { loss: 0.5 });
    expect(out.text).toBe('Epoch 2/3 - 2/2 - 0s - 20ms/step - loss: 0.5000\n');
  });

  it('a TTY: the bar is redrawn in place with an ETA, throttled, then finished with the epoch time and a newline', () => {
    const out = new MemoryStream(true);
    const c = clock();
    const p = new ProgressLogger({ stream: out, now: c.now, width: 10 });
    p.setParams(params(4));
    p.onEpochBegin(0);
    c.set(1000);
    p.onBatchEnd(0, { loss: 0.9 }); // drawn: 1 s per step, 3 steps left
    c.set(1020);
    p.onBatchEnd(1, { loss: 0.8 }); // within 50 ms of the last draw: skipped
    c.set(3000);
    p.onBatchEnd(2, { loss: 0.7 }); // drawn: 1 s per step, 1 left
    c.set(4000);
    p.onBatchEnd(3, { loss: 0.6 }); // the last batch is always drawn
    p.onEpochEnd(0, { loss: 0.6, val_loss: 0.55 });
    const first = '1/4 [=>........] - ETA: 3s - loss: 0.9000';
    const third = '3/4 [======>...] - ETA: 1s - loss: 0.7000';
    const fourth = '4/4 [==========] - 4s 1s/step - loss: 0.6000';
    const last = '4/4 [==========] - 4s 1s/step - loss: 0.6000 - val_loss: 0.5500';
    expect(out.text).toBe(`Epoch 1/3\n\r${first}\r${third}\r${fourth}\r${last}\n`);
  });

  it('pads over a longer previous line, and ends a half-drawn line on interrupt', () => {
    const out = new MemoryStream(true);
    const c = clock();
    const p = new ProgressLogger({ stream: out, now: c.now, width: 4 });
    p.setParams(params(null));
    p.onEpochBegin(0);
    c.set(100);
    p.onBatchEnd(0, { loss: 0.5, accuracy: 0.25 });
    c.set(200);
    p.onBatchEnd(1, { loss: 0.5 });
    p.interrupt();
    const a = '1/Unknown - 0s 100ms/step - loss: 0.5000 - accuracy: 0.2500';
    const b = '2/Unknown - 0s 100ms/step - loss: 0.5000';
    expect(out.text).toBe(`Epoch 1/3\n\r${a}\r${b}${' '.repeat(a.length - b.length)}\n`);
  });
});

describe('what fit prints', () => {
  const { x, labels } = blobs(24);
  const run = async (verbose: 0 | 1 | 2, tty: boolean) => {
    const out = new MemoryStream(tty);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    await fit(model, c, x, labels, { epochs: 2, batchSize: 8, verbose, validationSplit: 0.25, progressStream: out });
    return out.text;
  };
  it('non-TTY (CI logs): exactly one line per epoch', async () => {
    const lines = (await run(1, false)).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    lines.slice(0, 2).forEach((l, e) =>
      expect(l).toMatch(new RegExp(`^Epoch ${e + 1}/2 - 3/3 - \\d+s - \\d+(s|ms|us)/step - loss: \\d\\.\\d{4} - accuracy: \\d\\.\\d{4} - val_loss: \\d\\.\\d{4} - val_accuracy: \\d\\.\\d{4}$`)),
    );
  });
  it('TTY: an epoch header, carriage-return redraws, a finished line per epoch', async () => {
    const text = await run(1, true);
    const lines = text.split('\n');
    expect(lines[0]).toBe('Epoch 1/2');
    expect(lines[1]).toMatch(/^\r[^]*\r3\/3 \[={30}\] - \d+s \d+(s|ms|us)\/step - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}$/);
    expect(lines[2]).toBe('Epoch 2/2');
    expect(lines).toHaveLength(5);
  });
  it('evaluate and predict print one summary line with verbose > 0 (default silent)', async () => {
    const out = new MemoryStream(false);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    await evaluate(model, c, x, labels, { batchSize: 10, verbose: 1, progressStream: out });
    await predict(model, x, { batchSize: 10, verbose: 2, progressStream: out });
    await evaluate(model, c, x, labels, { progressStream: out });
    const lines = out.text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^3\/3 - \d+s - \d+(s|ms|us)\/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}$/);
    expect(lines[1]).toMatch(/^3\/3 - \d+s - \d+(s|ms|us)\/step$/);
    await expect(evaluate(model, c, x, labels, { verbose: 3 as never })).rejects.toThrow("evaluate: option 'verbose' must be 0, 1 or 2, got 3");
  });
  it('verbose 0 prints nothing', async () => {
    expect(await run(0, true)).toBe('');
    expect(await run(2, true)).toMatch(/^Epoch 1\/2 - 3\/3 - .*\nEpoch 2\/2 - 3\/3 - .*\n$/);
  });
});
