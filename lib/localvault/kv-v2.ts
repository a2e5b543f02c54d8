import { formatDuration, parseDurationSeconds } from '../duration.js';
import {
  badRequest,
  bool,
  int,
  notFound,
  unsupportedOperation,
  unsupportedPath,
  VaultHttpError,
  type Reply,
  type VaultRequest,
} from './envelope.js';
import type { Core } from './core.js';
import type { KvMountData, KvV2Key, KvVersion } from './state.js';
import { isObject, listKeys, listReply } from './kv-keys.js';
import { kv2KeyRecords, recordKey } from './records.js';

/**
 * The KV version 2 engine, with Vault's paths, bodies and edge cases (deleted-version 404 with a
 * body, empty-list 404, check-and-set, merge-patch, metadata, delete/undelete/destroy, subkeys, config).
 */

const DEFAULT_MAX_VERSIONS = 10;

type V2 = Extract<KvMountData, { version: 2 }>;

function now(): string {
  return new Date().toISOString();
}

function isDeleted(v: KvVersion, at = Date.now()): boolean {
  return v.deletion_time !== '' && Date.parse(v.deletion_time) <= at;
}

function versionMetadata(key: KvV2Key, n: number, v: KvVersion): Record<string, unknown> {
  return {
    created_time: v.created_time,
    custom_metadata: key.custom_metadata,
    deletion_time: v.deletion_time,
    destroyed: v.destroyed,
    version: n,
  };
}

function effectiveMaxVersions(d: V2, key: KvV2Key): number {
  if (key.max_versions && d.config.max_versions) return Math.min(key.max_versions, d.config.max_versions);
  return key.max_versions || d.config.max_versions || DEFAULT_MAX_VERSIONS;
}

/** The versions list (TypeCommaIntSlice); the plugin's message differs by path (capital N on delete/undelete). */
function parseVersions(body: Record<string, unknown>, emptyMessage: string): number[] {
  const raw = body.versions;
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : typeof raw === 'number' ? [raw] : [];
  const out = list.map((x) => Number(typeof x === 'string' ? x.trim() : x)).filter((n) => Number.isInteger(n) && n > 0);
  if (out.length === 0) throw badRequest(emptyMessage);
  return out;
}

function readCas(body: Record<string, unknown>): number | undefined {
  const options = body.options;
  if (options === undefined || options === null) return undefined;
  if (!isObject(options)) throw badRequest('error converting input for field "options": expected a map');
  return int(options, 'cas');
}

function checkCas(d: V2, key: KvV2Key | undefined, cas: number | undefined): void {
  const required = d.config.cas_required || (key?.cas_required ?? false);
  if (cas === undefined) {
    if (required) throw badRequest('check-and-set parameter required for this call');
    return;
  }
  const current = key?.current_version ?? 0;
  if (cas !== current) throw badRequest('check-and-set parameter did not match the current version');
}

const CM_PREFIX = 'custom_metadata validation failed';

/** Formats errors as Go's multierror does ("1 error occurred:\n\t* ...\n\n"). */
function multiError(errors: string[]): string {
  return `${errors.length} ${errors.length === 1 ? 'error' : 'errors'} occurred:\n${errors.map((e) => `\t* ${e}`).join('\n')}\n\n`;
}

/**
 * The plugin's parseCustomMetadata + validateCustomMetadata: values are weakly converted to strings
 * (a null is "" on write and means "remove" on patch); at most 64 keys; 0 < key length <= 128;
 * 0 < value length <= 512; printable characters only.
 */
