/**
 * The float64 dtype (for gradient checks and reference computations) through the tensor layer: creation,
 * promotion (float64 wins), numbers beside float64 kept unrounded, casts, kernels that keep the array type on
 * whichever backend is active; gradients of promoted inputs returning in their own dtype; and a self-test of
 * tapeGradCheck (it must catch a wrong gradient).
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/tensor/tensor.js';
import { full, ones, rand, randn, scalar, tensor, truncatedNormal, zeros, zerosLike } from '../../src/tensor/creation.js';
import * as ew from '../../src/tensor/elementwise.js';
import * as red from '../../src/tensor/reduction.js';
import * as man from '../../src/tensor/manipulation.js';
import { matmul } from '../../src/tensor/linalg.js';
import { logSoftmax, softmax } from '../../src/tensor/softmax.js';
import { promote } from '../../src/tensor/dtype.js';
import { gradients, record } from '../../src/autograd/index.js';
import { DTypeError } from '../../src/errors.js';
import { expectError } from '../helpers/errors.js';
import { randF64, tapeGradCheck } from '../helpers/tapecheck.js';

const vals = (t: Tensor | null): number[] => Array.from(t!.data);

describe('float64 tensors', () => {
  it('creation accepts dtype float64; float32 stays the default everywhere', () => {
    expect(tensor([0.1]).dtype).toBe('float32');
    expect(tensor(new Float64Array([0.1])).dtype).toBe('float32');
    const t = tensor([0.1, 0.2], undefined, 'float64');
    expect(t.data).toBeInstanceOf(Float64Array);
    expect(t.data[0]).toBe(0.1);
    expect(zeros([2], 'float64').dtype).toBe('float64');
    expect(ones([2], 'float64').data[1]).toBe(1);
    expect(full([1], 0.1, 'float64').data[0]).toBe(0.1);
    expect(scalar(0.1, 'float64').item()).toBe(0.1);
    expect(zerosLike(t).dtype).toBe('float64');
    expect(rand([3], { seed: 1, dtype: 'float64' }).dtype).toBe('float64');
    const n64 = randn([4], { seed: 2, dtype: 'float64' });
    expect(n64.dtype).toBe('float64');
    // The float64 draws are the float32 ones before rounding.
    expect(vals(randn([4], { seed: 2 }))).toEqual(Array.from(n64.data, Math.fround));
    expect(truncatedNormal([2], { seed: 3, dtype: 'float64' }).dtype).toBe('float64');
    expectError(() => rand([2], { dtype: 'int32' }), DTypeError, 'rand:', "'dtype'");
  });

  it('promotes int32 < float32 < float64; a number beside float64 is not rounded to float32', () => {
    expect(promote('float32', 'float64')).toBe('float64');
    expect(promote('int32', 'float64')).toBe('float64');
    const x = tensor([1], undefined, 'float64');
    expect(ew.add(x, tensor([1])).dtype).toBe('float64');
    expect(ew.add(tensor([1], undefined, 'int32'), x).dtype).toBe('float64');
    expect(ew.mul(x, 0.1).data[0]).toBe(0.1);
    expect(ew.where(tensor([1], undefined, 'int32'), x, 0.1).dtype).toBe('float64');
    expect(matmul(tensor([[1, 2]]), tensor([[3], [4]], undefined, 'float64')).dtype).toBe('float64');
  });

  it('every op family keeps float64 (kernels run on the reference where the native backend lacks float64)', () => {
    const x = randF64([2, 3], 1);
    const ops: Array<[string, Tensor]> = [
      ['unary', ew.gelu(x)], ['binary', ew.pow(ew.abs(x), x)], ['clip', ew.clip(x, -0.5, 0.5)],
      ['sum', red.sum(x, 1)], ['mean', red.mean(x)], ['max', red.max(x, 0)], ['prod', red.prod(x)],
      ['variance', red.variance(x, 1)], ['std', red.std(x)], ['norm', red.norm(x, 3)], ['logSumExp', red.logSumExp(x, 1)],
      ['transpose', man.transpose(x)], ['slice', man.slice(x, [0, 1])], ['gather', man.gather(x, [1, 0], 1)],
      ['concat', man.concat([x, x])], ['pad', man.pad(x, [[1, 1], [0, 2]], { mode: 'reflect' })], ['tile', man.tile(x, [2, 2])],
      ['broadcastTo', man.broadcastTo(x, [2, 2, 3])], ['matmul', matmul(x, x, { transposeB: true })],
      ['softmax', softmax(x)], ['logSoftmax', logSoftmax(x, 0)],
    ];
    for (const [name, t] of ops) expect(t.dtype, name).toBe('float64');
    // Full double precision: 1 + 2^-40 is not representable in float32.
    const tiny = tensor([1 + 2 ** -40], undefined, 'float64');
    expect(red.sum(ew.sub(tiny, 1)).item()).toBe(2 ** -40);
  });

  it('casts both ways and across int32', () => {
    const x = tensor([1.75, -2.5], undefined, 'float64');
    expect(man.cast(x, 'int32').toArray()).toEqual([1, -2]);
    expect(man.cast(x, 'float32').dtype).toBe('float32');
    expect(man.cast(tensor([3], undefined, 'int32'), 'float64').toArray()).toEqual([3]);
    expect(man.cast(tensor([0.1]), 'float64').data[0]).toBe(Math.fround(0.1));
    expectError(() => man.cast(x, 'float16' as never), DTypeError, 'cast:', "'dtype'");
  });

  it('requireGrad takes float32 and float64, never int32', () => {
    expect(tensor([1], undefined, 'float64').requireGrad().requiresGrad).toBe(true);
    expectError(() => tensor([1], undefined, 'int32').requireGrad(), DTypeError, 'requireGrad', 'int32');
  });
});

describe('gradients across dtypes', () => {
  it('a float32 input promoted beside a float64 one gets a float32 gradient', () => {
    const a = tensor([1, 2]).requireGrad();
    const b = tensor([3, 4], undefined, 'float64').requireGrad();
    const [ga, gb] = gradients(red.sum(ew.mul(a, b)), [a, b]);
    expect(ga.dtype).toBe('float32');
    expect(vals(ga)).toEqual([3, 4]);
    expect(gb.dtype).toBe('float64');
    expect(vals(gb)).toEqual([1, 2]);
    const [gm] = gradients(red.sum(matmul(tensor([[1, 1]], undefined, 'float64'), man.reshape(a, [2, 1]))), [a]);
    expect(gm.dtype).toBe('float32');
    expect(vals(gm)).toEqual([1, 1]);
  });

  it('an int32 input promoted by a float op records nothing for it', () => {
    const w = tensor([0.5, 2]).requireGrad();
    const [g] = gradients(red.sum(ew.mul(tensor([3, 4], undefined, 'int32'), w)), [w]);
    expect(vals(g)).toEqual([3, 4]);
  });
});

describe('tapeGradCheck itself', () => {
  it('catches a wrong gradient and a non-float64 input', () => {
    // y = x^2 recorded with gradient g x (half the truth).
    const wrong = (x: Tensor) => record('bad', new Tensor(Float64Array.from(x.data, (v) => v * v), x.shape), [x], (g) => [ew.mul(g, x)]);
    expect(() => tapeGradCheck({ what: 'bad', inputs: [randF64([3], 1, 0.5, 1)], fn: wrong })).toThrow(/bad: d\/d\(input 0\)/);
    expect(() => tapeGradCheck({ what: 'f32', inputs: [tensor([1])], fn: ew.exp })).toThrow(/must be a float64 Tensor/);
  });

  it('leaves the caller inputs untouched', () => {
    const x = randF64([4], 2);
    const before = vals(x);
    tapeGradCheck({ what: 'exp', inputs: [x], fn: ew.exp });
    expect(vals(x)).toEqual(before);
    expect(x.requiresGrad).toBe(false);
  });
});
