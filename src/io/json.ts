/**
 * A strict JSON parser (RFC 8259) for file headers. JSON.parse is not enough there: it keeps the last of two
 * equal keys silently (a safetensors header naming one tensor twice would lose one), and turns `4.0` into 4.
 * This parser rejects duplicate keys in any object and, with `integersOnly`, any number that is not a
 * non-negative or negative integer literal within Number.MAX_SAFE_INTEGER. Errors give the byte offset.
 */

export class JsonSyntaxError extends Error {
  /** Offset in the text (UTF-16 units; equal to bytes for ASCII headers). */
  readonly offset: number;
  /** For a duplicate key: the key and the nesting depth of its object (0: the top-level object). */
  readonly duplicate?: { key: string; depth: number };
  constructor(message: string, offset: number, duplicate?: { key: string; depth: number }) {
    super(`${message} at offset ${offset}`);
    this.offset = offset;
    if (duplicate) this.duplicate = duplicate;
  }
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface StrictJsonOptions {
  /** Reject fractions, exponents and integers beyond Number.MAX_SAFE_INTEGER. */
  integersOnly?: boolean;
}

export function parseStrictJson(text: string, opts: StrictJsonOptions = {}): JsonValue {
  let i = 0;
  const n = text.length;
  const integersOnly = opts.integersOnly ?? false;

  const fail = (msg: string, at = i): never => {
    throw new JsonSyntaxError(msg, at);
  };
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const describe = (): string => (i >= n ? 'end of input' : `'${text[i]}'`);

  const parseString = (): string => {
    // text[i] === '"'
    const start = ++i;
    let out = '';
    let chunk = start;
    while (true) {
      if (i >= n) fail('unterminated string', start - 1);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(chunk, i);
        i++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        out += text.slice(chunk, i);
        const e = text[i + 1];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            const hex = text.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
            out += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            fail('bad escape in string');
        }
        i += 2;
        chunk = i;
        continue;
      }
      i++;
    }
  };

  const parseNumber = (): number => {
    const start = i;
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else if (text[i] >= '1' && text[i] <= '9') while (text[i] >= '0' && text[i] <= '9') i++;
    else fail('bad number', start);
    let integer = true;
    if (text[i] === '.') {
      integer = false;
      i++;
      if (!(text[i] >= '0' && text[i] <= '9')) fail('bad number', start);
      while (text[i] >= '0' && text[i] <= '9') i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      integer = false;
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!(text[i] >= '0' && text[i] <= '9')) fail('bad number', start);
      while (text[i] >= '0' && text[i] <= '9') i++;
    }
    const token = text.slice(start, i);
    const value = Number(token);
    if (integersOnly) {
      if (!integer) fail(`number ${token} is not an integer`, start);
      if (!Number.isSafeInteger(value)) fail(`integer ${token} is too large`, start);
    }
    return value;
  };

  const literal = (word: string, value: JsonValue): JsonValue => {
    if (text.startsWith(word, i)) {
      i += word.length;
      return value;
    }
    return fail(`unexpected ${describe()}`);
  };

  // Iterative over nesting depth would be safer for adversarial input; headers are shallow, so cap the depth.
  const MAX_DEPTH = 64;
  const parseValue = (depth: number): JsonValue => {
    ws();
    if (i >= n) fail('unexpected end of input');
    const c = text[i];
    if (c === '{') {
      if (depth >= MAX_DEPTH) fail('nesting too deep');
      i++;
      const obj: { [key: string]: JsonValue } = Object.create(null) as { [key: string]: JsonValue };
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      while (true) {
        ws();
        if (text[i] !== '"') fail(`expected a string key, got ${describe()}`);
        const keyAt = i;
        const key = parseString();
        if (seen.has(key)) throw new JsonSyntaxError(`duplicate key ${JSON.stringify(key)}`, keyAt, { key, depth });
        seen.add(key);
        ws();
        if (text[i] !== ':') fail(`expected ':' after key ${JSON.stringify(key)}, got ${describe()}`);
        i++;
        obj[key] = parseValue(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail(`expected ',' or '}', got ${describe()}`);
      }
    }
    if (c === '[') {
      if (depth >= MAX_DEPTH) fail('nesting too deep');
      i++;
      const arr: JsonValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      while (true) {
        arr.push(parseValue(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail(`expected ',' or ']', got ${describe()}`);
      }
    }
    if (c === '"') return parseString();
    if (c === '-' || (c >= '0' && c <= '9')) return parseNumber();
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    return fail(`unexpected ${describe()}`);
  };

  const value = parseValue(0);
  ws();
  if (i < n) fail(`unexpected ${describe()} after the JSON value`);
  return value;
}

export function isJsonObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
