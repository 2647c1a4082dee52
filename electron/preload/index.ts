// Preload (sandboxed): exposes only the typed bridge, never ipcRenderer itself.
import { contextBridge, ipcRenderer } from 'electron';
import { API_VERSION, Channels, type EmtBridge } from '../api.ts';

const bridge: EmtBridge = {
  apiVersion: API_VERSION,
  inspect: (req) => ipcRenderer.invoke(Channels.inspect, req),
  drives: (req) => ipcRenderer.invoke(Channels.drives, req),
};

contextBridge.exposeInMainWorld('emt', bridge);
