/** The colours renderers use; no-ops without colour. */
export interface Palette {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  dim(text: string): string;
}

const plain = (text: string) => text;
const NO_COLOR_PALETTE: Palette = { red: plain, green: plain, yellow: plain, cyan: plain, dim: plain };

/** Where a command's output goes: data to stdout, messages for people to stderr. */
export interface Output {
  /** Data (a secret value, JSON, a table): stdout, written as is. */
  data(text: string | Uint8Array): void;
  /** Structured data as pretty JSON on stdout. */
  json(value: unknown): void;
  info(message: string): void;
  success(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A step of a long operation: on a TTY it shows progress, otherwise one line when it ends. */
  step<T>(title: string, work: () => Promise<T>, done?: (result: T) => string): Promise<T>;
  /** Colours for renderers (no-ops without colour). */
  readonly color: Palette;
  readonly isTTY: boolean;
}

export interface OutputStreams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Colour on; decided by `shouldUseColor`. */
  color: boolean;
}

/** Colour only on a TTY, never with NO_COLOR (https://no-color.org) or TERM=dumb. */
export function shouldUseColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return Boolean(stream.isTTY);
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Creates the output of one CLI run. The palette lives here and nowhere else; chalk is loaded only
 * with colour on (a terminal): it imports node:process, which opens stdin, stdout and stderr.
 */
export async function createOutput({ stdout, stderr, color }: OutputStreams): Promise<Output> {
  const c: Palette = color ? new (await import('chalk')).Chalk({ level: 1 }) : NO_COLOR_PALETTE;
  const isTTY = Boolean(stderr.isTTY);
  const line = (text: string) => stderr.write(text + '\n');
  return {
    data: (text) => stdout.write(text),
    json: (value) => stdout.write(JSON.stringify(value, null, 2) + '\n'),
    info: (m) => line(m),
    success: (m) => line(`${c.green('✔')} ${m}`),
    warn: (m) => line(`${c.yellow('warning:')} ${m}`),
    error: (m) => line(`${c.red('error:')} ${m}`),
    color: c,
    isTTY,
    async step(title, work, done) {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      if (isTTY) {
        let frame = 0;
        const draw = () => stderr.write(`\r\x1b[2K${c.cyan(SPINNER[frame++ % SPINNER.length])} ${title}`);
        draw();
        timer = setInterval(draw, 80);
      }
      const clear = () => {
        if (timer) clearInterval(timer);
        if (isTTY) stderr.write('\r\x1b[2K');
      };
      try {
        const result = await work();
        clear();
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        line(`${c.green('✔')} ${done ? done(result) : title} ${c.dim(`(${secs}s)`)}`);
        return result;
      } catch (err) {
        clear();
        line(`${c.red('✖')} ${title}`);
        throw err;
      }
    },
  };
}

/** Renders rows as an aligned text table with a header. */
export function renderTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}