function parseCustomMetadata(raw: unknown, patch: boolean): Record<string, string | null> {
  if (!isObject(raw)) throw badRequest(`error converting input for field "custom_metadata": expected a map`);
  const out: Record<string, string | null> = Object.create(null);
  for (const [k, v] of Object.entries(raw)) {
    if (v === null) {
      out[k] = patch ? null : '';
      continue;
    }
    if (typeof v === 'object') throw badRequest(`${CM_PREFIX}: '' expected type 'string', got unconvertible type '${Array.isArray(v) ? '[]interface {}' : 'map[string]interface {}'}'`);
    out[k] = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
  }
  const entries = Object.entries(out).filter((e): e is [string, string] => e[1] !== null);
  if (entries.length > 64) throw badRequest(multiError([`${CM_PREFIX}: payload must contain at most 64 keys, provided ${entries.length}`]));
  const errors: string[] = [];
  const printable = (x: string) => !/[\u0000-\u001f\u007f]/.test(x);
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > 128) errors.push(`${CM_PREFIX}: length of key ${JSON.stringify(k)} is ${k.length} but must be 0 < len(key) <= 128`);
    if (v.length === 0 || v.length > 512) errors.push(`${CM_PREFIX}: length of value for key ${JSON.stringify(k)} is ${v.length} but must be 0 < len(value) <= 512`);
    if (!printable(k)) errors.push(`${CM_PREFIX}: key ${JSON.stringify(k)} (${k}) contains unprintable characters`);
    if (!printable(v)) errors.push(`${CM_PREFIX}: value for key ${JSON.stringify(k)} contains unprintable characters`);
  }
  if (errors.length > 0) throw badRequest(multiError(errors));
  return out;
}

function newKey(): KvV2Key {
  const t = now();
  return {
    cas_required: false,
    created_time: t,
    current_version: 0,
    delete_version_after: 0,
    max_versions: 0,
    oldest_version: 0,
    updated_time: t,
    custom_metadata: null,
    versions: new Map(),
  };
}

