#!/usr/bin/env node
/**
 * Builds assets/fashion-mnist-subset/: the embedded default data of `datasets.fashionMnist({ subset: 'embedded' })`.
 *
 *   node scripts/make-fmnist-subset.mjs [sourceDir] [outDir]
 *
 * sourceDir (default /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist) holds the four official
 * IDX files, gzipped or not. The subset is stratified and deterministic: walking each split in file order, an
 * image is taken while its class has fewer than TRAIN_PER_CLASS (train) or TEST_PER_CLASS (test) images, so the
 * result is the first 350 training and the first 100 test images of every class, in their original order.
 * Files are written as gzipped IDX (level 9, no name or time in the gzip header: the same bytes on every run).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const TRAIN_PER_CLASS = 350;
const TEST_PER_CLASS = 100;
const CLASSES = 10;

const root = fileURLToPath(new URL('..', import.meta.url));
const src = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const out = process.argv[3] ?? join(root, 'assets', 'fashion-mnist-subset');

function readIdxBytes(name) {
  for (const f of [`${name}.gz`, name]) {
    const p = join(src, f);
    if (existsSync(p)) {
      const raw = readFileSync(p);
      return raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
    }
  }
  throw new Error(`${name}(.gz) not found in ${src} (install Debian's dataset-fashion-mnist or pass the folder of the official files)`);
}

function header(bytes, name, ndim) {
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08 || bytes[3] !== ndim) throw new Error(`${name}: not a uint8 IDX file of ${ndim} dimensions`);
  return Array.from({ length: ndim }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
}

function subset(prefix, perClass) {
  const imgName = `${prefix}-images-idx3-ubyte`;
  const labName = `${prefix}-labels-idx1-ubyte`;
  const img = readIdxBytes(imgName);
  const lab = readIdxBytes(labName);
  const [n, h, w] = header(img, imgName, 3);
  const [m] = header(lab, labName, 1);
  if (n !== m) throw new Error(`${imgName} has ${n} images but ${labName} has ${m} labels`);
  const counts = new Array(CLASSES).fill(0);
  const picked = [];
  for (let i = 0; i < n && picked.length < perClass * CLASSES; i++) {
    const c = lab[8 + i];
    if (counts[c] < perClass) {
      counts[c]++;
      picked.push(i);
    }
  }
  if (picked.length !== perClass * CLASSES) throw new Error(`${prefix}: only ${picked.length} images found for ${perClass} per class`);
  const px = h * w;
  const imgOut = Buffer.alloc(16 + picked.length * px);
  imgOut.writeUInt32BE(0x00000803, 0);
  imgOut.writeUInt32BE(picked.length, 4);
  imgOut.writeUInt32BE(h, 8);
  imgOut.writeUInt32BE(w, 12);
  const labOut = Buffer.alloc(8 + picked.length);
  labOut.writeUInt32BE(0x00000801, 0);
  labOut.writeUInt32BE(picked.length, 4);
  picked.forEach((s, k) => {
    img.copy(imgOut, 16 + k * px, 16 + s * px, 16 + (s + 1) * px);
    labOut[8 + k] = lab[8 + s];
  });
  const files = [[`${imgName}.gz`, imgOut], [`${labName}.gz`, labOut]];
  for (const [f, bytes] of files) writeFileSync(join(out, f), gzipSync(bytes, { level: 9 }));
  return { prefix, images: picked.length, lastSourceIndex: picked[picked.length - 1] };
}

mkdirSync(out, { recursive: true });
const report = [subset('train', TRAIN_PER_CLASS), subset('t10k', TEST_PER_CLASS)];
for (const r of report) console.log(`${r.prefix}: ${r.images} images (${r.images / CLASSES} per class), the first of each class up to source index ${r.lastSourceIndex}`);
console.log(`written to ${out}`);
