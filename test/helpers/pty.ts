import { spawn } from 'node:child_process';

/**
 * Runs a shell command on a pseudo-terminal (util-linux `script`) and types `keys` into it, one
 * string after each delay, as a person at a terminal would. Resolves to the exit code and the
 * terminal's output (with escape sequences).
 */
export function runOnPty(command: string, keys: { after: number; text: string }[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, ...env, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    let at = 0;
    for (const key of keys) {
      at += key.after;
      setTimeout(() => child.stdin.write(key.text), at);
    }
    // Keep stdin open until the command ends; closing it would end the terminal session.
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      child.stdin.end();
      resolve({ code: code ?? -1, output });
    });
  });
}
