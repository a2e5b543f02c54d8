import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/**
 * A stand-in for the docker CLI's side of DOCKER_CLI_PLUGIN_SOCKET (docker/cli cli-plugins/socket
 * NewPluginServer): a Linux abstract socket `@docker_cli_<32 hex>` bound with Go's exact-length
 * address, which accepts plugin connections and closes them all when told (what the CLI does on
 * SIGINT/SIGTERM). Perl binds it, because Node 20 cannot bind an abstract name of exact length.
 */
export interface FakePluginParent {
  /** The value of DOCKER_CLI_PLUGIN_SOCKET. */
  address: string;
  /** Resolves once `n` connections in all were accepted. */
  accepted(n?: number): Promise<void>;
  /** Closes every accepted connection (the plugin should read EOF) and stops accepting. */
  close(): Promise<void>;
  dispose(): void;
}

const PERL_PARENT = [
  'use Socket; use IO::Select; $| = 1;',
  'my $n = $ARGV[0]; $n =~ s/^@/\\0/;',
  'socket(my $l, AF_UNIX, SOCK_STREAM, 0) or die "socket: $!";',
  'bind($l, pack_sockaddr_un($n)) or die "bind: $!"; listen($l, 8) or die "listen: $!";',
  'print "listening\\n"; my $sel = IO::Select->new($l, \\*STDIN); my @conns;',
  'while (1) { for my $fh ($sel->can_read) {',
  '  if ($fh == $l) { accept(my $c, $l); push @conns, $c; print "accepted\\n"; next }',
  '  my $line = <STDIN>; exit 0 unless defined $line;',
  '  if ($line =~ /close/) { close($_) for @conns; @conns = (); $sel->remove($l); close($l); print "closed\\n" }',
  '} }',
].join('\n');

/** Starts the fake parent; dispose() ends it. */
export async function startFakePluginParent(): Promise<FakePluginParent> {
  const address = `@docker_cli_${randomBytes(16).toString('hex')}`;
  const child: ChildProcess = spawn('perl', ['-e', PERL_PARENT, address], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { test: () => boolean; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) if (w.test()) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  };
  child.stdout!.on('data', (d) => ((out += d), check()));
  child.stderr!.on('data', (d) => (err += d));
  const until = (what: string, test: () => boolean, ms = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fake plugin parent: no "${what}" within ${ms} ms (${err.trim()})`)), ms);
      waiters.push({ test, resolve: () => (clearTimeout(timer), resolve()) });
      check();
    });
  const count = (word: string) => out.split('\n').filter((l) => l === word).length;
  await until('listening', () => count('listening') === 1);
  return {
    address,
    accepted: (n = 1) => until(`accepted x${n}`, () => count('accepted') >= n),
    async close() {
      child.stdin!.write('close\n');
      await until('closed', () => count('closed') === 1);
    },
    dispose() {
      child.stdin!.end();
      child.kill();
    },
  };
}
