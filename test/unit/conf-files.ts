// Readers of the rendered config files as the software reads them, so tests assert what takes
// effect (a commented-out line is gone), not what the text contains.

/**
 * `name = value` settings of a postgresql.conf or pgpool.conf (both use PostgreSQL's grammar:
 * `#` comments, optional `=`, single-quoted strings with `''`). Values keep their quotes as
 * written. A line it cannot read, or a setting made twice, throws.
 */
export function confSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const [i, line] of text.split("\n").entries()) {
    if (/^\s*(#.*)?$/.test(line)) continue;
    const match = /^\s*([A-Za-z_][\w.]*)\s*=?\s*('(?:[^']|'')*'|[^\s#']+)\s*(#.*)?$/.exec(line);
    if (!match) throw new Error(`line ${i + 1} is not a setting: ${line}`);
    if (settings.has(match[1])) throw new Error(`${match[1]} set twice (line ${i + 1})`);
    settings.set(match[1], match[2]);
  }
  return settings;
}

/** One nginx directive: `name args…;` or `name args… { block }`. */
export interface Directive {
  readonly name: string;
  readonly args: string[];
  readonly block?: Directive[];
}

/**
 * nginx's config grammar, as much as the rendered nginx.conf uses: words and quoted strings
 * (quotes removed, `\n`-style escapes applied), `#` comments to the end of the line, `;`, `{`, `}`.
 * Unbalanced braces or a directive without `;` throw.
 */
export function parseNginx(text: string): Directive[] {
  const tokens = nginxTokens(text);
  let at = 0;
  function list(nested: boolean): Directive[] {
    const directives: Directive[] = [];
    for (;;) {
      const token = tokens[at];
      if (token === undefined) {
        if (nested) throw new Error("nginx config: '}' missing at the end");
        return directives;
      }
      if (token.punct === "}") {
        if (!nested) throw new Error("nginx config: '}' without '{'");
        at++;
        return directives;
      }
      const words: string[] = [];
      while (tokens[at] !== undefined && tokens[at].punct === undefined)
        words.push(tokens[at++].word!);
      const end = tokens[at++];
      if (words.length === 0 || end?.punct === undefined || end.punct === "}") {
        throw new Error(`nginx config: a directive without ';' near ${JSON.stringify(words)}`);
      }
      const [name, ...args] = words;
      directives.push(end.punct === "{" ? { name, args, block: list(true) } : { name, args });
    }
  }
  return list(false);
}

interface Token {
  readonly word?: string;
  readonly punct?: ";" | "{" | "}";
}

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t" };

function nginxTokens(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === ";" || c === "{" || c === "}") {
      tokens.push({ punct: c });
      i++;
    } else if (c === '"' || c === "'") {
      let word = "";
      for (i++; text[i] !== c; i++) {
        if (i >= text.length) throw new Error("nginx config: unterminated quoted string");
        if (text[i] === "\\" && i + 1 < text.length) {
          i++;
          word += ESCAPES[text[i]] ?? text[i];
        } else {
          word += text[i];
        }
      }
      tokens.push({ word });
      i++;
    } else {
      const start = i;
      while (i < text.length && !/[\s;{}]/.test(text[i])) i++;
      tokens.push({ word: text.slice(start, i) });
    }
  }
  return tokens;
}

/** The directives named `name` directly in `directives`. */
export function named(directives: readonly Directive[], name: string): Directive[] {
  return directives.filter((d) => d.name === name);
}

/** The block of the one directive `name args…` in `directives`; throws unless exactly one. */
export function blockOf(directives: readonly Directive[], name: string, ...args: string[]) {
  const found = directives.filter(
    (d) => d.name === name && d.block !== undefined && args.every((a, i) => d.args[i] === a),
  );
  if (found.length !== 1) {
    throw new Error(`${found.length} blocks "${[name, ...args].join(" ")}", expected one`);
  }
  return found[0].block!;
}

/**
 * The args of each `name` directive in effect at the innermost of `levels` (outermost first),
 * by nginx's rule for array directives (`add_header`, `proxy_set_header`, `proxy_hide_header`):
 * a level inherits its parent's only if it has none of its own.
 */
export function inEffect(levels: readonly (readonly Directive[])[], name: string): string[][] {
  for (const level of [...levels].reverse()) {
    const own = named(level, name);
    if (own.length > 0) return own.map((d) => d.args);
  }
  return [];
}
