/**
 * Builds the viewer into one script, dist/viewer/app/viewer.js (CSS inlined,
 * dynamic imports inlined), so the server can serve it and the report can
 * embed it in a single HTML file.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  logLevel: 'warn',
  build: {
    outDir: here('../../../dist/viewer/app'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: false,
    chunkSizeWarningLimit: 4000,
    rollupOptions: {
      input: here('main.ts'),
      output: {
        format: 'es',
        entryFileNames: 'viewer.js',
        codeSplitting: false,
      },
    },
  },
});
