import { UsageError } from '../errors.js';

/**
 * Docker's legacy volume plugin protocol (protocols.md §2): the wire types, the route table and
 * the `VolumeDriver` interface behind it. Docker's PascalCase field names appear only in this file;
 * everything behind `VolumeDriver` uses our own camelCase types.
 */

/** The answer to `/Plugin.Activate`: dockerd matches the string exactly. */
export const PLUGIN_MANIFEST = { Implements: ['VolumeDriver'] } as const;

/** The content type the go-plugins-helpers SDK answers with (dockerd does not check it). */
export const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1.1+json';

/** Our private route for `driver status`; dockerd never calls it. */
export const STATUS_ROUTE = '/SecretFS.Status';

/** One volume as the driver describes it. */
export interface VolumeInfo {
  name: string;
  /** Present only while the volume is mounted. */
  mountpoint?: string;
  /** RFC 3339. */
  createdAt?: string;
  /** Shown by `docker volume inspect` under Status; never holds a token or a secret. */
  status?: Record<string, unknown>;
}

/** One volume in the private status report. */
export interface VolumeStatus {
  name: string;
  path: string;
  mounted: boolean;
  /** Outstanding Mount calls (each is balanced by an Unmount). */
  refCount: number;
  /** Distinct mount IDs (one per container and destination). */
  mountIds: number;
  mountpoint: string;
  tokenSource: string;
  /** The policies of the volume's token (names, never the token). */
  policies: string[];
  /** Set when the volume's token cannot be re-minted without widening it: why, and what to do. */
  needsToken?: string;
  createdAt: string;
}

/** What the private status route reports. */
export interface DriverStatusReport {
  pid: number;
  volumes: VolumeStatus[];
}

/** The volume driver behind the protocol; errors are thrown (SecretfsError for expected ones). */
export interface VolumeDriver {
  create(name: string, opts: Record<string, string>): Promise<void>;
  remove(name: string): Promise<void>;
  /** Returns the host directory dockerd bind-mounts into the container. */
  mount(name: string, id: string): Promise<string>;
  unmount(name: string, id: string): Promise<void>;
  /** The mountpoint while mounted, otherwise undefined. */
  path(name: string): Promise<string | undefined>;
  get(name: string): Promise<VolumeInfo>;
  list(): Promise<VolumeInfo[]>;
  capabilities(): { scope: 'local' | 'global' };
  status(): Promise<DriverStatusReport>;
}

// Wire types, exactly as dockerd encodes and decodes them.
export interface WireNameRequest {
  Name: string;
}
export interface WireCreateRequest extends WireNameRequest {
  Opts?: Record<string, string> | null;
}
export interface WireMountRequest extends WireNameRequest {
  ID: string;
}
export interface WireErrResponse {
  Err: string;
}
export interface WireMountResponse extends WireErrResponse {
  Mountpoint: string;
}
export interface WireVolume {
  Name: string;
  Mountpoint?: string;
  CreatedAt?: string;
  Status?: Record<string, unknown>;
}
export interface WireGetResponse extends WireErrResponse {
  Volume: WireVolume | null;
}
export interface WireListResponse extends WireErrResponse {
  Volumes: WireVolume[];
}
export interface WireCapabilitiesResponse {
  Capabilities: { Scope: 'local' | 'global' };
}

/** A request body that does not have the shape the route needs: answered with an Err, HTTP 400. */
export class ProtocolError extends UsageError {}

type Body = Record<string, unknown>;

function requireName(body: Body): string {
  const name = body.Name;
  if (typeof name !== 'string' || name === '') throw new ProtocolError('missing Name: the request needs {"Name": "<volume>"}');
  return name;
}

function requireId(body: Body): string {
  const id = body.ID;
  if (typeof id !== 'string' || id === '') throw new ProtocolError('missing ID: Mount and Unmount need {"Name": ..., "ID": ...}');
  return id;
}

/** Opts is an object of strings, or null/absent (a nil Go map) meaning none. */
function readOpts(body: Body): Record<string, string> {
  const opts = body.Opts;
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new ProtocolError('Opts must be an object of strings');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts)) {
    if (typeof v !== 'string') throw new ProtocolError(`option ${JSON.stringify(k)} must be a string`);
    out[k] = v;
  }
  return out;
}

function toWireVolume(v: VolumeInfo): WireVolume {
  const out: WireVolume = { Name: v.name };
  if (v.mountpoint) out.Mountpoint = v.mountpoint;
  if (v.createdAt) out.CreatedAt = v.createdAt;
  if (v.status) out.Status = v.status;
  return out;
}

/** One route: decodes the request body, calls the driver, encodes the answer. */
export type RouteHandler = (driver: VolumeDriver, body: Body) => Promise<object>;

/** The route table: every path dockerd (and `driver status`) may POST to. */
export const ROUTES: Readonly<Record<string, RouteHandler>> = {
  '/Plugin.Activate': async () => PLUGIN_MANIFEST,
  '/VolumeDriver.Create': async (d, b) => {
    const name = requireName(b);
    await d.create(name, readOpts(b));
    return { Err: '' } satisfies WireErrResponse;
  },
  '/VolumeDriver.Remove': async (d, b) => {
    await d.remove(requireName(b));
    return { Err: '' } satisfies WireErrResponse;
  },
  '/VolumeDriver.Mount': async (d, b) => {
    const name = requireName(b);
    const mountpoint = await d.mount(name, requireId(b));
    return { Mountpoint: mountpoint, Err: '' } satisfies WireMountResponse;
  },
  '/VolumeDriver.Unmount': async (d, b) => {
    const name = requireName(b);
    await d.unmount(name, requireId(b));
    return { Err: '' } satisfies WireErrResponse;
  },
  '/VolumeDriver.Path': async (d, b) => {
    const mountpoint = await d.path(requireName(b));
    return { Mountpoint: mountpoint ?? '', Err: '' } satisfies WireMountResponse;
  },
  '/VolumeDriver.Get': async (d, b) => {
    const volume = await d.get(requireName(b));
    return { Volume: toWireVolume(volume), Err: '' } satisfies WireGetResponse;
  },
  '/VolumeDriver.List': async (d) => {
    const volumes = await d.list();
    return { Volumes: volumes.map(toWireVolume), Err: '' } satisfies WireListResponse;
  },
  '/VolumeDriver.Capabilities': async (d) => {
    return { Capabilities: { Scope: d.capabilities().scope } } satisfies WireCapabilitiesResponse;
  },
  [STATUS_ROUTE]: async (d) => d.status(),
};

/** The volume name a request body names, if any (for request logs). */
export function requestVolumeName(body: unknown): string | undefined {
  const name = (body as Body | null)?.Name;
  return typeof name === 'string' ? name : undefined;
}
