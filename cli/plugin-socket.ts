import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/** The variable the docker CLI (v25 and later) sets for its plugins (docker/cli cli-plugins/socket). */
export const PLUGIN_SOCKET_ENV = 'DOCKER_CLI_PLUGIN_SOCKET';

/**
 * Connects to the docker CLI's plugin socket and perl's stand-in for when Node cannot.
 *
 * The docker CLI listens on a Linux abstract socket named in DOCKER_CLI_PLUGIN_SOCKET (`@docker_cli_<hex>`)
 * and closes every connection to ask its plugins to stop (on SIGINT/SIGTERM when its stdout is no terminal;
 * after the third signal it kills the plugin). The Go plugin helper reads until EOF and then cancels
 * (cli-plugins/socket ConnectAndWait). Node 20's libuv (1.46) binds and connects abstract names with the
 * whole 108-byte sun_path, so it never reaches Go's exact-length name; perl (Essential on Debian) does,
 * and tells us by exiting. The helper also exits when our end of its stdin closes, so it never outlives us.
 */
const PERL_WATCHER = [
  'use Socket; use IO::Select;',
  'my $n = $ARGV[0]; $n =~ s/^@/\\0/;',
  'socket(my $s, AF_UNIX, SOCK_STREAM, 0) or exit 3;',
  'connect($s, pack_sockaddr_un($n)) or exit 3;',
  'syswrite(STDOUT, "connected\\n");',
  'my $sel = IO::Select->new($s, \\*STDIN);',
  'while (my @r = $sel->can_read) { for my $fh (@r) { my $got = sysread($fh, my $b, 64); if (!$got) { exit($fh == $s ? 0 : 4) } } }',
].join('\n');

/** Node's form of a socket address: an abstract `@name` becomes `\0name`. */
function nodeAddress(address: string): string {
  return address.startsWith('@') ? '\0' + address.slice(1) : address;
}

/** A watch of the plugin socket; dispose() stops watching without reporting a close. */
export interface PluginSocketWatch {
  /** Resolves once connected (true), or false when there is no socket to watch. */
  readonly connected: Promise<boolean>;
  dispose(): void;
}

/**
 * Watches the docker CLI's plugin socket at `address` and calls onClose once when the CLI closes it.
 * An older docker CLI (20.10) sets no address, and the plugin then relies on signals alone. An address
 * where nothing listens means the CLI closed it already (it listens until then): reported as a close.
 */
export function watchPluginSocket(address: string, onClose: () => void): PluginSocketWatch {
  let disposed = false;
  let stop: () => void = () => {};
  const closed = () => {
    if (!disposed) {
      disposed = true;
      onClose();
    }
  };
  // node:net and node:child_process are loaded here, by the commands that watch, not at every start.
  const connected = import('node:net').then(
    ({ connect }) =>
      new Promise<boolean>((resolve) => {
        if (disposed) return resolve(false);
        const socket = connect(nodeAddress(address));
        socket.unref();
        stop = () => socket.destroy();
        socket.once('connect', () => {
          resolve(true);
          socket.on('data', () => {});
          socket.once('close', closed);
        });
        socket.once('error', () => {
          socket.destroy();
          if (disposed || !address.startsWith('@')) return resolve(false);
          resolve(watchWithPerl(address, closed, () => disposed, (s) => (stop = s)));
        });
      }),
  );
  return {
    connected,
    dispose() {
      disposed = true;
      stop();
    },
  };
}

async function watchWithPerl(address: string, closed: () => void, isDisposed: () => boolean, setStop: (stop: () => void) => void): Promise<boolean> {
  const { spawn } = await import('node:child_process');
  if (isDisposed()) return false;
  return new Promise((resolve) => {
    let child: ChildProcessByStdio<Writable, Readable, null>;
    try {
      child = spawn('perl', ['-e', PERL_WATCHER, address], { stdio: ['pipe', 'pipe', 'ignore'] });
    } catch {
      return resolve(false);
    }
    const helper = child;
    let isConnected = false;
    helper.unref();
    (helper.stdin as unknown as { unref(): void }).unref();
    (helper.stdout as unknown as { unref(): void }).unref();
    setStop(() => {
      helper.stdin?.destroy();
      helper.kill();
    });
    helper.once('error', () => resolve(false));
    helper.stdout.on('data', (chunk: Buffer) => {
      if (!isConnected && chunk.toString().includes('connected')) {
        isConnected = true;
        resolve(true);
      }
    });
    helper.once('exit', (code) => {
      // 0: the CLI closed the socket; 3: nothing listens there any more, because the CLI (which
      // listens until it closes) closed it before we connected: the same request, only earlier.
      if ((isConnected && code === 0) || code === 3) closed();
      resolve(false);
    });
  });
}
