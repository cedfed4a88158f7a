/**
 * Dataset (src/data/dataset.ts): sources, every transformation against plain-array expectations, sizes,
 * seeded shuffles, map parallelism with order kept, prefetch overlapping a slow producer with a slow consumer,
 * the ownership rule (what release() and transformations dispose, what they keep), and fit on a Dataset.
 */
import { describe, expect, it } from 'vitest';

import { Dataset, AUTOTUNE, RELEASE_BATCH, isKept } from '../../src/data/dataset.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { tensor } from '../../src/tensor/creation.js';
import { Generator } from '../../src/tensor/random.js';
import { scope } from '../../src/tensor/scope.js';
import { SGD } from '../../src/optim/sgd.js';
import { Callback, compile, evaluate, fit, predict } from '../../src/train/index.js';
import { DenseModel, blobs } from '../train/models.js';
import * as trainData from '../../src/train/data.js';
import { DTypeError, ShapeError, ValueError } from '../../src/errors.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};
const ints = (n: number, dtype: 'float32' | 'int32' = 'float32') => tensor(Array.from({ length: n }, (_, i) => i), [n], dtype);
const values = (t: Tensor) => Array.from(t.data);

describe('sources', () => {
  it('fromTensorSlices: rows of every tensor, views of the storage; columns of JS values', async () => {
    const x = tensor([[1, 2], [3, 4], [5, 6]]);
    const y = tensor([0, 1, 2], [3], 'int32');
    const ds = Dataset.fromTensorSlices({ x, y, name: ['a', 'b', 'c'] });
    expect(ds.size).toBe(3);
    const els = await ds.toArray();
    expect(els.map((e) => e.x.toArray())).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(els.map((e) => e.y.shape)).toEqual([[], [], []]);
    expect(els.map((e) => e.y.dtype)).toEqual(['int32', 'int32', 'int32']);
    expect(els.map((e) => e.name)).toEqual(['a', 'b', 'c']);
    expect(els[1].x.data.buffer).toBe(x.data.buffer); // a view, no copy
    // Tuples and bare tensors.
    const t = await Dataset.fromTensorSlices([x, y]).toArray();
    expect(t[2][0].toArray()).toEqual([5, 6]);
    expect(t[2][1].item()).toBe(2);
    expect((await Dataset.fromTensorSlices(x).toArray()).map((r) => r.toArray())).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(await Dataset.fromTensorSlices([10, 20]).toArray()).toEqual([10, 20]);
  });

  it('fromTensorSlices rejects disagreeing first axes and scalars, naming them', () => {
    expect(() => Dataset.fromTensorSlices({ x: tensor([[1], [2]]), y: tensor([1, 2, 3]) })).toThrow(
      new ShapeError('Dataset.fromTensorSlices: y has 3 rows but x has 2 (the first axis of every tensor must agree)'),
    );
    expect(() => Dataset.fromTensorSlices({ x: tensor(3) })).toThrow('Dataset.fromTensorSlices: x is a scalar tensor; slicing needs a first axis');
    expect(() => Dataset.fromTensorSlices(5 as never)).toThrow(DTypeError);
  });

  it('fromTensors, fromArray, range, fromGenerator (sync and async, restarted per iteration), fromAsyncIterable', async () => {
    const x = tensor([1, 2]);
    const one = await Dataset.fromTensors({ x }).toArray();
    expect(one).toHaveLength(1);
    expect(one[0].x).toBe(x);
    expect(Dataset.fromTensors(x).size).toBe(1);
    expect(await Dataset.fromArray([1, 2, 3]).toArray()).toEqual([1, 2, 3]);
    expect(await Dataset.range(4).toArray()).toEqual([0, 1, 2, 3]);
    expect(await Dataset.range(1, 8, 3).toArray()).toEqual([1, 4, 7]);

    let calls = 0;
    const gen = Dataset.fromGenerator(function* () {
      calls++;
      yield* [1, 2, 3];
    });
    expect(gen.size).toBeNull();
    expect(await gen.toArray()).toEqual([1, 2, 3]);
    expect(await gen.toArray()).toEqual([1, 2, 3]);
    expect(calls).toBe(2);
    const agen = Dataset.fromGenerator(async function* () {
      await sleep(1);
      yield 'a';
      yield 'b';
    }, { size: 2 });
    expect(agen.size).toBe(2);
    expect(await agen.toArray()).toEqual(['a', 'b']);

    const reiterable = { async *[Symbol.asyncIterator]() { yield 1; yield 2; } };
    const ai = Dataset.fromAsyncIterable(reiterable);
    expect(await ai.toArray()).toEqual([1, 2]);
    expect(await ai.toArray()).toEqual([1, 2]);
    // A generator object is one-shot.
    const once = Dataset.fromAsyncIterable((async function* () { yield 1; })());
    expect(await once.toArray()).toEqual([1]);
    expect(await once.toArray()).toEqual([]);
    expect(() => Dataset.fromAsyncIterable(3 as never)).toThrow('Dataset.fromAsyncIterable: expected an iterable, an async iterable or an iterator, got number');
  });
});

