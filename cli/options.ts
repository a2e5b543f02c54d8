import { Option } from 'commander';

/** The `--format` option of a command that prints structured data. */
export function formatOption(choices: string[] = ['text', 'json'], fallback = choices[0]): Option {
  return new Option('--format <format>', 'output format').choices(choices).default(fallback);
}

/** Renders rows as an aligned text table with a header. */
export function renderTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}