/** Adds a version, trimming the oldest ones beyond max_versions. */
function addVersion(core: Core, uuid: string, name: string, d: V2, key: KvV2Key, value: Record<string, unknown>): number {
  const t = now();
  const n = key.current_version + 1;
  const dva = key.delete_version_after || d.config.delete_version_after;
  key.versions.set(n, {
    created_time: t,
    deletion_time: dva > 0 ? new Date(Date.now() + dva * 1000).toISOString() : '',
    destroyed: false,
    data: structuredClone(value),
  });
  key.current_version = n;
  key.updated_time = t;
  const max = effectiveMaxVersions(d, key);
  const firstKept = n - max + 1;
  if (firstKept > 1) {
    for (const v of [...key.versions.keys()]) {
      if (v < firstKept) {
        key.versions.delete(v);
        core.touch(recordKey.kv2Version(uuid, v, name));
      }
    }
    key.oldest_version = Math.max(key.oldest_version, firstKept);
  }
  core.touch(recordKey.kv2Meta(uuid, name));
  core.touch(recordKey.kv2Version(uuid, n, name));
  return n;
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else Object.defineProperty(out, k, { value: mergePatch(out[k], v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function subkeys(value: unknown, depth: number, level = 1): unknown {
  if (!isObject(value)) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const inner = isObject(v) && (depth === 0 || level < depth) ? subkeys(v, depth, level + 1) : null;
    Object.defineProperty(out, k, { value: inner, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export function kvV2(core: Core, req: VaultRequest, uuid: string, d: V2, rest: string): Reply {
  if (rest === 'config') return kvConfig(core, req, uuid, d);
  const m = /^(data|metadata|delete|undelete|destroy|subkeys)\/(.*)$/s.exec(rest);
  if (!m) throw unsupportedPath();
  const [, area, name] = m;
  switch (area) {
    case 'data':
      return kvData(core, req, uuid, d, name);
    case 'metadata':
      return kvMetadata(core, req, uuid, d, name);
    case 'subkeys': {
      if (req.op !== 'read') throw unsupportedOperation();
      const key = d.keys.get(name);
      if (!key) throw notFound();
      const n = int(Object.fromEntries(req.query), 'version') || key.current_version;
      const v = key.versions.get(n);
      if (!v) throw notFound();
      const depth = int(Object.fromEntries(req.query), 'depth') ?? 0;
      const metadata = versionMetadata(key, n, v);
      if (v.destroyed || isDeleted(v)) throw new VaultHttpError(404, [], { status: 404, data: { subkeys: null, metadata } });
      return { data: { subkeys: subkeys(v.data, depth), metadata } };
    }
    default: {
      if (req.op !== 'write') throw unsupportedOperation();
      const versions = parseVersions(req.body, area === 'destroy' ? 'no version number provided' : 'No version number provided');
      const key = d.keys.get(name);
      if (!key) return {};
      const at = Date.now();
      const dva = key.delete_version_after || d.config.delete_version_after;
      for (const n of versions) {
        const v = key.versions.get(n);
        if (!v) continue;
        if (area === 'delete' && !v.destroyed && !isDeleted(v, at)) v.deletion_time = new Date(at).toISOString();
        // Undelete restarts the delete_version_after clock, as the plugin does.
        if (area === 'undelete' && !v.destroyed) v.deletion_time = dva > 0 ? new Date(at + dva * 1000).toISOString() : '';
        if (area === 'destroy') {
          v.destroyed = true;
          delete v.data;
          core.touch(recordKey.kv2Version(uuid, n, name));
        }
      }
      core.touch(recordKey.kv2Meta(uuid, name));
      return {};
    }
  }
}

function kvData(core: Core, req: VaultRequest, uuid: string, d: V2, name: string): Reply {
  if (req.op === 'list') throw unsupportedOperation();
  // The plugin's pattern is data/(?P<path>.*?[^/]$): no empty key, no trailing slash.
  if (name === '' || name.endsWith('/')) throw unsupportedPath();
  const key = d.keys.get(name);
  switch (req.op) {
    case 'read': {
      const q = req.query.get('version');
      let wanted = 0;
      if (q !== null && q !== '') {
        wanted = Number(q);
        if (!Number.isInteger(wanted) || wanted < 0) throw badRequest(`error converting input for field "version": cannot parse '${q}' as int`);
      }
      if (!key) throw notFound();
      const n = wanted > 0 ? wanted : key.current_version;
      const v = key.versions.get(n);
      if (!v) throw notFound();
      const metadata = versionMetadata(key, n, v);
      if (v.destroyed || isDeleted(v)) throw new VaultHttpError(404, [], { status: 404, data: { data: null, metadata } });
      return { data: { data: v.data, metadata } };
    }
    case 'write': {
      if (!('data' in req.body) || req.body.data === null || req.body.data === undefined) throw badRequest('no data provided');
      if (!isObject(req.body.data)) throw badRequest('error converting input for field "data": expected a map');
      const cas = readCas(req.body);
      checkCas(d, key, cas);
      let k = key;
      if (!k) {
        k = newKey();
        d.keys.set(name, k);
      }
      const n = addVersion(core, uuid, name, d, k, req.body.data);
      const v = k.versions.get(n)!;
      return { data: versionMetadata(k, n, v) };
    }
    case 'patch': {
      // The plugin's order: data present, key exists, check-and-set, then the current version is live.
      if (!('data' in req.body) || req.body.data === null) throw badRequest('no data provided');
      if (!isObject(req.body.data)) throw badRequest('error converting input for field "data": expected a map');
      if (!key) throw notFound();
      checkCas(d, key, readCas(req.body));
      const current = key.versions.get(key.current_version);
      if (!current) throw notFound();
      if (current.destroyed || isDeleted(current)) {
        throw new VaultHttpError(404, [], { status: 404, data: versionMetadata(key, key.current_version, current) });
      }
      const merged = mergePatch(current.data ?? {}, req.body.data) as Record<string, unknown>;
      const n = addVersion(core, uuid, name, d, key, merged);
      return { data: versionMetadata(key, n, key.versions.get(n)!) };
    }
    case 'delete': {
      if (!key) return {};
      const v = key.versions.get(key.current_version);
      if (v && !v.destroyed && !isDeleted(v)) {
        v.deletion_time = now();
        core.touch(recordKey.kv2Meta(uuid, name));
      }
      return {};
    }
    default:
      throw unsupportedOperation();
  }
}

function metadataData(key: KvV2Key): Record<string, unknown> {
  const versions: Record<string, unknown> = {};
  for (const [n, v] of key.versions) versions[String(n)] = { created_time: v.created_time, deletion_time: v.deletion_time, destroyed: v.destroyed };
  return {
    cas_required: key.cas_required,
    created_time: key.created_time,
    current_version: key.current_version,
    custom_metadata: key.custom_metadata,
    delete_version_after: formatDuration(key.delete_version_after),
    max_versions: key.max_versions,
    oldest_version: key.oldest_version,
    updated_time: key.updated_time,
    versions,
  };
}

const METADATA_FIELDS = ['max_versions', 'cas_required', 'delete_version_after', 'custom_metadata'];

/** Applies metadata fields to a key (write replaces custom_metadata; patch merges it). Returns warnings. */
function applyMetadataFields(d: V2, key: KvV2Key, body: Record<string, unknown>, patch: boolean): string[] {
  const warnings: string[] = [];
  const max = int(body, 'max_versions');
  if (max !== undefined) {
    if (max < 0) throw badRequest('max_versions must be greater than or equal to 0');
    key.max_versions = max;
  }
  const cas = bool(body, 'cas_required');
  if (cas !== undefined) {
    if (d.config.cas_required && !cas) warnings.push('"cas_required" set to false, but is mandated by backend config. This value will be ignored.');
    key.cas_required = cas;
  }
  if (body.delete_version_after !== undefined && body.delete_version_after !== null) {
    let dva: number;
    try {
      dva = parseDurationSeconds(body.delete_version_after);
    } catch (err) {
      throw badRequest(`error converting input for field "delete_version_after": ${(err as Error).message}`);
    }
    key.delete_version_after = Math.max(0, dva);
  }
  if (body.custom_metadata !== undefined && body.custom_metadata !== null) {
    const parsed = parseCustomMetadata(body.custom_metadata, patch);
    const next: Record<string, string> = Object.create(null);
    if (patch && key.custom_metadata) for (const [k, v] of Object.entries(key.custom_metadata)) next[k] = v;
    for (const [k, v] of Object.entries(parsed)) {
      if (v === null) delete next[k];
      else next[k] = v;
    }
    key.custom_metadata = Object.keys(next).length > 0 || !patch ? { ...next } : null;
  }
  return warnings;
}

function kvMetadata(core: Core, req: VaultRequest, uuid: string, d: V2, name: string): Reply {
  const key = d.keys.get(name);
  switch (req.op) {
    case 'list':
      return listReply(listKeys(d.keys.keys(), name));
    case 'read':
      if (!key) throw notFound();
      return { data: metadataData(key) };
    case 'write': {
      if (name === '' || name.endsWith('/')) throw unsupportedPath();
      // As the plugin: a write without any metadata field changes (and creates) nothing.
      if (!METADATA_FIELDS.some((f) => req.body[f] !== undefined && req.body[f] !== null)) return {};
      const k = key ?? newKey();
      const warnings = applyMetadataFields(d, k, req.body, false);
      if (!key) d.keys.set(name, k);
      core.touch(recordKey.kv2Meta(uuid, name));
      return warnings.length > 0 ? { warnings } : {};
    }
    case 'patch': {
      if (req.body.custom_metadata !== undefined && req.body.custom_metadata !== null) parseCustomMetadata(req.body.custom_metadata, true);
      if (!key) throw notFound();
      const warnings = applyMetadataFields(d, key, req.body, true);
      core.touch(recordKey.kv2Meta(uuid, name));
      return warnings.length > 0 ? { warnings } : {};
    }
    case 'delete':
      if (key) {
        for (const k of kv2KeyRecords(uuid, name, key)) core.touch(k);
        d.keys.delete(name);
      }
      return {};
    default:
      throw unsupportedOperation();
  }
}

function kvConfig(core: Core, req: VaultRequest, uuid: string, d: V2): Reply {
  if (req.op === 'read') {
    return {
      data: {
        cas_required: d.config.cas_required,
        delete_version_after: formatDuration(d.config.delete_version_after),
        max_versions: d.config.max_versions,
      },
    };
  }
  if (req.op !== 'write') throw unsupportedOperation();
  const max = int(req.body, 'max_versions');
  if (max !== undefined) {
    if (max < 0) throw badRequest('max_versions must be greater than or equal to 0');
    d.config.max_versions = max;
  }
  const cas = bool(req.body, 'cas_required');
  if (cas !== undefined) d.config.cas_required = cas;
  if (req.body.delete_version_after !== undefined) {
    try {
      d.config.delete_version_after = Math.max(0, parseDurationSeconds(req.body.delete_version_after));
    } catch (err) {
      throw badRequest(`error converting input for field "delete_version_after": ${(err as Error).message}`);
    }
  }
  core.touch(recordKey.kvConfig(uuid));
  return {};
}
