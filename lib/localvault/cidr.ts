import net from 'node:net';

/**
 * CIDR lists as Vault's AppRole binds them (secret_id_bound_cidrs, token_bound_cidrs, cidr_list):
 * validation with a reason, and whether a remote address belongs to one of the blocks.
 */

/** Splits "a/b" into address and prefix; a bare address is a /32 (/128). Throws with a reason. */
function parseCidr(cidr: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address, prefixText] = cidr.split('/', 2);
  const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
  if (!family) throw new Error(`invalid CIDR address: ${cidr}`);
  const max = family === 'ipv4' ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d+$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) throw new Error(`invalid CIDR address: ${cidr}`);
  return { address, prefix, family };
}

/** Validates a CIDR list; throws Error naming the first bad block. */
export function validateCidrs(cidrs: string[]): void {
  for (const c of cidrs) parseCidr(c);
}

/** Whether an address (IPv4-mapped IPv6 counts as IPv4) is inside any of the blocks. */
export function ipInCidrs(remote: string, cidrs: string[]): boolean {
  const addr = remote.startsWith('::ffff:') && net.isIPv4(remote.slice(7)) ? remote.slice(7) : remote;
  const family = net.isIPv4(addr) ? 'ipv4' : net.isIPv6(addr) ? 'ipv6' : undefined;
  if (!family) return false;
  const list = new net.BlockList();
  for (const c of cidrs) {
    try {
      const { address, prefix, family: f } = parseCidr(c);
      list.addSubnet(address, prefix, f);
    } catch {
      // A block that does not parse matches nothing.
    }
  }
  return list.check(addr, family);
}
