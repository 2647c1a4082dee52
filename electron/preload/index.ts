// Preload (sandboxed, CommonJS when bundled): exposes only the typed bridge,
// never ipcRenderer itself. Progress arrives on one channel, tagged by job id.
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import {
  API_VERSION,
  Channels,
  type EmtBridge,
  type JobName,
  type JobReply,
  type ProgressMessage,
} from '../api.ts';

const listeners = new Map<string, (m: ProgressMessage) => void>();
ipcRenderer.on(Channels.progress, (_event, m: ProgressMessage) => listeners.get(m.jobId)?.(m));

let counter = 0;
const newJobId = (): string => `j${Date.now().toString(36)}${(++counter).toString(36)}`;

const bridge: EmtBridge = {
  apiVersion: API_VERSION,
  async run(job, request, options = {}) {
    const jobId = options.jobId ?? newJobId();
    const onProgress = options.onProgress;
    if (onProgress) listeners.set(jobId, (m) => onProgress(m.event as never));
    options.onStart?.(jobId);
    try {
      return (await ipcRenderer.invoke(Channels.run, { job, jobId, request })) as JobReply<typeof job>;
    } finally {
      listeners.delete(jobId);
    }
  },
  cancel: async (jobId) => {
    await ipcRenderer.invoke(Channels.cancel, jobId);
  },
  openFile: (options) => ipcRenderer.invoke(Channels.openFile, options),
  saveFile: (options) => ipcRenderer.invoke(Channels.saveFile, options),
  pathForFile: (file) => webUtils.getPathForFile(file),
  showInFolder: async (path) => {
    await ipcRenderer.invoke(Channels.showInFolder, path);
  },
  openLog: () => ipcRenderer.invoke(Channels.openLog),
};

export type { JobName };

contextBridge.exposeInMainWorld('emt', bridge);
