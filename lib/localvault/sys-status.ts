import { badRequest, type Reply, type VaultRequest } from './envelope.js';
import type { Core } from './core.js';
import { STORE_BUILD_DATE, STORE_VERSION } from './version.js';

/**
 * Unauthenticated status endpoints: sys/health, sys/seal-status, sys/init, sys/leader.
 * The store is always initialized, unsealed and active (like `vault server -dev`).
 */

function codeParam(req: VaultRequest, name: string, fallback: number): number {
  const v = req.query.get(name);
  if (v === null || v === '') return fallback;
  if (!/^\d+$/.test(v)) throw badRequest(`strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
}

/** GET|HEAD sys/health. The status follows `activecode` (default 200), as an active node does. */
export function sysHealth(core: Core, req: VaultRequest): Reply {
  // standbyok, perfstandbyok, sealedcode, uninitcode, ... are validated but never apply: we are active.
  for (const name of ['standbycode', 'drsecondarycode', 'performancestandbycode', 'sealedcode', 'uninitcode', 'perfstandbyokcode']) codeParam(req, name, 0);
  const status = codeParam(req, 'activecode', 200);
  return {
    status,
    raw: {
      initialized: true,
      sealed: false,
      standby: false,
      performance_standby: false,
      replication_performance_mode: 'disabled',
      replication_dr_mode: 'disabled',
      server_time_utc: Math.floor(Date.now() / 1000),
      version: STORE_VERSION,
      enterprise: false,
      cluster_name: core.state.clusterName,
      cluster_id: core.state.clusterId,
      echo_duration_ms: 0,
      clock_skew_ms: 0,
      replication_primary_canary_age_ms: 0,
      removed_from_cluster: false,
    },
  };
}

/** GET sys/seal-status. */
export function sysSealStatus(core: Core): Reply {
  return {
    raw: {
      type: 'shamir',
      initialized: true,
      sealed: false,
      t: 1,
      n: 1,
      progress: 0,
      nonce: '',
      version: STORE_VERSION,
      build_date: STORE_BUILD_DATE,
      migration: false,
      cluster_name: core.state.clusterName,
      cluster_id: core.state.clusterId,
      recovery_seal: false,
      storage_type: 'file',
      removed_from_cluster: false,
    },
  };
}

/** GET sys/init; PUT answers as a dev server does. */
export function sysInit(_core: Core, req: VaultRequest): Reply {
  if (req.op === 'read') return { raw: { initialized: true } };
  throw badRequest('Vault is already initialized');
}

/** GET sys/leader: no HA. */
export function sysLeader(): Reply {
  return {
    raw: {
      ha_enabled: false,
      is_self: false,
      active_time: '0001-01-01T00:00:00Z',
      leader_address: '',
      leader_cluster_address: '',
      performance_standby: false,
      performance_standby_last_remote_wal: 0,
    },
  };
}