describe('transformations', () => {
  it('batch stacks leaf by leaf; the remainder is kept or dropped; sizes follow', async () => {
    const ds = Dataset.fromTensorSlices({ x: tensor([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]), y: ints(5, 'int32'), w: [0.5, 1, 1, 1, 2], id: ['a', 'b', 'c', 'd', 'e'] });
    const b = ds.batch(2);
    expect(b.size).toBe(3);
    const out = await b.toArray();
    expect(out.map((e) => e.x.shape)).toEqual([[2, 2], [2, 2], [1, 2]]);
    expect(out[1].x.toArray()).toEqual([[5, 6], [7, 8]]);
    expect(out[0].y.dtype).toBe('int32');
    expect(values(out[2].y)).toEqual([4]);
    expect(out[0].w.dtype).toBe('float32');
    expect(values(out[0].w)).toEqual([0.5, 1]);
    expect(out[2].id).toEqual(['e']);
    const dropped = ds.batch(2, { dropRemainder: true });
    expect(dropped.size).toBe(2);
    expect(await dropped.toArray()).toHaveLength(2);
    // Tuples.
    const pairs = await Dataset.fromTensorSlices([ints(4), ints(4, 'int32')]).batch(3).toArray();
    expect(pairs.map((p) => [values(p[0]), values(p[1])])).toEqual([[[0, 1, 2], [0, 1, 2]], [[3], [3]]]);
  });

  it('batch rejects elements of different shapes, naming the element and the position', async () => {
    const ds = Dataset.fromArray([{ x: tensor([1, 2]) }, { x: tensor([1, 2, 3]) }]).batch(2);
    await expect(ds.toArray()).rejects.toThrow(
      new ShapeError('Dataset.batch: element 1 of the batch has Tensor float32 [3] at x but element 0 has Tensor float32 [2] (elements of a batch must have one shape and dtype: resize or pad them in a map first)'),
    );
    expect(() => Dataset.range(3).batch(0)).toThrow(new ValueError("Dataset.batch: argument 'batchSize' must be an integer >= 1, got 0"));
  });

  it('unbatch is the inverse of batch (columns of strings included)', async () => {
    const ds = Dataset.fromTensorSlices({ x: tensor([[1, 2], [3, 4], [5, 6]]), id: ['a', 'b', 'c'] });
    const back = await ds.batch(2).unbatch().toArray();
    expect(back.map((e) => [e.x.toArray(), e.id])).toEqual([[[1, 2], 'a'], [[3, 4], 'b'], [[5, 6], 'c']]);
    await expect(Dataset.fromArray([{ a: tensor([1, 2]), b: tensor([1, 2, 3]) }]).unbatch().toArray()).rejects.toThrow(
      'Dataset.unbatch: b has 3 rows but a has 2',
    );
  });

  it('map (sync and async), filter, take, skip, repeat, concatenate, zip; sizes', async () => {
    const r = Dataset.range(6);
    expect(await r.map((v) => v * 10).toArray()).toEqual([0, 10, 20, 30, 40, 50]);
    expect(await r.map(async (v) => { await sleep(6 - v); return v + 1; }).toArray()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await r.filter((v) => v % 2 === 0).toArray()).toEqual([0, 2, 4]);
    expect(await r.filter(async (v) => tensor(v > 3 ? 1 : 0)).toArray()).toEqual([4, 5]);
    expect(r.filter(() => true).size).toBeNull();
    expect(await r.take(2).toArray()).toEqual([0, 1]);
    expect(r.take(2).size).toBe(2);
    expect(await r.skip(4).toArray()).toEqual([4, 5]);
    expect(r.skip(10).size).toBe(0);
    expect(await r.take(2).repeat(3).toArray()).toEqual([0, 1, 0, 1, 0, 1]);
    expect(r.repeat(3).size).toBe(18);
    expect(r.repeat().size).toBe(Infinity);
    expect(r.repeat().cardinality()).toBe(Dataset.INFINITE);
    expect(r.filter(() => true).cardinality()).toBe(Dataset.UNKNOWN);
    expect(await r.repeat().take(8).toArray()).toEqual([0, 1, 2, 3, 4, 5, 0, 1]);
    expect(await r.take(2).concatenate(Dataset.fromArray(['a'])).toArray()).toEqual([0, 1, 'a']);
    expect(await Dataset.zip([r, Dataset.fromArray(['a', 'b'])]).toArray()).toEqual([[0, 'a'], [1, 'b']]);
    expect(await Dataset.zip({ n: r.take(2), s: Dataset.fromArray(['a', 'b', 'c']) }).toArray()).toEqual([{ n: 0, s: 'a' }, { n: 1, s: 'b' }]);
    expect(await r.take(1).zip(r.skip(5)).toArray()).toEqual([[0, 5]]);
    expect(Dataset.zip([r, r.take(2)]).size).toBe(2);
    await expect(r.repeat().toArray()).rejects.toThrow('Dataset.toArray: the dataset is endless');
    // An empty dataset repeated forever ends instead of spinning.
    expect(await Dataset.fromArray([]).repeat().take(3).toArray()).toEqual([]);
  });

  it('map errors name the element, surface in order after the elements before them', async () => {
    const ds = Dataset.range(5).map(async (v) => {
      if (v === 3) throw new ValueError('bad value');
      return v;
    }, { parallelism: 4 });
    const got: number[] = [];
    await expect(ds.forEach((v) => void got.push(v))).rejects.toThrow(new ValueError('Dataset.map: element 3: bad value'));
    expect(got).toEqual([0, 1, 2]);
  });

  it('map with parallelism runs calls at once and keeps the order', async () => {
    let inFlight = 0;
    let peak = 0;
    const slow = async (v: number) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await sleep(v % 2 === 0 ? 15 : 2); // even elements finish last
      inFlight--;
      return v;
    };
    const t0 = performance.now();
    expect(await Dataset.range(16).map(slow, { parallelism: 4 }).toArray()).toEqual([...Array(16).keys()]);
    const parallel = performance.now() - t0;
    expect(peak).toBe(4);
    peak = 0;
    const t1 = performance.now();
    await Dataset.range(16).map(slow).toArray();
    const serial = performance.now() - t1;
    expect(peak).toBe(1);
    expect(parallel).toBeLessThan(serial * 0.6);
    expect(() => Dataset.range(2).map((v) => v, { parallelism: 0 })).toThrow("Dataset.map: option 'parallelism' must be an integer >= 1, got 0");
    expect(await Dataset.range(3).map((v) => v, { parallelism: AUTOTUNE }).toArray()).toEqual([0, 1, 2]);
  });

  it('shuffle: a permutation; the same seed gives the same orders; reshuffleEachIteration', async () => {
    const r = Dataset.range(50);
    const a = r.shuffle(50, { seed: 7 });
    const first = await a.toArray();
    const second = await a.toArray();
    expect([...first].sort((p, q) => p - q)).toEqual([...Array(50).keys()]);
    expect(first).not.toEqual([...Array(50).keys()]);
    expect(second).not.toEqual(first); // reshuffled
    const b = r.shuffle(50, { seed: 7 });
    expect(await b.toArray()).toEqual(first);
    expect(await b.toArray()).toEqual(second);
    const fixed = r.shuffle(50, { seed: 7, reshuffleEachIteration: false });
    const f1 = await fixed.toArray();
    expect(await fixed.toArray()).toEqual(f1);
    expect(await r.shuffle(50, { seed: 8 }).toArray()).not.toEqual(first);
    // A Generator as the seed; a small buffer keeps elements near their position.
    expect(await r.shuffle(50, { seed: new Generator(7) }).toArray()).toEqual(first);
    const local = await r.shuffle(4, { seed: 1 }).toArray();
    expect([...local].sort((p, q) => p - q)).toEqual([...Array(50).keys()]);
    local.forEach((v, i) => expect(v).toBeLessThanOrEqual(i + 3));
    expect(() => r.shuffle(0)).toThrow(ValueError);
    expect(() => r.shuffle(4, { seed: -1 })).toThrow("Dataset.shuffle: option 'seed' must be a non-negative integer or a Generator, got -1");
  });

  it('fromTensorSlices -> shuffle/take/skip -> batch gathers rows directly: the same batches as the element path', async () => {
    const n = 23;
    const x = tensor(Array.from({ length: n * 3 }, (_, i) => i), [n, 3]);
    const y = ints(n, 'int32');
    const w = Array.from({ length: n }, (_, i) => i / 2);
    const id = Array.from({ length: n }, (_, i) => `s${i}`);
    const src = Dataset.fromTensorSlices({ x, y, w, id, pair: [x, y] });
    const slow = src.map((e) => e); // map leaves the fast path
    const dump = async (d: Dataset<any>) => (await d.toArray()).map((b) => JSON.stringify({ x: b.x.toArray(), y: b.y.toArray(), yd: b.y.dtype, w: b.w.toArray(), id: b.id, p: b.pair[0].toArray() }));
    for (const buf of [1, 5, 23, 100]) {
      for (const drop of [false, true]) {
        const fast = src.shuffle(buf, { seed: 11 }).skip(2).take(19).batch(4, { dropRemainder: drop });
        const ref = slow.shuffle(buf, { seed: 11 }).skip(2).take(19).batch(4, { dropRemainder: drop });
        expect(fast.size).toBe(ref.size ?? (drop ? 4 : 5));
        const [a, b] = [await dump(fast), await dump(ref)];
        expect(a).toEqual(b);
        expect(await dump(fast)).toEqual(await dump(ref)); // second iteration: reshuffled the same way
      }
    }
    const fixed = src.shuffle(23, { seed: 4, reshuffleEachIteration: false }).batch(23);
    expect(await dump(fixed)).toEqual(await dump(fixed));
    expect(await dump(src.batch(10))).toEqual(await dump(slow.batch(10)));
    // Element iteration of a shuffled slice dataset matches too.
    const e1 = (await src.shuffle(7, { seed: 2 }).toArray()).map((e) => e.y.item());
    const e2 = (await slow.shuffle(7, { seed: 2 }).toArray()).map((e) => e.y.item());
    expect(e1).toEqual(e2);
  });

  it('cache: the upstream runs once; later passes serve the stored elements; an interrupted pass is dropped', async () => {
    let runs = 0;
    const src = Dataset.fromGenerator(function* () {
      runs++;
      yield* [1, 2, 3];
    });
    const c = src.map((v) => v * 2).cache();
    expect(await c.take(1).toArray()).toEqual([2]);
    expect(await c.toArray()).toEqual([2, 4, 6]);
    expect(await c.toArray()).toEqual([2, 4, 6]);
    expect(runs).toBe(2); // the interrupted pass, then the full one; the third pass is served from memory
    expect(() => Dataset.range(2).repeat().cache()).toThrow('Dataset.cache: the dataset is endless');
  });
});

