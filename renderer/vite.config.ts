// The renderer bundle: Svelte 5 + TypeScript, built to dist/renderer with
// relative asset paths (the app loads it from file://, the UI bridge from http).
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [svelte()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer/', import.meta.url)),
    emptyOutDir: true,
    target: 'chrome130',
    // One JS and one CSS file: the CSP allows 'self' only, and a single request loads fastest from file://.
    modulePreload: false,
    cssCodeSplit: false,
    reportCompressedSize: false,
    rolldownOptions: { output: { codeSplitting: false } },
  },
});
