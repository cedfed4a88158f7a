/**
 * Progress output of fit, as Keras' progress bar.
 *
 * verbose 1 on a TTY: "Epoch 3/10" then a bar redrawn in place (carriage return, at most every 50 ms) with the
 * running loss and metrics and an ETA, finished with the epoch's time, time per step and validation values:
 *
 *   Epoch 3/10
 *   12/32 [========>.....................] - ETA: 2s - loss: 0.4512 - accuracy: 0.8750
 *   32/32 [==============================] - 3s 94ms/step - loss: 0.4102 - accuracy: 0.8906 - val_loss: 0.3911 - val_accuracy: 0.9000
 *
 * verbose 2, or verbose 1 when the stream is not a TTY (CI logs, files): one line per epoch,
 *
 *   Epoch 3/10 - 32/32 - 3s - 94ms/step - loss: 0.4102 - accuracy: 0.8906 - val_loss: 0.3911 - val_accuracy: 0.9000
 *
 * Values print as Keras: 4 decimals, or 4-digit scientific notation when |v| <= 1e-3.
 */
import { Callback, type Logs } from './callbacks.js';

/** Where progress goes: process.stdout by default. */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  /** 1: a bar on a TTY, one line per epoch otherwise; 2: one line per epoch. */
  verbose?: 1 | 2;
  stream?: ProgressStream;
  /** Milliseconds (default performance.now), injectable for tests. */
  now?: () => number;
  /** Minimum ms between redraws of the bar (default 50). */
  interval?: number;
  /** Bar width in characters (default 30). */
  width?: number;
}

/** "0.4512", or "1.2346e-05" for |v| <= 1e-3, as Keras prints log values. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v).toLowerCase().replace('infinity', 'inf');
  if (Math.abs(v) > 1e-3) return v.toFixed(4);
  return v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** " - loss: 0.4512 - accuracy: 0.8750" */
export function formatLogs(logs: Logs): string {
  let s = '';
  for (const [k, v] of Object.entries(logs)) s += ` - ${k}: ${formatValue(v)}`;
  return s;
}

/** "94ms/step" (Keras: s, ms or us per step). */
export function formatPerStep(seconds: number): string {
  if (seconds >= 1) return `${Math.round(seconds)}s/step`;
  if (seconds >= 1e-3) return `${Math.round(seconds * 1e3)}ms/step`;
  return `${Math.round(seconds * 1e6)}us/step`;
}

/** "2s", "1:05", "1:02:03" (Keras' ETA). */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s > 3600) return `${Math.floor(s / 3600)}:${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`;
  if (s > 60) return `${Math.floor(s / 60)}:${pad2(s % 60)}`;
  return `${s}s`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** "12/32 [========>.....................]" */
export function formatBar(current: number, target: number | null, width = 30): string {
  if (target === null) return `${current}/Unknown`;
  const digits = String(target).length;
  let bar = `${String(current).padStart(digits)}/${target} [`;
  const done = Math.floor((width * Math.min(current, target)) / Math.max(target, 1));
  if (done > 0) bar += '='.repeat(done - 1) + (current < target ? '>' : '=');
  bar += '.'.repeat(width - done) + ']';
  return bar;
}

export class ProgressLogger extends Callback {
  readonly verbose: 1 | 2;
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly interval: number;
  private readonly width: number;
  private epochStart = 0;
  private lastDraw = -Infinity;
  private seen = 0;
  private lineWidth = 0;
  private epochIndex = 0;

  constructor(options: ProgressOptions = {}) {
    super();
    this.verbose = options.verbose ?? 1;
    this.stream = options.stream ?? process.stdout;
    this.now = options.now ?? (() => performance.now());
    this.interval = options.interval ?? 50;
    this.width = options.width ?? 30;
  }

  /** Whether the bar is redrawn in place (verbose 1 on a TTY). */
  get live(): boolean {
    return this.verbose === 1 && this.stream.isTTY === true;
  }

  private get target(): number | null {
    return this.params?.steps ?? null;
  }
  private get epochs(): number {
    return this.params?.epochs ?? 0;
  }

  override onEpochBegin(epoch: number): void {
    this.epochIndex = epoch;
    this.epochStart = this.now();
    this.lastDraw = -Infinity;
    this.seen = 0;
    this.lineWidth = 0;
    if (this.live) this.stream.write(`Epoch ${epoch + 1}/${this.epochs}\n`);
  }

  override onBatchEnd(batch: number, logs: Logs = {}): void {
    this.seen = batch + 1;
    if (!this.live) return;
    const t = this.now();
    const target = this.target;
    if (t - this.lastDraw < this.interval && (target === null || this.seen < target)) return;
    this.lastDraw = t;
    const elapsed = (t - this.epochStart) / 1000;
    const perStep = elapsed / this.seen;
    let line = formatBar(this.seen, target, this.width);
    if (target !== null && this.seen < target) line += ` - ETA: ${formatEta(perStep * (target - this.seen))}`;
    else line += ` - ${Math.floor(elapsed)}s ${formatPerStep(perStep)}`;
    this.draw(line + formatLogs(logs));
  }

  /** The bar reads the logs only while it draws them (lazy logs then cost a read-back only when drawn). */
  override keepsBatchLogs(): boolean {
    return false;
  }

  override onEpochEnd(_epoch: number, logs: Logs = {}): void {
    const elapsed = (this.now() - this.epochStart) / 1000;
    const steps = this.seen;
    const perStep = steps > 0 ? elapsed / steps : 0;
    const target = this.target ?? steps;
    if (this.live) {
      this.draw(`${formatBar(steps, target, this.width)} - ${Math.floor(elapsed)}s ${formatPerStep(perStep)}${formatLogs(logs)}`);
      this.stream.write('\n');
      this.lineWidth = 0;
      return;
    }
    this.stream.write(
      `Epoch ${this.epochIndex + 1}/${this.epochs} - ${steps}/${target} - ${Math.floor(elapsed)}s - ${formatPerStep(perStep)}${formatLogs(logs)}\n`,
    );
  }

  /** Ends a half-drawn bar line (fit calls it when training fails mid-epoch). */
  interrupt(): void {
    if (this.live && this.lineWidth > 0) this.stream.write('\n');
    this.lineWidth = 0;
  }

  private draw(line: string): void {
    const padding = this.lineWidth > line.length ? ' '.repeat(this.lineWidth - line.length) : '';
    this.stream.write(`\r${line}${padding}`);
    this.lineWidth = line.length;
  }
}