describe('prefetch', () => {
  it('the producer runs ahead while the consumer works: a slow producer and a slow consumer overlap', async () => {
    const n = 8;
    const produce = 25;
    const consume = 25;
    const source = () =>
      Dataset.fromGenerator(async function* () {
        for (let i = 0; i < n; i++) {
          await sleep(produce); // I/O-like latency (a file read, a decode in the thread pool)
          yield i;
        }
      });
    const run = async (ds: Dataset<number>) => {
      const t0 = performance.now();
      const got: number[] = [];
      for await (const v of ds) {
        busy(consume); // a synchronous training step: the JS thread is blocked
        got.push(v);
        await new Promise((r) => setImmediate(r)); // fit yields to the event loop after each step
      }
      return { ms: performance.now() - t0, got };
    };
    const serial = await run(source());
    const overlapped = await run(source().prefetch(2));
    expect(serial.got).toEqual([...Array(n).keys()]);
    expect(overlapped.got).toEqual(serial.got);
    expect(serial.ms).toBeGreaterThan(n * (produce + consume) * 0.9);
    // Overlapped: about max(produce, consume) per element plus one producer latency.
    expect(overlapped.ms).toBeLessThan(serial.ms * 0.75);
  });

  it('keeps at most n elements ahead; errors arrive after the elements before them; return() stops the producer', async () => {
    let produced = 0;
    const ds = Dataset.fromGenerator(async function* () {
      for (let i = 0; i < 100; i++) {
        produced++;
        yield i;
      }
    }).prefetch(3);
    const it = ds[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(0);
    await sleep(10);
    expect(produced).toBeLessThanOrEqual(1 + 3 + 1);
    await it.return!();
    const after = produced;
    await sleep(10);
    expect(produced).toBe(after);

    const failing = Dataset.fromGenerator(async function* () {
      yield 1;
      yield 2;
      throw new ValueError('disk on fire');
    }).prefetch(4);
    const got: number[] = [];
    await expect(failing.forEach((v) => void got.push(v))).rejects.toThrow('disk on fire');
    expect(got).toEqual([1, 2]);
    expect(() => Dataset.range(2).prefetch(0)).toThrow(ValueError);
    expect(await Dataset.range(3).prefetch(AUTOTUNE).toArray()).toEqual([0, 1, 2]);
  });
});

describe('ownership', () => {
  it('batches are owned by the consumer: release() disposes them; the elements they were stacked from are disposed by batch()', async () => {
    const x = tensor([[1, 2], [3, 4], [5, 6]]);
    const seen: Tensor[] = [];
    const ds = Dataset.fromTensorSlices({ x }).map((e) => {
      const doubled = e.x.mul(2);
      seen.push(doubled);
      return { x: doubled };
    }).batch(2);
    const batches = await ds.toArray();
    expect(seen.every((t) => t.isDisposed)).toBe(true); // consumed by batch()
    expect(batches[0].x.toArray()).toEqual([[2, 4], [6, 8]]);
    ds.release(batches[0]);
    expect(batches[0].x.isDisposed).toBe(true);
    expect(x.isDisposed).toBe(false); // the user's tensor is never touched
    (ds as unknown as Record<symbol, (b: unknown) => void>)[RELEASE_BATCH](batches[1]);
    expect(batches[1].x.isDisposed).toBe(true);
  });

  it('kept tensors are never disposed: fromArray / fromTensors / generator items and cached elements', async () => {
    const a = tensor([1, 2]);
    const items = [{ x: a }];
    const ds = Dataset.fromArray(items);
    const [el] = await ds.toArray();
    ds.release(el);
    expect(a.isDisposed).toBe(false);
    const g = tensor([3]);
    const gen = Dataset.fromGenerator(function* () { yield g; });
    gen.release((await gen.toArray())[0]);
    expect(g.isDisposed).toBe(false);

    const cached = Dataset.fromTensorSlices(tensor([[1, 2], [3, 4]])).map((r) => r.add(1)).batch(2).cache();
    const [b1] = await cached.toArray();
    cached.release(b1);
    expect(b1.isDisposed).toBe(false);
    expect(isKept(b1)).toBe(true);
    const [b2] = await cached.toArray();
    expect(b2).toBe(b1);
    // A scope does not dispose cached tensors either.
    await scope(async () => {
      await cached.toArray();
    });
    expect(b1.toArray()).toEqual([[2, 3], [4, 5]]);
  });

  it('map disposes the owned inputs its result does not contain, and the temporaries of fn', async () => {
    const temps: Tensor[] = [];
    const inputs: Tensor[] = [];
    const ds = Dataset.fromTensorSlices({ x: tensor([[1, 2], [3, 4]]), y: tensor([0, 1], [2], 'int32') }).map(({ x, y }) => {
      inputs.push(x);
      const t = x.mul(3);
      temps.push(t);
      return { x: t.add(1), y };
    });
    const els = await ds.toArray();
    expect(inputs.every((t) => t.isDisposed)).toBe(true);
    expect(temps.every((t) => t.isDisposed)).toBe(true);
    expect(els.map((e) => [e.x.toArray(), e.y.item()])).toEqual([[[4, 7], 0], [[10, 13], 1]]);
    expect(els.every((e) => !e.y.isDisposed)).toBe(true); // passed through
  });

  it('shuffle, filter and skip dispose what they drop or hold when iteration stops early', async () => {
    const made: Tensor[] = [];
    const src = () => Dataset.range(10).map((v) => {
      const t = tensor([v]);
      made.push(t);
      return t;
    });
    await src().skip(3).take(1).toArray();
    expect(made.slice(0, 3).every((t) => t.isDisposed)).toBe(true);
    made.length = 0;
    await src().filter((t) => t.item() % 2 === 0).toArray();
    expect(made.filter((t) => t.item !== undefined && t.isDisposed)).toHaveLength(5);
    made.length = 0;
    const first = await src().shuffle(8, { seed: 1 }).take(1).toArray();
    expect(made.filter((t) => !t.isDisposed)).toEqual(first); // the 7 left in the buffer were disposed
  });
});

describe('fit on a Dataset', () => {
  it('trains from fromTensorSlices().shuffle().batch().prefetch(), evaluates and predicts; batches are released after each step', async () => {
    const { x, labels } = blobs(96);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: new SGD({ learningRate: 0.5 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const yielded: Tensor[] = [];
    const ds = Dataset.fromTensorSlices({ x, y: labels })
      .shuffle(96, { seed: 3 })
      .batch(16)
      .map((b) => {
        yielded.push(b.x);
        return b;
      })
      .prefetch(2);
    expect(ds.size).toBe(6);
    const h = await fit(model, c, ds, undefined, { epochs: 8, verbose: 0 });
    const loss = h.history.loss as number[];
    expect(loss).toHaveLength(8);
    expect(loss[7]).toBeLessThan(loss[0]);
    expect(yielded).toHaveLength(48);
    const logs = await evaluate(model, c, Dataset.fromTensorSlices({ x, y: labels }).batch(32));
    expect(logs.accuracy).toBeGreaterThan(0.8);
    const probs = await predict(model, Dataset.fromTensorSlices({ x }).batch(40));
    expect(probs.shape).toEqual([96, 3]);
    expect(x.isDisposed).toBe(false);
  });

  // Runs once fit hands batches back to their source (src/train/data.ts' releaseBatch).
  it.runIf('releaseBatch' in trainData)('fit releases each batch after its step: stacked batches are disposed, cached ones kept', async () => {
    const { x, labels } = blobs(64);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: new SGD({ learningRate: 0.1 }), loss: 'sparseCategoricalCrossentropy' });
    const seen: Tensor[] = [];
    const spy = <B extends { x: Tensor }>(b: B) => (seen.push(b.x), b);
    const steps: Array<number | null> = [];
    const cb = new (class extends Callback {
      override onEpochBegin(): void {
        steps.push(this.params!.steps);
      }
    })();
    await fit(model, c, Dataset.fromTensorSlices({ x, y: labels }).batch(16).map(spy), undefined, { epochs: 2, verbose: 0, callbacks: [cb] });
    expect(steps).toEqual([4, 4]); // the Dataset's size: the progress bar knows the steps from the first epoch
    expect(seen).toHaveLength(8);
    expect(seen.every((t) => t.isDisposed)).toBe(true);
    seen.length = 0;
    await evaluate(model, c, Dataset.fromTensorSlices({ x, y: labels }).batch(32).map(spy));
    await predict(model, Dataset.fromTensorSlices({ x }).batch(32).map(spy));
    expect(seen.every((t) => t.isDisposed)).toBe(true);
    seen.length = 0;
    const cached = Dataset.fromTensorSlices({ x, y: labels }).batch(16).cache().map(spy);
    await fit(model, c, cached, undefined, { epochs: 2, verbose: 0 });
    expect(seen.some((t) => t.isDisposed)).toBe(false);
    expect(seen[4]).toBe(seen[0]); // the second epoch was served from the cache
    // An array of batches is never disposed.
    const batches = [{ x, y: labels }];
    await fit(model, c, batches, undefined, { epochs: 1, verbose: 0 });
    expect(x.isDisposed).toBe(false);
  });
});
