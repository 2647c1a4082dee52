// The typed contract between the renderer, the preload bridge and the main
// process. Every value that crosses a process boundary is also checked at run
// time (see `parseRequest`), because the renderer is untrusted.

export const API_VERSION = 1;

/** IPC channel names: one per job. */
export const Channels = {
  inspect: 'emt:inspect',
  drives: 'emt:drives',
} as const;
export type Channel = (typeof Channels)[keyof typeof Channels];

export interface InspectRequest {
  /** A bootkit tar.gz, an initramfs, or a vmlinuz + initramfs pair. */
  paths: string[];
}

export interface DrivesRequest {
  showAll: boolean;
}

export interface RequestMap {
  [Channels.inspect]: InspectRequest;
  [Channels.drives]: DrivesRequest;
}

/** What the preload script exposes as `window.emt`. */
export interface EmtBridge {
  apiVersion: number;
  inspect(req: InspectRequest): Promise<unknown>;
  drives(req: DrivesRequest): Promise<unknown>;
}

export class ApiError extends Error {
  readonly code = 'BAD_REQUEST';
}

const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Run-time check of a request from the renderer; throws ApiError when malformed. */
export function parseRequest<C extends Channel>(channel: C, value: unknown): RequestMap[C] {
  if (typeof value !== 'object' || value === null)
    throw new ApiError(`${channel}: request must be an object`);
  const v = value as Record<string, unknown>;
  switch (channel) {
    case Channels.inspect:
      if (!isStringArray(v.paths) || v.paths.length < 1 || v.paths.length > 2)
        throw new ApiError(`${channel}: paths must be 1 or 2 file paths`);
      return { paths: v.paths } as RequestMap[C];
    case Channels.drives:
      if (typeof v.showAll !== 'boolean') throw new ApiError(`${channel}: showAll must be a boolean`);
      return { showAll: v.showAll } as RequestMap[C];
    default:
      throw new ApiError(`unknown channel ${String(channel)}`);
  }
}
