// Entry point: mounts the app. The page talks to the engine only through
// `window.emt` (electron/api.ts EmtBridge), set up by the preload or the UI bridge.
import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';

const target = document.getElementById('app');
if (target) mount(App, { target });
// bench:ui and the tests time the first screen from this mark.
performance.mark('emt:ready');
