// The fenced code blocks of the README and docs/, for the tests that compile and run them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './built-package';

/** One fenced block. */
export interface DocSnippet {
  /** The Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line in `file` of the block's first code line. */
  line: number;
  /** The info string's language (`ts`, `sh`, `proto`, …). */
  language: string;
  /** A `ts fragment` block, or one whose first line is `// fragment`: a deliberate excerpt. */
  fragment: boolean;
  code: string;
}

const TYPESCRIPT = new Set(['ts', 'typescript']);

/** README.md and every Markdown file under docs/, in a stable order. */
export function documentationFiles(): string[] {
  const files = ['README.md'];
  const walk = (dir: string) => {
    for (const name of readdirSync(path.join(REPO_ROOT, dir)).sort()) {
      const relative = path.join(dir, name);
      if (statSync(path.join(REPO_ROOT, relative)).isDirectory()) walk(relative);
      else if (name.endsWith('.md')) files.push(relative);
    }
  };
  walk('docs');
  return files;
}

/** Every fenced block of `file` (relative to the repository root). */
export function snippetsOf(file: string): DocSnippet[] {
  const lines = readFileSync(path.join(REPO_ROOT, file), 'utf8').split('\n');
  const snippets: DocSnippet[] = [];
  let open: { line: number; info: string[]; code: string[] } | null = null;
  lines.forEach((text, index) => {
    const fence = /^```(.*)$/.exec(text);
    if (open === null) {
      if (fence) open = { line: index + 2, info: fence[1]!.trim().split(/\s+/), code: [] };
      return;
    }
    if (fence && fence[1]!.trim() === '') {
      const language = open.info[0] ?? '';
      const code = `${open.code.join('\n')}\n`;
      const fragment =
        open.info.includes('fragment') || (TYPESCRIPT.has(language) && /^\/\/ fragment\b/.test(code));
      snippets.push({ file, line: open.line, language, fragment, code });
      open = null;
      return;
    }
    open.code.push(text);
  });
  if (open !== null)
    throw new Error(`${file}: unclosed code block from line ${(open as { line: number }).line - 1}`);
  return snippets;
}

/** Every TypeScript block of the README and docs/. */
export function typescriptSnippets(): DocSnippet[] {
  return documentationFiles()
    .flatMap(snippetsOf)
    .filter((s) => TYPESCRIPT.has(s.language));
}
