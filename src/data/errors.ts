/**
 * The errors of src/data's readers and downloads. Both extend NodegradError.
 */
import { NodegradError } from '../errors.js';

/**
 * A data file that is not what it claims to be: a wrong magic number, a truncated or oversized file, corrupt
 * gzip data, labels that do not match the images. The message starts with the reader and the file's path;
 * `file` holds the path ('<buffer>' for bytes parsed from memory).
 */
export class DataFormatError extends NodegradError {
  readonly file: string;
  constructor(op: string, file: string, message: string) {
    super(`${op}: ${file}: ${message}`);
    this.file = file;
  }
}

/** A download that failed: HTTP status, network error, truncated transfer or checksum mismatch (all mirrors tried). */
export class DownloadError extends NodegradError {
  readonly url: string;
  constructor(url: string, message: string) {
    super(message);
    this.url = url;
  }
}
