// Messages between the page (client.ts) and the bridge (server.ts): JSON over one WebSocket.
import type { JobName, JobReply, OpenFileOptions, SaveFileOptions } from '../../electron/api.ts';

export type ClientMessage =
  | { type: 'run'; job: JobName; jobId: string; request: unknown }
  | { type: 'cancel'; jobId: string }
  | { type: 'openFile'; id: number; options: OpenFileOptions }
  | { type: 'saveFile'; id: number; options: SaveFileOptions }
  | { type: 'showInFolder'; id: number; path: string }
  | { type: 'openLog'; id: number };

export type ServerMessage =
  | { type: 'progress'; jobId: string; event: unknown }
  | { type: 'reply'; jobId: string; reply: JobReply<JobName> }
  /** A dialog or service answer; `prompt` asks the page to ask its user for a path. */
  | { type: 'answer'; id: number; value: unknown; prompt?: boolean };
