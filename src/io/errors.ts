/**
 * The errors of src/io. Both extend NodegradError, so `catch (e) { if (e instanceof NodegradError) ... }` still
 * catches everything nodegrad rejects.
 */
import { NodegradError } from '../errors.js';

/**
 * A file that is not what it claims to be: a malformed or truncated safetensors file, a checkpoint whose files
 * do not match their manifest, a model.json that does not parse. The message names the file (and the tensor,
 * where one is at fault); `file` holds the path (or '<buffer>' for bytes parsed from memory).
 */
export class FileFormatError extends NodegradError {
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.file = file;
  }
}

/** One tensor of a weights file whose shape differs from the model's variable of the same name. */
export interface ShapeMismatch {
  readonly name: string;
  readonly expected: readonly number[];
  readonly got: readonly number[];
}

/**
 * A weights file that does not fit the model: variables the file lacks (`missing`), tensors the model has no
 * variable for (`unexpected`), tensors of another shape or of a dtype that cannot become float32 (`mismatched`).
 * Thrown before any variable is written, so the model keeps its weights.
 */
export class WeightsMismatchError extends NodegradError {
  readonly file: string;
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
  readonly mismatched: readonly ShapeMismatch[];
  readonly badDtype: readonly { name: string; dtype: string }[];
  constructor(
    file: string,
    report: { missing: string[]; unexpected: string[]; mismatched: ShapeMismatch[]; badDtype: { name: string; dtype: string }[] },
  ) {
    const parts: string[] = [];
    const list = (names: string[]): string => names.map((n) => `'${n}'`).join(', ');
    if (report.missing.length) parts.push(`missing ${report.missing.length} tensor(s) the model has: ${list(report.missing)}`);
    if (report.unexpected.length) parts.push(`${report.unexpected.length} unexpected tensor(s) the model has no variable for: ${list(report.unexpected)}`);
    for (const m of report.mismatched) parts.push(`tensor '${m.name}' has shape [${m.got.join(',')}] but the model's variable has shape [${m.expected.join(',')}]`);
    for (const d of report.badDtype) parts.push(`tensor '${d.name}' has dtype ${d.dtype}, which is not a float dtype`);
    super(`${file}: weights do not fit the model (nothing was loaded): ${parts.join('; ')}`);
    this.file = file;
    this.missing = report.missing;
    this.unexpected = report.unexpected;
    this.mismatched = report.mismatched;
    this.badDtype = report.badDtype;
  }
}
